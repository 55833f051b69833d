// The ordered list of migrations. `npm run migration:create` appends to it; never edit a
// migration after it has landed (add a new one).
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261208004245_per_job_retention } from './Migration20261208004245_per_job_retention.js';
import { Migration20261207235954_usage_alerts } from './Migration20261207235954_usage_alerts.js';
import { Migration20261207234221_account_mail } from './Migration20261207234221_account_mail.js';
import { Migration20261207230828_batch_predictions } from './Migration20261207230828_batch_predictions.js';
import { Migration20261204215350_prediction_data_retention } from './Migration20261204215350_prediction_data_retention.js';
import { Migration20261204212458_version_metadata } from './Migration20261204212458_version_metadata.js';
import { Migration20261203150018_version_status_code } from './Migration20261203150018_version_status_code.js';
import { Migration20261203142357_money_limits } from './Migration20261203142357_money_limits.js';
import { Migration20261124093053_search_trgm } from './Migration20261124093053_search_trgm.js';
import { Migration20261124092116_billing } from './Migration20261124092116_billing.js';
import { Migration20261124034720_initial } from './Migration20261124034720_initial.js';

export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261124034720_initial', class: Migration20261124034720_initial },
  { name: 'Migration20261124092116_billing', class: Migration20261124092116_billing },
  { name: 'Migration20261124093053_search_trgm', class: Migration20261124093053_search_trgm },
  { name: 'Migration20261203142357_money_limits', class: Migration20261203142357_money_limits },
  { name: 'Migration20261203150018_version_status_code', class: Migration20261203150018_version_status_code },
  { name: 'Migration20261204212458_version_metadata', class: Migration20261204212458_version_metadata },
  { name: 'Migration20261204215350_prediction_data_retention', class: Migration20261204215350_prediction_data_retention },
  { name: 'Migration20261207230828_batch_predictions', class: Migration20261207230828_batch_predictions },
  { name: 'Migration20261207234221_account_mail', class: Migration20261207234221_account_mail },
  { name: 'Migration20261207235954_usage_alerts', class: Migration20261207235954_usage_alerts },
  { name: 'Migration20261208004245_per_job_retention', class: Migration20261208004245_per_job_retention },
];
