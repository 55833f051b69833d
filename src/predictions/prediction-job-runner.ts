import type { EntityManager } from '@mikro-orm/postgresql';
import type { CompletedCost, CompletedRun } from '../billing/metering.types.js';
import { PreparedStatement } from '../db/prepared-statement.js';
import { PredictionMode, PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import { failureReason } from '../inference/inference.errors.js';
import { encodeOutput } from '../inference/tensor-codec.js';
import { validateAndDecodeInputs } from '../inference/tensor-validation.js';
import type { Job } from '../jobs/job-queue.js';
import { AppError, ErrorCode } from '../shared/errors.js';
import { PredictionNotRecordedError, PredictionRecorder } from './prediction-recorder.js';
import type { PredictionJob, PredictionJobDeps, StoredInputs } from './prediction-job.types.js';
import { isFinal, statusOf, type PredictionTransitions } from './prediction-transitions.js';
import { VersionsById } from './runnable-version.js';

/**
 * The worker's claim: QUEUED (or RUNNING: a redelivery) → RUNNING unless past its deadline,
 * returning the row. Parameters: RUNNING, startedAt, startedAt (for queue_time_ms), attempt,
 * updatedAt, id, QUEUED, RUNNING, now.
 */
const CLAIM_SQL = `
update predictions set status = ?, started_at = ?,
  queue_time_ms = greatest(0, extract(epoch from (?::timestamptz - created_at)) * 1000),
  attempts = ?, updated_at = ?
where id = ? and status in (?, ?) and (deadline_at is null or deadline_at > ?)
returning *`;
/** Prepared once per connection (src/db/prepared-statement.ts): it runs once per job. */
const CLAIM = new PreparedStatement<Record<string, unknown>>('mm_claim_prediction_v1', CLAIM_SQL);

/** The queue options of a prediction job: attempts and backoff from the config. */
export const jobOptions = (limits: Pick<PredictionJobDeps['limits'], 'attempts' | 'backoffMs'>) => ({
  attempts: limits.attempts,
  backoffMs: limits.backoffMs,
});

/**
 * Queued predictions, the worker side: takes a job, marks it RUNNING, runs it in the pool, and
 * writes its final status with its usage record (group commit, complete-succeeded.sql.ts); the
 * sweeper puts back jobs the queue lost. Safe to run twice for one job: only a RUNNING row can
 * become SUCCEEDED, and a final one is left alone.
 */
export class PredictionJobRunner {
  private readonly recorder: PredictionRecorder<CompletedRun, CompletedCost>;
  private readonly versions: VersionsById;

  constructor(
    private readonly deps: PredictionJobDeps,
    private readonly transitions: PredictionTransitions,
  ) {
    this.recorder = new PredictionRecorder((em, runs) => deps.metering.completeSucceeded(em, runs));
    this.versions = new VersionsById(() => deps.fork());
  }

  /** Starts processing jobs in this process (a worker, or the API with a worker role). */
  start(concurrency: number): void {
    this.deps.queue.process((job) => this.execute(job), {
      concurrency,
      onFailed: (job, error) => this.giveUp(job.data.predictionId, error),
    });
  }

  /**
   * Runs one job (the queue's handler). Safe to call again for the same id: a final job is left
   * alone, and only a RUNNING row can become SUCCEEDED. Its database work is two statements on the
   * way through: the claim (QUEUED → RUNNING, returning the row) and its share of a group commit
   * (RUNNING → SUCCEEDED, metered; complete-succeeded.sql.ts), not the ORM's load, update,
   * reload and transaction, whose round trips would make a worker CPU-bound.
   */
  async execute(job: Job<PredictionJob>): Promise<void> {
    const em = this.deps.fork();
    const id = job.data.predictionId;
    const p = await this.claim(em, id, job.attempt);
    if (!p) {
      await this.notClaimed(em, id);
      return;
    }
    await this.transitions.publish(p);
    if (p.webhookUrl && p.webhookEvents.includes('started')) await this.transitions.sendWebhook(p, 'started');

    const stored = p.inputs as StoredInputs;
    let timeoutMs = this.deps.limits.timeoutMs;
    if (p.deadlineAt) timeoutMs = Math.max(1, Math.min(timeoutMs, p.deadlineAt.getTime() - Date.now()));
    try {
      const version = await this.versions.get(p.version.id);
      const { tensors } = validateAndDecodeInputs(stored.tensors, version.inputs, this.deps.limits);
      const run = await this.deps.engine.run(await this.deps.paths.poolVersion(version), tensors, {
        timeoutMs,
        outputs: stored.outputs,
      });
      const outputs = run.outputs.map((o) => encodeOutput(o, stored.outputEncoding));
      const completed = await this.recorder
        .record(em, {
          id,
          outputs,
          device: run.device,
          batchSize: run.batchSize,
          completedAt: new Date(),
          inferenceTimeMs: run.inferenceTimeMs,
        })
        .catch((err: unknown) => {
          if (err instanceof PredictionNotRecordedError) return null;
          throw err;
        });
      if (!completed) {
        // Canceled while it ran (the result is dropped, nothing billed), or its model is gone.
        await this.transitions.finishWithout(
          em,
          p,
          PredictionStatus.FAILED,
          'NOT_FOUND',
          'the model no longer exists',
          [PredictionStatus.RUNNING],
        );
        return;
      }
      Object.assign(p, {
        status: PredictionStatus.SUCCEEDED,
        outputs,
        inputs: null,
        device: run.device,
        batchSize: run.batchSize,
        inferenceTimeMs: run.inferenceTimeMs,
        completedAt: completed.completedAt,
        unitPrice: completed.unitPrice,
        cost: completed.cost,
        currency: completed.currency,
      });
      this.deps.onMetered?.(p.user.id);
      await this.transitions.afterFinal(p);
    } catch (err) {
      await this.onRunError(em, p, job, err);
    }
  }

  /**
   * QUEUED (or RUNNING, for a job redelivered after its worker died) → RUNNING in one statement
   * that returns the row; null when the job is final, gone or past its deadline.
   */
  private async claim(em: EntityManager, id: string, attempt: number): Promise<Prediction | null> {
    const now = new Date();
    const rows = await CLAIM.run(em, [
      PredictionStatus.RUNNING,
      now,
      now,
      attempt,
      now,
      id,
      PredictionStatus.QUEUED,
      PredictionStatus.RUNNING,
      now,
    ]);
    return rows[0] ? em.map(Prediction, rows[0]) : null;
  }

  /** The claim found nothing to run: final or gone (nothing to do), or past its deadline. */
  private async notClaimed(em: EntityManager, id: string): Promise<void> {
    const p = await em.findOne(Prediction, { id });
    if (!p || isFinal(statusOf(p))) return;
    if (p.deadlineAt && p.deadlineAt.getTime() <= Date.now()) {
      await this.transitions.finishWithout(
        em,
        p,
        PredictionStatus.CANCELED,
        'DEADLINE_EXCEEDED',
        'the deadline passed before it ran',
      );
    }
  }

  /**
   * Puts lost jobs back: QUEUED or RUNNING rows untouched for `staleMs` whose job the queue no
   * longer holds (an enqueue that failed after commit, a process that died with the in-process
   * queue), and cancels queued jobs whose deadline has passed. Returns how many it re-enqueued.
   */
  async sweep(staleMs: number, limit = 500): Promise<{ requeued: number; expired: number }> {
    const em = this.deps.fork();
    const cutoff = new Date(Date.now() - staleMs);
    const rows = await em.find(
      Prediction,
      {
        mode: PredictionMode.ASYNC,
        status: { $in: [PredictionStatus.QUEUED, PredictionStatus.RUNNING] },
        updatedAt: { $lt: cutoff },
      },
      { limit, orderBy: { createdAt: 'asc' } },
    );
    let requeued = 0;
    let expired = 0;
    for (const p of rows) {
      if (statusOf(p) === PredictionStatus.QUEUED && p.deadlineAt && p.deadlineAt.getTime() <= Date.now()) {
        await this.deps.queue.cancel(p.id).catch(() => false);
        await this.transitions.finishWithout(
          em,
          p,
          PredictionStatus.CANCELED,
          'DEADLINE_EXCEEDED',
          'the deadline passed before it ran',
        );
        expired++;
        continue;
      }
      if (await this.deps.queue.has(p.id)) continue;
      await this.deps.queue.add(p.id, { predictionId: p.id }, jobOptions(this.deps.limits));
      requeued++;
    }
    if (requeued || expired) this.deps.logger.info({ requeued, expired }, 'prediction sweeper');
    return { requeued, expired };
  }

  private async onRunError(em: EntityManager, p: Prediction, job: Job<PredictionJob>, err: unknown): Promise<void> {
    const known = err instanceof AppError;
    const retryable = known && err.details.retryable === true;
    if (retryable && job.attempt < job.maxAttempts) {
      // Back to QUEUED while it waits for its retry, so status and queue agree.
      await this.transitions.transition(em, p.id, [PredictionStatus.RUNNING], { status: PredictionStatus.QUEUED });
      await em.refresh(p);
      await this.transitions.publish(p);
      throw err;
    }
    const deadlineHit = p.deadlineAt !== null && p.deadlineAt !== undefined && p.deadlineAt.getTime() <= Date.now();
    if (deadlineHit) {
      await this.transitions.finishWithout(
        em,
        p,
        PredictionStatus.CANCELED,
        'DEADLINE_EXCEEDED',
        'stopped: the deadline passed while it ran',
      );
      return;
    }
    const code = failureReason(err) ?? (known ? err.code : ErrorCode.INTERNAL_SERVER_ERROR);
    if (!known) this.deps.logger.error({ err, predictionId: p.id }, 'async prediction failed unexpectedly');
    await this.transitions.finishWithout(em, p, PredictionStatus.FAILED, code, known ? err.message : 'internal error');
  }

  /** The queue gave up on a job (attempts exhausted, or its worker died too often). */
  private async giveUp(id: string, error: Error): Promise<void> {
    const em = this.deps.fork();
    const p = await em.findOne(Prediction, { id });
    if (!p || isFinal(statusOf(p))) return;
    await this.transitions.finishWithout(
      em,
      p,
      PredictionStatus.FAILED,
      'WORKER_LOST',
      `gave up after retries: ${error.message}`,
    );
  }
}
