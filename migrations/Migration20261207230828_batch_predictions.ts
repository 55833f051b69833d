import { Migration } from '@mikro-orm/migrations';

export class Migration20261207230828_batch_predictions extends Migration {

  override name = 'Migration20261207230828_batch_predictions';

  override up(): void | Promise<void> {
    this.addSql(`create table "batch_predictions" ("id" uuid not null, "user_id" uuid not null, "api_key_id" uuid null, "model_id" uuid not null, "version_id" uuid not null, "status" text not null default 'QUEUED', "total_rows" int not null, "expanded_rows" int not null default 0, "input_key" varchar(200) not null, "input_bytes" bigint not null, "results_key" varchar(200) null, "output_encoding" varchar(8) not null default 'JSON', "outputs" jsonb null, "unit_price" numeric(20,10) not null, "free_allowance" int not null, "currency" varchar(3) not null default 'USD', "error_code" varchar(64) null, "error_message" text null, "started_at" timestamptz null, "completed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "batch_predictions_user_created_at_index" on "batch_predictions" ("user_id", "created_at");`);
    this.addSql(`create index "batch_predictions_status_index" on "batch_predictions" ("status");`);

    this.addSql(`alter table "predictions" add "batch_id" uuid null, add "batch_row" int null;`);
    this.addSql(`alter table "predictions" add constraint "predictions_batch_id_foreign" foreign key ("batch_id") references "batch_predictions" ("id") on delete cascade;`);
    this.addSql(`alter table "predictions" add constraint "predictions_batch_row_unique" unique ("batch_id", "batch_row");`);

    this.addSql(`alter table "batch_predictions" add constraint "batch_predictions_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "batch_predictions" add constraint "batch_predictions_api_key_id_foreign" foreign key ("api_key_id") references "api_keys" ("id") on delete set null;`);
    this.addSql(`alter table "batch_predictions" add constraint "batch_predictions_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "batch_predictions" add constraint "batch_predictions_version_id_foreign" foreign key ("version_id") references "model_versions" ("id");`);
    this.addSql(`alter table "batch_predictions" add constraint "batch_predictions_status_check" check ("status" in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "predictions" drop constraint "predictions_batch_id_foreign";`);

    this.addSql(`drop table if exists "batch_predictions" cascade;`);

    this.addSql(`alter table "predictions" drop constraint "predictions_batch_row_unique";`);
    this.addSql(`alter table "predictions" drop column "batch_id", drop column "batch_row";`);

  }

}
