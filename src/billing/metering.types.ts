import type { EntityManager } from '@mikro-orm/postgresql';
import type { Model } from '../entities/model.entity.js';

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
   * Completes queued predictions that ran: those still RUNNING become SUCCEEDED with their outputs
   * and are metered (price snapshot, usage record, the consumer's counter, the model's counter),
   * all of them in one statement that commits on its own. Returns a row per prediction it
   * completed; one canceled meanwhile, already final (a duplicate delivery) or whose model is
   * gone is left out and billed nothing.
   */
  completeSucceeded(em: EntityManager, runs: readonly CompletedRun[]): Promise<CompletedCost[]>;
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

/** A queued prediction that ran: what completes its row. */
export type CompletedRun = {
  id: string;
  /** The encoded outputs, stored on the row for the client to fetch. */
  outputs: unknown;
  device: string;
  batchSize: number;
  completedAt: Date;
  inferenceTimeMs: number;
};

export type CompletedCost = RecordedCost & { completedAt: Date };

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
