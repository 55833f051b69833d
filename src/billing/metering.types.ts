import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The seam between the prediction path and billing. The predictions service calls it; billing
 * implements it (`src/billing/metering.service.ts`). Kept in its own file so neither side imports
 * the other's internals.
 */
export interface Metering {
  /**
   * Accepts a request: the pricing it will be billed at (the model's, read now), after the checks
   * that refuse it — QUOTA_EXCEEDED (the price does not fit under the consumer's monthly cap, or
   * an unpaid overdue invoice when that block is on), BAD_USER_INPUT (the model is priced above
   * the platform's maximum). Called when a request arrives, before it runs.
   */
  accept(em: EntityManager, consumerId: string, modelId: string): Promise<Acceptance>;
  /**
   * For a queued job: holds its price against the consumer's cap until the job ends, and returns
   * what it held (null: nothing to hold — no cap, or a price of 0). Throws QUOTA_EXCEEDED when it
   * does not fit. Call it inside the transaction that stores the job, so both or neither commit.
   */
  reserve(em: EntityManager, consumerId: string, acceptance: Acceptance): Promise<string | null>;
  /** Gives back what a queued job held; call in the transaction that makes it FAILED or CANCELED. */
  release(em: EntityManager, predictionId: string): Promise<void>;
  /** `release` for many jobs at once (a canceled batch's rows), in one statement. */
  releaseMany(em: EntityManager, predictionIds: readonly string[]): Promise<void>;
  /**
   * Completes queued predictions that ran: those still RUNNING become SUCCEEDED with their outputs
   * and are metered at the pricing stored when they were created (usage record, the consumer's
   * counter and spend, the model's counter), all of them in one statement that commits on its
   * own. Returns a row per prediction it completed; one canceled meanwhile, already final (a
   * duplicate delivery) or whose model is gone is left out and billed nothing.
   */
  completeSucceeded(em: EntityManager, runs: readonly CompletedRun[]): Promise<CompletedCost[]>;
  /**
   * Writes synchronous predictions that succeeded, SUCCEEDED and metered at the pricing they were
   * accepted at, in one statement that commits on its own, where the spending cap is enforced.
   * Returns a row per run: what it cost, or (`refusal`) the cap it did not fit under — nothing
   * was written for it. A run whose model no longer exists is left out.
   */
  recordSucceeded(em: EntityManager, runs: readonly SucceededRun[]): Promise<RecordedCost[]>;
}

/** The pricing a request was accepted at (exact decimal strings). */
export type Acceptance = {
  unitPrice: string;
  freeAllowance: number;
  currency: string;
  /** The consumer had a spending cap when it was accepted. */
  capped: boolean;
  /** When it was accepted (a queued job's `createdAt`). */
  acceptedAt: Date;
  /** The UTC month of `acceptedAt` (`YYYY-MM-DD`), where a reservation is held. */
  periodStart: string;
};

/** The cap a synchronous run did not fit under, and the month's figures it met. */
export type CapRefusal = { cap: string; spent: string; reserved: string };

/** The price snapshot of a recorded prediction (exact decimal strings), or why it was refused. */
export type RecordedCost = { id: string; unitPrice: string; cost: string; currency: string; refusal?: CapRefusal };

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

export type CompletedCost = Omit<RecordedCost, 'refusal'> & { completedAt: Date };

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
  /** What `accept` said when it started: the pricing it is billed at. */
  pricing: Acceptance;
};
