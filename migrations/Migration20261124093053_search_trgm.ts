import { Migration } from '@mikro-orm/migrations';

export class Migration20261124093053_search_trgm extends Migration {

  override name = 'Migration20261124093053_search_trgm';

  override up(): void | Promise<void> {
    // Hand-added: the trigram operator class comes from the pg_trgm extension (bundled with
    // PostgreSQL's contrib; the embedded PGlite loads it in src/db/embedded-postgres.ts).
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "models_name_trgm" on "models" using gin ("name" gin_trgm_ops);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "models_name_trgm";`);
  }

}
