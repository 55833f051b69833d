import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Acceptance } from '../billing/metering.types.js';
import { BatchPrediction } from '../entities/batch-prediction.entity.js';
import { BatchPredictionStatus, PredictionMode, PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import { readBatchRows, type BatchRow } from './batch-file.js';
import {
  batchStatusOf,
  countRows,
  expansionDone,
  isBatchFinal,
  queuedRowIds,
  type BatchJob,
} from './batch-progress.js';
import { batchResultLines } from './batch-results.js';
import { jobOptions } from './prediction-job-runner.js';
import type { PredictionJob, PredictionJobDeps, StoredInputs } from './prediction-job.types.js';

/** Rows made into predictions per transaction (and resume point). */
const CHUNK = 500;
/** A busy batch is re-counted (and its progress published) at most this often per process. */
const PROGRESS_EVERY_MS = 250;

export type BatchRunnerDeps = {
  fork: () => EntityManager;
  storage: ModelStorage;
  events: EventBus;
  batches: JobQueue<BatchJob>;
  predictions: JobQueue<PredictionJob>;
  metering: PredictionJobDeps['metering'];
  limits: PredictionJobDeps['limits'];
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
};

/**
 * The worker side of batch predictions. A batch's job makes its file's lines into queued
 * predictions, CHUNK at a time, each chunk's rows and the resume point (`expandedRows`) committed
 * together, so a job killed midway resumes at the first row not yet made, and the unique
 * (batch_id, batch_row) key refuses a row twice. Each row is then an ordinary queued prediction:
 * the same queue, batcher, retries, stalled-job recovery and exactly-once metering as
 * createPrediction's, each held against the spending cap when it is made. When the last row
 * ends, whichever process sees it writes the results file and ends the batch (a conditional
 * update: once); the sweeper does it if that process died first.
 */
export class BatchRunner {
  private readonly counting = new Map<string, { timer?: NodeJS.Timeout; again: boolean }>();

  constructor(private readonly deps: BatchRunnerDeps) {}

  start(): void {
    this.deps.batches.process((job) => this.expand(job.data.batchId), {
      concurrency: 1,
      onFailed: (job, error) => this.fail(job.data.batchId, error),
    });
  }

  /** Makes the batch's lines into queued predictions (its job's handler; safe to run again). */
  async expand(batchId: string): Promise<void> {
    const em = this.deps.fork();
    const batch = await em.findOne(BatchPrediction, { id: batchId });
    if (!batch || isBatchFinal(batchStatusOf(batch))) return;
    if (batchStatusOf(batch) === BatchPredictionStatus.QUEUED) {
      await em.nativeUpdate(
        BatchPrediction,
        { id: batchId, status: BatchPredictionStatus.QUEUED },
        { status: BatchPredictionStatus.RUNNING, startedAt: new Date() },
      );
      await em.refresh(batch);
      await this.publish(batch);
    }
    // A resumed job first re-queues the rows an earlier one made but may not have enqueued.
    for (let from = 0; ;) {
      const ids = await queuedRowIds(em, batchId, from, 1000);
      if (ids.length === 0) break;
      await this.enqueue(ids.map((r) => r.id));
      from = ids[ids.length - 1].batch_row + 1;
    }
    if (!expansionDone(batch)) await this.makeRows(em, batch);
    await this.check(batchId);
  }

  private async makeRows(em: EntityManager, batch: BatchPrediction): Promise<void> {
    const path = await this.deps.storage.localPath(batch.inputKey);
    const acceptance: Acceptance = {
      unitPrice: batch.unitPrice,
      freeAllowance: batch.freeAllowance,
      currency: batch.currency,
      capped: true,
      acceptedAt: batch.createdAt,
      periodStart: batch.createdAt.toISOString().slice(0, 8) + '01',
    };
    let chunk: BatchRow[] = [];
    const flush = async () => {
      const rows = chunk;
      chunk = [];
      if (rows.length === 0) return true;
      await em.refresh(batch);
      if (batchStatusOf(batch) !== BatchPredictionStatus.RUNNING) return false;
      const { ids, stopped } = await this.insertRows(em, batch, rows, acceptance);
      await this.enqueue(ids);
      return !stopped;
    };
    for await (const row of readBatchRows(createReadStream(path))) {
      if (row.row < batch.expandedRows) continue;
      chunk.push(row);
      if (chunk.length >= CHUNK && !(await flush())) return;
    }
    await flush();
  }

  /**
   * One chunk's predictions and the new resume point, in one transaction. A row the spending cap
   * refuses stops the batch there: the rows before it are kept, the rest are never made
   * (QUOTA_EXCEEDED on the batch; the results file lists them as SKIPPED).
   */
  private async insertRows(em: EntityManager, batch: BatchPrediction, rows: BatchRow[], acceptance: Acceptance) {
    const stored = (row: BatchRow): StoredInputs => ({
      tensors: row.inputs,
      outputEncoding: batch.outputEncoding as StoredInputs['outputEncoding'],
      ...(batch.outputs ? { outputs: batch.outputs } : {}),
    });
    return em.transactional(async (tx) => {
      const ids: string[] = [];
      let stopped: AppError | null = null;
      const capped =
        (
          await tx.execute<{ cap: string | null }[]>('select monthly_spend_cap::text as cap from users where id = ?', [
            batch.user.id,
          ])
        )[0]?.cap !== null;
      for (const row of rows) {
        let reservedAmount: string | null = null;
        try {
          reservedAmount = await this.deps.metering.reserve(tx, batch.user.id, { ...acceptance, capped });
        } catch (err) {
          if (err instanceof AppError && err.code === ErrorCode.QUOTA_EXCEEDED) {
            stopped = err;
            break;
          }
          throw err;
        }
        const p = tx.create(Prediction, {
          user: batch.user.id,
          apiKey: batch.apiKey?.id ?? null,
          model: batch.model.id,
          version: batch.version.id,
          batch: batch.id,
          batchRow: row.row,
          mode: PredictionMode.ASYNC,
          status: PredictionStatus.QUEUED,
          inputs: stored(row),
          outputs: null,
          webhookEvents: [],
          unitPrice: batch.unitPrice,
          freeAllowance: batch.freeAllowance,
          currency: batch.currency,
          reservedAmount,
          createdAt: batch.createdAt,
        });
        ids.push(p.id);
      }
      await tx.flush();
      const expandedRows = (rows[0]?.row ?? batch.expandedRows) + ids.length;
      await tx.nativeUpdate(
        BatchPrediction,
        { id: batch.id },
        stopped
          ? {
              expandedRows,
              errorCode: stopped.code,
              errorMessage: `stopped at row ${expandedRows}: ${stopped.message}`,
            }
          : { expandedRows },
      );
      return { ids, stopped: stopped !== null };
    });
  }

  private async enqueue(ids: string[]): Promise<void> {
    const options = jobOptions(this.deps.limits);
    // A few at a time: each add is a round trip or two to Redis.
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => this.deps.predictions.add(id, { predictionId: id }, options)));
    }
  }

  /**
   * A row of the batch changed state (prediction events call this): re-count and publish its
   * progress, at most every PROGRESS_EVERY_MS per batch in this process, and end the batch once
   * every row has ended.
   */
  rowChanged(batchId: string): void {
    const entry = this.counting.get(batchId);
    if (entry) {
      entry.again = true;
      return;
    }
    const state: { timer?: NodeJS.Timeout; again: boolean } = { again: false };
    this.counting.set(batchId, state);
    const run = () => {
      state.again = false;
      this.check(batchId)
        .catch((err: unknown) => this.deps.logger.warn({ err, batchId }, 'could not update a batch'))
        .finally(() => {
          state.timer = setTimeout(() => {
            if (state.again) run();
            else this.counting.delete(batchId);
          }, PROGRESS_EVERY_MS);
          state.timer.unref();
        });
    };
    run();
  }

  /** Publishes the batch's progress; writes its results and ends it when its last row has ended. */
  async check(batchId: string): Promise<void> {
    const em = this.deps.fork();
    const batch = await em.findOne(BatchPrediction, { id: batchId });
    if (!batch) return;
    const c = await countRows(em, batchId);
    const ended = expansionDone(batch) && c.queued === 0 && c.running === 0;
    if (ended && batch.resultsKey === null) {
      await this.finish(em, batch);
      await em.refresh(batch);
    }
    await this.publish(batch);
  }

  private async finish(em: EntityManager, batch: BatchPrediction): Promise<void> {
    const key = `batches/${batch.id}/results.jsonl`;
    await this.deps.storage.putStream(key, Readable.from(batchResultLines(em, batch)));
    const now = new Date();
    // Once, whoever gets here first: RUNNING becomes COMPLETED; a CANCELED or FAILED one stays so
    // (a FAILED batch's results list every row as SKIPPED, with why).
    await em.nativeUpdate(
      BatchPrediction,
      {
        id: batch.id,
        resultsKey: null,
        status: {
          $in: [BatchPredictionStatus.RUNNING, BatchPredictionStatus.CANCELED, BatchPredictionStatus.FAILED],
        },
      },
      {
        resultsKey: key,
        completedAt: batch.completedAt ?? now,
        ...(batchStatusOf(batch) === BatchPredictionStatus.RUNNING ? { status: BatchPredictionStatus.COMPLETED } : {}),
      },
    );
  }

  /**
   * The queue gave up on a batch's job (its file unreadable, say): no row is made from here on.
   * With none made it ends FAILED; otherwise the rows made run, and the rest are SKIPPED.
   */
  private async fail(batchId: string, error: Error): Promise<void> {
    const em = this.deps.fork();
    const open = { id: batchId, status: { $in: [BatchPredictionStatus.QUEUED, BatchPredictionStatus.RUNNING] } };
    const why = { errorCode: 'BATCH_FAILED', errorMessage: `rows stopped being made: ${error.message}` };
    await em.nativeUpdate(
      BatchPrediction,
      { ...open, expandedRows: 0 },
      { ...why, status: BatchPredictionStatus.FAILED, completedAt: new Date() },
    );
    await em.nativeUpdate(BatchPrediction, { ...open, errorCode: null }, why);
    await this.check(batchId);
  }

  /**
   * Puts back what a crash left: a batch still being expanded whose job the queue lost (an
   * in-process queue that died with its process), and an ended batch nobody finished.
   */
  async sweep(staleMs: number): Promise<void> {
    const em = this.deps.fork();
    const open = await em.find(
      BatchPrediction,
      {
        $or: [
          { status: { $in: [BatchPredictionStatus.QUEUED, BatchPredictionStatus.RUNNING] } },
          { status: { $in: [BatchPredictionStatus.CANCELED, BatchPredictionStatus.FAILED] }, resultsKey: null },
        ],
        updatedAt: { $lt: new Date(Date.now() - staleMs) },
      },
      { limit: 100, orderBy: { createdAt: 'asc' } },
    );
    for (const b of open) {
      if (!expansionDone(b) && !(await this.deps.batches.has(b.id)))
        await this.deps.batches.add(b.id, { batchId: b.id });
      else await this.check(b.id);
    }
  }

  private async publish(batch: BatchPrediction): Promise<void> {
    try {
      await this.deps.events.publish('BATCH_PREDICTION_UPDATED', batch.id, {
        batchId: batch.id,
        userId: batch.user.id,
        at: new Date().toISOString(),
      });
    } catch (err) {
      this.deps.logger.warn({ err, batchId: batch.id }, 'could not publish a batch event');
    }
  }
}
