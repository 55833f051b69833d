import { Migration } from '@mikro-orm/migrations';

export class Migration20261208004245_per_job_retention extends Migration {

  override name = 'Migration20261208004245_per_job_retention';

  override up(): void | Promise<void> {
    this.addSql(`alter table "models" add "data_retention_hours" int null;`);

    this.addSql(`alter table "predictions" add "data_retention_seconds" int null;`);
    this.addSql(`create index "predictions_data_kept_index" on "predictions" ("completed_at") where "data_removed_at" is null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "models" drop column "data_retention_hours";`);

    this.addSql(`drop index "predictions_data_kept_index";`);
    this.addSql(`alter table "predictions" drop column "data_retention_seconds";`);

  }

}
