// Every entity, listed explicitly for the ORM config (no folder scanning: the same list works
// under tsc output, SWC and Jest).
import { AccountToken } from './account-token.entity.js';
import { ApiKey } from './api-key.entity.js';
import { BatchPrediction } from './batch-prediction.entity.js';
import { BillingFailure } from './billing-failure.entity.js';
import { InvoiceLine } from './invoice-line.entity.js';
import { Invoice } from './invoice.entity.js';
import { ModelVersion } from './model-version.entity.js';
import { MonthlySpend } from './monthly-spend.entity.js';
import { Model } from './model.entity.js';
import { OutboxMail } from './outbox-mail.entity.js';
import { Prediction } from './prediction.entity.js';
import { RefreshToken } from './refresh-token.entity.js';
import { ReviewVote } from './review-vote.entity.js';
import { Review } from './review.entity.js';
import { StripeEvent } from './stripe-event.entity.js';
import { UsageCounter } from './usage-counter.entity.js';
import { UsageAlertFiring } from './usage-alert-firing.entity.js';
import { UsageAlert } from './usage-alert.entity.js';
import { UsageRecord } from './usage-record.entity.js';
import { User } from './user.entity.js';

export {
  AccountToken,
  ApiKey,
  BatchPrediction,
  BillingFailure,
  Invoice,
  InvoiceLine,
  Model,
  ModelVersion,
  MonthlySpend,
  OutboxMail,
  Prediction,
  RefreshToken,
  Review,
  ReviewVote,
  StripeEvent,
  UsageAlert,
  UsageAlertFiring,
  UsageCounter,
  UsageRecord,
  User,
};

export const ENTITIES = [
  User,
  AccountToken,
  OutboxMail,
  ApiKey,
  RefreshToken,
  Model,
  ModelVersion,
  Review,
  ReviewVote,
  BatchPrediction,
  Prediction,
  UsageRecord,
  Invoice,
  InvoiceLine,
  UsageCounter,
  MonthlySpend,
  UsageAlert,
  UsageAlertFiring,
  BillingFailure,
  StripeEvent,
];
