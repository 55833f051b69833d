import { Migration } from '@mikro-orm/migrations';

export class Migration20261203142357_money_limits extends Migration {

  override name = 'Migration20261203142357_money_limits';

  override up(): void | Promise<void> {
    this.addSql(`create table "monthly_spend" ("user_id" uuid not null, "period_start" date not null, "spent" numeric(38,10) not null default '0', "reserved" numeric(38,10) not null default '0', primary key ("user_id", "period_start"));`);

    this.addSql(`create table "billing_failures" ("user_id" uuid not null, "period_start" date not null, "stage" varchar(16) not null, "code" varchar(64) not null, "message" text not null, "attempts" int not null default 1, "first_failed_at" timestamptz not null, "last_failed_at" timestamptz not null, primary key ("user_id", "period_start"));`);

    // Existing models' pricing has been in force since they were created.
    this.addSql(`alter table "models" add "pricing_effective_from" timestamptz null;`);
    this.addSql(`update "models" set "pricing_effective_from" = "created_at";`);
    this.addSql(`alter table "models" alter column "pricing_effective_from" set not null;`);

    this.addSql(`alter table "usage_counters" alter column "requests" type bigint using ("requests"::bigint);`);
    this.addSql(`alter table "usage_counters" alter column "requests" set default '0';`);
    this.addSql(`alter table "usage_counters" alter column "amount" type numeric(38,10) using ("amount"::numeric(38,10));`);

    this.addSql(`alter table "invoices" alter column "subtotal" type numeric(38,10) using ("subtotal"::numeric(38,10));`);
    this.addSql(`alter table "invoices" alter column "total" type numeric(38,10) using ("total"::numeric(38,10));`);

    this.addSql(`alter table "invoice_lines" alter column "requests" type bigint using ("requests"::bigint);`);
    this.addSql(`alter table "invoice_lines" alter column "free_requests" type bigint using ("free_requests"::bigint);`);
    this.addSql(`alter table "invoice_lines" alter column "billable_requests" type bigint using ("billable_requests"::bigint);`);
    this.addSql(`alter table "invoice_lines" alter column "amount" type numeric(38,10) using ("amount"::numeric(38,10));`);

    this.addSql(`alter table "predictions" add "free_allowance" int null, add "reserved_amount" numeric(20,10) null;`);

    this.addSql(`alter table "monthly_spend" add constraint "monthly_spend_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    this.addSql(`alter table "billing_failures" add constraint "billing_failures_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    // What each consumer has spent each month so far; jobs queued before this have no reservation.
    this.addSql(`insert into "monthly_spend" ("user_id", "period_start", "spent", "reserved") select "user_id", "period_start", sum("amount"), 0 from "usage_counters" group by "user_id", "period_start";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "monthly_spend" cascade;`);
    this.addSql(`drop table if exists "billing_failures" cascade;`);

    this.addSql(`alter table "invoice_lines" alter column "requests" type int4 using ("requests"::int4);`);
    this.addSql(`alter table "invoice_lines" alter column "free_requests" type int4 using ("free_requests"::int4);`);
    this.addSql(`alter table "invoice_lines" alter column "billable_requests" type int4 using ("billable_requests"::int4);`);
    this.addSql(`alter table "invoice_lines" alter column "amount" type numeric(20,10) using ("amount"::numeric(20,10));`);

    this.addSql(`alter table "invoices" alter column "subtotal" type numeric(20,10) using ("subtotal"::numeric(20,10));`);
    this.addSql(`alter table "invoices" alter column "total" type numeric(20,10) using ("total"::numeric(20,10));`);

    this.addSql(`alter table "models" drop column "pricing_effective_from";`);

    this.addSql(`alter table "predictions" drop column "free_allowance", drop column "reserved_amount";`);

    this.addSql(`alter table "usage_counters" alter column "requests" type int4 using ("requests"::int4);`);
    this.addSql(`alter table "usage_counters" alter column "requests" set default 0;`);
    this.addSql(`alter table "usage_counters" alter column "amount" type numeric(20,10) using ("amount"::numeric(20,10));`);

    this.addSql(`create or replace function "marketplace_tags_text"("tags" text[]) returns text security invoker immutable language sql as \$\$ select coalesce(array_to_string(tags, ' '), '') \$\$;`);
  }

}
