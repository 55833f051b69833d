import { Migration } from '@mikro-orm/migrations';

export class Migration20261124034720_initial extends Migration {

  override name = 'Migration20261124034720_initial';

  override up(): void | Promise<void> {
    // Hand-added: generated columns only accept IMMUTABLE functions, and array_to_string is
    // declared STABLE (models.search_vector indexes the tags through this wrapper).
    this.addSql(`create or replace function marketplace_tags_text(tags text[]) returns text language sql immutable parallel safe as $$ select coalesce(array_to_string(tags, ' '), '') $$;`);
    this.addSql(`create table "users" ("id" uuid not null, "email" varchar(320) not null, "password_hash" varchar(255) not null, "display_name" varchar(100) not null, "role" text not null, "webhook_secret" varchar(100) null, "stripe_customer_id" varchar(255) null, "monthly_spend_cap" numeric(20,10) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);
    this.addSql(`alter table "users" add constraint "users_stripe_customer_id_unique" unique ("stripe_customer_id");`);

    this.addSql(`create table "refresh_tokens" ("id" uuid not null, "user_id" uuid not null, "family" uuid not null, "token_hash" varchar(64) not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "replaced_by_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "refresh_tokens_user_id_index" on "refresh_tokens" ("user_id");`);
    this.addSql(`create index "refresh_tokens_family_index" on "refresh_tokens" ("family");`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "models" ("id" uuid not null, "owner_id" uuid not null, "slug" varchar(100) not null, "name" varchar(200) not null, "description" text not null default '', "tags" text[] not null default '{}', "task" varchar(64) not null, "framework" varchar(32) not null default 'onnx', "license" varchar(64) not null default 'proprietary', "price_per_request" numeric(20,10) not null default '0', "currency" varchar(3) not null default 'USD', "free_requests_per_month" int not null default 0, "default_version_id" uuid null, "rating_count" int not null default 0, "rating_sum" int not null default 0, "prediction_count" bigint not null default '0', "search_vector" tsvector generated always as (setweight(to_tsvector('english', coalesce(name, '')), 'A') || setweight(to_tsvector('english', marketplace_tags_text(tags)), 'B') || setweight(to_tsvector('english', coalesce(description, '')), 'C')) stored not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "models_owner_id_index" on "models" ("owner_id");`);
    this.addSql(`alter table "models" add constraint "models_slug_unique" unique ("slug");`);
    this.addSql(`create index "models_task_index" on "models" ("task");`);
    this.addSql(`create index "models_framework_index" on "models" ("framework");`);
    this.addSql(`create index "models_tags_gin" on "models" using gin ("tags");`);
    this.addSql(`create index "models_search_vector_gin" on "models" using gin ("search_vector");`);
    this.addSql(`create index "models_created_at_id_index" on "models" ("created_at", "id");`);

    this.addSql(`create table "reviews" ("id" uuid not null, "model_id" uuid not null, "author_id" uuid not null, "rating" smallint not null, "title" varchar(200) not null default '', "body" text not null default '', "verified_usage" boolean not null default false, "helpful_count" int not null default 0, "publisher_reply" text null, "publisher_reply_at" timestamptz null, "hidden" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "reviews_author_id_index" on "reviews" ("author_id");`);
    this.addSql(`create index "reviews_model_created_at_index" on "reviews" ("model_id", "created_at");`);
    this.addSql(`alter table "reviews" add constraint "reviews_model_author_unique" unique ("model_id", "author_id");`);

    this.addSql(`create table "review_votes" ("id" uuid not null, "review_id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "review_votes_user_id_index" on "review_votes" ("user_id");`);
    this.addSql(`alter table "review_votes" add constraint "review_votes_review_user_unique" unique ("review_id", "user_id");`);

    this.addSql(`create table "model_versions" ("id" uuid not null, "model_id" uuid not null, "version" varchar(64) not null, "major" int not null, "minor" int not null, "patch" int not null, "prerelease" varchar(64) null, "status" text not null default 'PROCESSING', "status_reason" text null, "size_bytes" bigint not null, "sha256" varchar(64) not null, "storage_key" varchar(500) not null, "inputs" jsonb not null default '[]', "outputs" jsonb not null default '[]', "changelog" text null, "batching" jsonb null, "ready_at" timestamptz null, "deprecated_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "model_versions_model_id_index" on "model_versions" ("model_id");`);
    this.addSql(`alter table "model_versions" add constraint "model_versions_model_version_unique" unique ("model_id", "version");`);
    this.addSql(`alter table "model_versions" add constraint "model_versions_model_sha256_unique" unique ("model_id", "sha256");`);

    this.addSql(`create table "invoices" ("id" uuid not null, "user_id" uuid not null, "number" int not null, "period_start" date not null, "period_end" date not null, "status" text not null default 'DRAFT', "subtotal" numeric(20,10) not null, "total" numeric(20,10) not null, "currency" varchar(3) not null default 'USD', "stripe_invoice_id" varchar(255) null, "hosted_invoice_url" text null, "sent_to_stripe" boolean not null default false, "finalized_at" timestamptz null, "due_at" timestamptz null, "paid_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "invoices" add constraint "invoices_number_unique" unique ("number");`);
    this.addSql(`alter table "invoices" add constraint "invoices_stripe_invoice_id_unique" unique ("stripe_invoice_id");`);
    this.addSql(`alter table "invoices" add constraint "invoices_user_period_unique" unique ("user_id", "period_start");`);

    this.addSql(`create table "invoice_lines" ("id" uuid not null, "invoice_id" uuid not null, "model_id" uuid not null, "version_id" uuid not null, "description" varchar(300) not null, "requests" int not null, "free_requests" int not null, "billable_requests" int not null, "unit_price" numeric(20,10) not null, "amount" numeric(20,10) not null, primary key ("id"));`);
    this.addSql(`create index "invoice_lines_invoice_id_index" on "invoice_lines" ("invoice_id");`);

    this.addSql(`create table "api_keys" ("id" uuid not null, "user_id" uuid not null, "name" varchar(100) not null, "prefix" varchar(16) not null, "key_hash" varchar(64) not null, "scopes" text[] not null default '{}', "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, "rotated_from_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_key_hash_unique" unique ("key_hash");`);

    this.addSql(`create table "predictions" ("id" uuid not null, "user_id" uuid not null, "api_key_id" uuid null, "model_id" uuid not null, "version_id" uuid not null, "mode" text not null, "status" text not null default 'QUEUED', "inputs" jsonb null, "outputs" jsonb null, "error_code" varchar(64) null, "error_message" text null, "idempotency_key" varchar(200) null, "webhook_url" text null, "webhook_events" text[] not null default '{}', "deadline_at" timestamptz null, "attempts" int not null default 0, "device" varchar(32) null, "batch_size" int null, "started_at" timestamptz null, "completed_at" timestamptz null, "queue_time_ms" double precision null, "inference_time_ms" double precision null, "unit_price" numeric(20,10) null, "cost" numeric(20,10) null, "currency" varchar(3) not null default 'USD', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "predictions_version_id_index" on "predictions" ("version_id");`);
    this.addSql(`create index "predictions_user_created_at_index" on "predictions" ("user_id", "created_at");`);
    this.addSql(`create index "predictions_model_created_at_index" on "predictions" ("model_id", "created_at");`);
    this.addSql(`create index "predictions_status_created_at_index" on "predictions" ("status", "created_at");`);
    this.addSql(`alter table "predictions" add constraint "predictions_user_idempotency_key_unique" unique ("user_id", "idempotency_key");`);

    this.addSql(`create table "usage_records" ("id" uuid not null, "prediction_id" uuid not null, "user_id" uuid not null, "publisher_id" uuid not null, "model_id" uuid not null, "version_id" uuid not null, "occurred_at" timestamptz not null, "period_start" date not null, "free" boolean not null, "unit_price" numeric(20,10) not null, "amount" numeric(20,10) not null, "currency" varchar(3) not null default 'USD', "invoice_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_prediction_id_unique" unique ("prediction_id");`);
    this.addSql(`create index "usage_records_model_id_index" on "usage_records" ("model_id");`);
    this.addSql(`create index "usage_records_invoice_id_index" on "usage_records" ("invoice_id");`);
    this.addSql(`create index "usage_records_user_period_index" on "usage_records" ("user_id", "period_start");`);
    this.addSql(`create index "usage_records_publisher_occurred_at_index" on "usage_records" ("publisher_id", "occurred_at");`);
    this.addSql(`create index "usage_records_user_occurred_at_index" on "usage_records" ("user_id", "occurred_at");`);

    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('CONSUMER', 'PUBLISHER', 'ADMIN'));`);

    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    this.addSql(`alter table "models" add constraint "models_owner_id_foreign" foreign key ("owner_id") references "users" ("id");`);
    this.addSql(`alter table "models" add constraint "models_default_version_id_foreign" foreign key ("default_version_id") references "model_versions" ("id") on delete set null;`);

    this.addSql(`alter table "reviews" add constraint "reviews_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "reviews" add constraint "reviews_author_id_foreign" foreign key ("author_id") references "users" ("id");`);
    this.addSql(`alter table "reviews" add constraint "reviews_rating_check" check (((rating >= 1) AND (rating <= 5)));`);

    this.addSql(`alter table "review_votes" add constraint "review_votes_review_id_foreign" foreign key ("review_id") references "reviews" ("id") on delete cascade;`);
    this.addSql(`alter table "review_votes" add constraint "review_votes_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    this.addSql(`alter table "model_versions" add constraint "model_versions_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "model_versions" add constraint "model_versions_status_check" check ("status" in ('PROCESSING', 'READY', 'FAILED', 'DEPRECATED'));`);

    this.addSql(`alter table "invoices" add constraint "invoices_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "invoices" add constraint "invoices_status_check" check ("status" in ('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE'));`);

    this.addSql(`alter table "invoice_lines" add constraint "invoice_lines_invoice_id_foreign" foreign key ("invoice_id") references "invoices" ("id") on delete cascade;`);
    this.addSql(`alter table "invoice_lines" add constraint "invoice_lines_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "invoice_lines" add constraint "invoice_lines_version_id_foreign" foreign key ("version_id") references "model_versions" ("id");`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id");`);

    this.addSql(`alter table "predictions" add constraint "predictions_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "predictions" add constraint "predictions_api_key_id_foreign" foreign key ("api_key_id") references "api_keys" ("id") on delete set null;`);
    this.addSql(`alter table "predictions" add constraint "predictions_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "predictions" add constraint "predictions_version_id_foreign" foreign key ("version_id") references "model_versions" ("id");`);
    this.addSql(`alter table "predictions" add constraint "predictions_mode_check" check ("mode" in ('SYNC', 'ASYNC'));`);
    this.addSql(`alter table "predictions" add constraint "predictions_status_check" check ("status" in ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'));`);

    this.addSql(`alter table "usage_records" add constraint "usage_records_prediction_id_foreign" foreign key ("prediction_id") references "predictions" ("id");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_user_id_foreign" foreign key ("user_id") references "users" ("id");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_publisher_id_foreign" foreign key ("publisher_id") references "users" ("id");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_model_id_foreign" foreign key ("model_id") references "models" ("id");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_version_id_foreign" foreign key ("version_id") references "model_versions" ("id");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_invoice_id_foreign" foreign key ("invoice_id") references "invoices" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "refresh_tokens" drop constraint "refresh_tokens_user_id_foreign";`);
    this.addSql(`alter table "models" drop constraint "models_owner_id_foreign";`);
    this.addSql(`alter table "reviews" drop constraint "reviews_author_id_foreign";`);
    this.addSql(`alter table "review_votes" drop constraint "review_votes_user_id_foreign";`);
    this.addSql(`alter table "invoices" drop constraint "invoices_user_id_foreign";`);
    this.addSql(`alter table "api_keys" drop constraint "api_keys_user_id_foreign";`);
    this.addSql(`alter table "predictions" drop constraint "predictions_user_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_user_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_publisher_id_foreign";`);
    this.addSql(`alter table "reviews" drop constraint "reviews_model_id_foreign";`);
    this.addSql(`alter table "model_versions" drop constraint "model_versions_model_id_foreign";`);
    this.addSql(`alter table "invoice_lines" drop constraint "invoice_lines_model_id_foreign";`);
    this.addSql(`alter table "predictions" drop constraint "predictions_model_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_model_id_foreign";`);
    this.addSql(`alter table "review_votes" drop constraint "review_votes_review_id_foreign";`);
    this.addSql(`alter table "models" drop constraint "models_default_version_id_foreign";`);
    this.addSql(`alter table "invoice_lines" drop constraint "invoice_lines_version_id_foreign";`);
    this.addSql(`alter table "predictions" drop constraint "predictions_version_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_version_id_foreign";`);
    this.addSql(`alter table "invoice_lines" drop constraint "invoice_lines_invoice_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_invoice_id_foreign";`);
    this.addSql(`alter table "predictions" drop constraint "predictions_api_key_id_foreign";`);
    this.addSql(`alter table "usage_records" drop constraint "usage_records_prediction_id_foreign";`);

    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop table if exists "refresh_tokens" cascade;`);
    this.addSql(`drop table if exists "models" cascade;`);
    this.addSql(`drop table if exists "reviews" cascade;`);
    this.addSql(`drop table if exists "review_votes" cascade;`);
    this.addSql(`drop table if exists "model_versions" cascade;`);
    this.addSql(`drop table if exists "invoices" cascade;`);
    this.addSql(`drop table if exists "invoice_lines" cascade;`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
    this.addSql(`drop table if exists "predictions" cascade;`);
    this.addSql(`drop table if exists "usage_records" cascade;`);
    this.addSql(`drop function if exists marketplace_tags_text(text[]);`);
  }

}
