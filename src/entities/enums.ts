// Domain enums shared by entities (stored as text with a CHECK constraint, which, unlike a native
// PostgreSQL enum, can later gain or lose values in one migration) and by the GraphQL schema.

export enum Role {
  CONSUMER = 'CONSUMER',
  PUBLISHER = 'PUBLISHER',
  ADMIN = 'ADMIN',
}

export enum ApiKeyScope {
  MODELS_READ = 'models:read',
  MODELS_WRITE = 'models:write',
  PREDICT = 'predict',
  BILLING_READ = 'billing:read',
}

export enum ModelVersionStatus {
  PROCESSING = 'PROCESSING',
  READY = 'READY',
  FAILED = 'FAILED',
  DEPRECATED = 'DEPRECATED',
}

export enum PredictionStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
}

/** A prediction's final states: no transition leaves them. */
export const FINAL_PREDICTION_STATUSES: readonly PredictionStatus[] = [
  PredictionStatus.SUCCEEDED,
  PredictionStatus.FAILED,
  PredictionStatus.CANCELED,
];

export enum PredictionMode {
  SYNC = 'SYNC',
  ASYNC = 'ASYNC',
}

/** A batch of predictions from one file: QUEUED until a worker reads it, RUNNING while rows run. */
export enum BatchPredictionStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  /** Every row has ended (each SUCCEEDED, FAILED or CANCELED: the counts say which). */
  COMPLETED = 'COMPLETED',
  /** The file could not be run at all (the version gone, say): no row ran. */
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
}

export const FINAL_BATCH_STATUSES: readonly BatchPredictionStatus[] = [
  BatchPredictionStatus.COMPLETED,
  BatchPredictionStatus.FAILED,
  BatchPredictionStatus.CANCELED,
];

export enum InvoiceStatus {
  DRAFT = 'DRAFT',
  OPEN = 'OPEN',
  PAID = 'PAID',
  VOID = 'VOID',
  UNCOLLECTIBLE = 'UNCOLLECTIBLE',
}

/** What a single-use account token proves (account-tokens.ts). */
export enum AccountTokenPurpose {
  VERIFY_EMAIL = 'VERIFY_EMAIL',
  RESET_PASSWORD = 'RESET_PASSWORD',
}

/** An outbox mail's state: PENDING until sent, or FAILED once its attempts are spent. */
export enum MailStatus {
  PENDING = 'PENDING',
  SENT = 'SENT',
  FAILED = 'FAILED',
}
