import { Migration } from '@mikro-orm/migrations';

export class Migration20261204212458_version_metadata extends Migration {

  override name = 'Migration20261204212458_version_metadata';

  override up(): void | Promise<void> {
    this.addSql(`alter table "model_versions" add "metadata" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "model_versions" drop column "metadata";`);
  }

}
