import { Migration } from '@mikro-orm/migrations';

export class Migration20261204215350_prediction_data_retention extends Migration {

  override name = 'Migration20261204215350_prediction_data_retention';

  override up(): void | Promise<void> {
    this.addSql(`alter table "predictions" add "data_removed_at" timestamptz null;`);
    this.addSql(`create index "predictions_completed_at_index" on "predictions" ("completed_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "predictions_completed_at_index";`);
    this.addSql(`alter table "predictions" drop column "data_removed_at";`);
  }

}
