import { Migration } from '@mikro-orm/migrations';

export class Migration20261203150018_version_status_code extends Migration {

  override name = 'Migration20261203150018_version_status_code';

  override up(): void | Promise<void> {
    this.addSql(`alter table "model_versions" add "status_code" varchar(32) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "model_versions" drop column "status_code";`);
  }

}
