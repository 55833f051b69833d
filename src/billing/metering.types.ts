import type { EntityManager } from '@mikro-orm/postgresql';
import type { Model } from '../entities/model.entity.js';
import type { Prediction } from '../entities/prediction.entity.js';
import type { UsageRecord } from '../entities/usage-record.entity.js';

/**
 * The seam between the prediction path and billing. The predictions service calls it; billing
 * implements it (`src/billing/metering.service.ts`). Kept in its own file so neither side imports
 * the other's internals.
 */
export interface Metering {
  /**
   * Throws AppError QUOTA_EXCEEDED when the consumer may not run `model` now (monthly spending
   * cap reached, or an unpaid overdue invoice when that block is on). Called before inference.
   */
  assertMayRun(em: EntityManager, consumerId: string, model: Model): Promise<void>;
  /**
   * Meters one succeeded prediction: snapshots the version's price on it (`unitPrice`, `cost`),
   * uses the consumer's free requests for the model and UTC month first, and writes exactly one
   * UsageRecord keyed by the prediction. Must run inside the transaction that sets SUCCEEDED
   * (`em` is that transaction's manager). Calling it again for the same prediction adds nothing
   * and returns the existing record.
   */
  meter(em: EntityManager, prediction: Prediction): Promise<UsageRecord>;
  /**
   * Writes synchronous predictions that succeeded, SUCCEEDED and metered (price snapshot, usage
   * record, the consumer's counter, the model's counter), all of them in one statement that
   * commits on its own. Returns what each recorded prediction cost, in no particular order; a
   * run whose model no longer exists is left out.
   */
  recordSucceeded(em: EntityManager, runs: readonly SucceededRun[]): Promise<RecordedCost[]>;
}

/** The price snapshot of a recorded prediction (exact decimal strings). */
export type RecordedCost = { id: string; unitPrice: string; cost: string; currency: string };

/** A synchronous prediction that ran: what its row and its usage record are made of. */
export type SucceededRun = {
  id: string;
  userId: string;
  apiKeyId: string | null;
  modelId: string;
  versionId: string;
  device: string;
  batchSize: number;
  startedAt: Date;
  completedAt: Date;
  queueTimeMs: number;
  inferenceTimeMs: number;
};
