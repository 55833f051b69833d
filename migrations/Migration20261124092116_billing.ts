import { Migration } from '@mikro-orm/migrations';

export class Migration20261124092116_billing extends Migration {

  override name = 'Migration20261124092116_billing';

  override up(): void | Promise<void> {
    this.addSql(`create table "stripe_events" ("id" varchar(255) not null, "type" varchar(100) not null, "event_created_at" timestamptz not null, "processed_at" timestamptz not null, primary key ("id"));`);

    this.addSql(`create table "usage_counters" ("user_id" uuid not null, "model_id" uuid not null, "period_start" date not null, "requests" int not null default 0, "amount" numeric(20,10) not null default '0', primary key ("user_id", "model_id", "period_start"));`);

    this.addSql(`alter table "usage_counters" add constraint "usage_counters_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "usage_counters" add constraint "usage_counters_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "stripe_events" cascade;`);
    this.addSql(`drop table if exists "usage_counters" cascade;`);

    this.addSql(`create or replace function "marketplace_tags_text"("tags" text[]) returns text security invoker immutable language sql as \$\$ select coalesce(array_to_string(tags, ' '), '') \$\$;`);
  }

}
