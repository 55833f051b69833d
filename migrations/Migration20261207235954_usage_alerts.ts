import { Migration } from '@mikro-orm/migrations';

export class Migration20261207235954_usage_alerts extends Migration {

  override name = 'Migration20261207235954_usage_alerts';

  override up(): void | Promise<void> {
    this.addSql(`create table "usage_alerts" ("id" uuid not null, "user_id" uuid not null, "percent_of_cap" int null, "amount" numeric(20,10) null, "currency" varchar(3) not null default 'USD', "webhook_url" varchar(2048) null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "usage_alerts_user_id_index" on "usage_alerts" ("user_id");`);

    this.addSql(`create table "usage_alert_firings" ("id" uuid not null, "alert_id" uuid not null, "period_start" date not null, "threshold" numeric(20,10) not null, "spent" numeric(38,10) not null, "fired_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "usage_alert_firings" add constraint "usage_alert_firings_alert_period_unique" unique ("alert_id", "period_start");`);

    this.addSql(`alter table "usage_alerts" add constraint "usage_alerts_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "usage_alert_firings" add constraint "usage_alert_firings_alert_id_foreign" foreign key ("alert_id") references "usage_alerts" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "usage_alert_firings" drop constraint "usage_alert_firings_alert_id_foreign";`);

    this.addSql(`drop table if exists "usage_alerts" cascade;`);
    this.addSql(`drop table if exists "usage_alert_firings" cascade;`);

  }

}
