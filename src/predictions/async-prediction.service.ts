import { UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuthFailure, forbidden } from '../auth/auth.errors.js';
import { ownsOrAdmin, requireUser } from '../auth/caller-guards.js';
import type { CompletedCost, CompletedRun, Metering } from '../billing/metering.types.js';
import { ApiKeyScope, FINAL_PREDICTION_STATUSES, PredictionMode, PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import type { InferencePool } from '../inference/inference-pool.js';
import { failureReason } from '../inference/inference.errors.js';
import { encodeOutput, type OutputEncoding, type TensorInputLike } from '../inference/tensor-codec.js';
import { validateAndDecodeInputs } from '../inference/tensor-validation.js';
import type { Job, JobQueue } from '../jobs/job-queue.js';
import { AppError, badInput, ErrorCode, notFound } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from '../shared/pagination.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import { predictionStream } from './prediction-events.js';
import { resolveWebhookTarget, type WebhookAllowList } from '../webhooks/webhook-target.js';
import {
  resolveRunnableVersion,
  VersionsById,
  type RunnableVersionCache,
  type VersionPaths,
} from './runnable-version.js';
import { PredictionNotRecordedError, PredictionRecorder } from './prediction-recorder.js';
import { UUID } from '../shared/ids.js';
import { PreparedStatement } from '../db/prepared-statement.js';

/** What the queue carries: the id alone; the row holds everything else (and no secrets). */
export type PredictionJob = { predictionId: string };

export type PredictionEvent = {
  predictionId: string;
  userId: string;
  status: PredictionStatus;
  /** When the change was committed (ISO 8601, UTC). */
  at: string;
};

export type WebhookEventName = 'started' | 'completed';

/** Inputs kept on the row until the job is final (then cleared): the request as it came. */
type StoredInputs = { tensors: TensorInputLike[]; outputEncoding: OutputEncoding };

export type CreatePredictionArgs = {
  modelId: string;
  version?: string | null;
  inputs: readonly TensorInputLike[];
  outputEncoding?: OutputEncoding | null;
  webhookUrl?: string | null;
  webhookEvents?: readonly WebhookEventName[] | null;
  idempotencyKey?: string | null;
  /** Not started by then: CANCELED. Still running then: stopped and CANCELED. */
  deadline?: Date | null;
};

export type AsyncPredictionDeps = {
  engine: Pick<InferencePool, 'run'>;
  paths: VersionPaths;
  metering: Metering;
  queue: JobQueue<PredictionJob>;
  /** A fresh EntityManager fork for each job (never the global one). */
  fork: () => EntityManager;
  /** Published after the commit that made the status true. */
  publish: (event: PredictionEvent) => Promise<void>;
  /** Queues a webhook delivery (at least once, deduplicated by event id on the receiver). */
  webhook?: (
    userId: string,
    url: string,
    type: string,
    eventId: string,
    data: Record<string, unknown>,
  ) => Promise<void>;
  webhookAllow: WebhookAllowList;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  limits: {
    maxRequestBytes: number;
    timeoutMs: number;
    attempts: number;
    backoffMs: number;
    /** `predictionUpdated` re-reads the row after this long without an event (0: never). */
    streamRecheckMs?: number;
  };
  /** Called after the commit that metered a prediction (drives `usageUpdated`). */
  onMetered?: (userId: string) => void;
};

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

const isFinal = (s: PredictionStatus) => FINAL_PREDICTION_STATUSES.includes(s);
const statusOf = (p: Pick<Prediction, 'status'>) => p.status as PredictionStatus;

/** A signed-in user; through an API key, only one with the `predict` scope. */
function requirePredictCaller(ctx: ServiceContext) {
  const caller = requireUser(ctx.caller);
  if (caller.apiKeyId && !caller.scopes?.includes(ApiKeyScope.PREDICT)) {
    throw forbidden(AuthFailure.SCOPE_REQUIRED, { requiredScopes: [ApiKeyScope.PREDICT] });
  }
  return caller;
}

/**
 * Asynchronous predictions (../shared/ARCHITECTURE_SKETCH.md, "async createPrediction"):
 * the API stores the job QUEUED and, after the commit, publishes and enqueues it; any worker
 * takes it, marks it RUNNING, runs it in its pool, and writes the final status with its usage
 * record in one transaction. Every status change is a conditional UPDATE from the state it
 * expects, so a cancel racing a worker, a retried job or a second worker after a stall can
 * never bill twice or resurrect a final job. A sweeper re-enqueues rows the queue has lost.
 */
export class AsyncPredictionService {
  private readonly recorder: PredictionRecorder<CompletedRun, CompletedCost>;
  private readonly versions: VersionsById;

  constructor(
    private readonly deps: AsyncPredictionDeps,
    // Which version a request names: the synchronous path's cache when wired (services.ts), so a
    // createPrediction costs no catalog reads while its entry lives; uncached otherwise.
    private readonly runnable: Pick<RunnableVersionCache, 'resolve'> = { resolve: resolveRunnableVersion },
  ) {
    this.recorder = new PredictionRecorder((em, runs) => deps.metering.completeSucceeded(em, runs));
    this.versions = new VersionsById(() => deps.fork());
  }

  /**
   * Queues a prediction. With an idempotency key, a retry (say, after a dropped connection) gets
   * the job the first call made, whatever its state.
   *
   * @throws AppError UNAUTHENTICATED, FORBIDDEN (API key without `predict`), NOT_FOUND,
   *   BAD_USER_INPUT (version, tensors, webhook URL, deadline), PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED.
   */
  async create(ctx: ServiceContext, args: CreatePredictionArgs): Promise<Prediction> {
    const caller = requirePredictCaller(ctx);
    const key = args.idempotencyKey?.trim() || null;
    if (key && key.length > 200)
      throw badInput('idempotencyKey is longer than 200 characters', { field: 'idempotencyKey' });
    if (key) {
      const existing = await ctx.em.findOne(Prediction, { user: caller.userId, idempotencyKey: key });
      if (existing) return existing;
    }
    if (args.deadline && args.deadline.getTime() <= Date.now()) {
      throw badInput('deadline is in the past', { field: 'deadline' });
    }
    const { model, version } = await this.runnable.resolve(ctx.em, args.modelId, args.version ?? null);
    // Checked now, so that a request that can never run is refused while the client is here.
    validateAndDecodeInputs(args.inputs, version.inputs, this.deps.limits);
    if (args.webhookUrl) await resolveWebhookTarget(args.webhookUrl, this.deps.webhookAllow);
    // The pricing the job will be billed at, whenever it runs: the model's now.
    const acceptance = await this.deps.metering.accept(ctx.em, caller.userId, model.id);

    const stored: StoredInputs = {
      tensors: args.inputs.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: [...t.shape],
        data: t.data,
        b64: t.b64,
      })),
      outputEncoding: args.outputEncoding ?? 'JSON',
    };
    const events = [...new Set(['completed', ...(args.webhookEvents ?? [])])];
    let prediction: Prediction;
    try {
      prediction = await ctx.em.transactional(async (em) => {
        // Its price held against the consumer's cap, committed with the job or not at all.
        const reservedAmount = await this.deps.metering.reserve(em, caller.userId, acceptance);
        const p = em.create(Prediction, {
          user: caller.userId,
          apiKey: caller.apiKeyId ?? null,
          model: model.id,
          version: version.id,
          mode: PredictionMode.ASYNC,
          status: PredictionStatus.QUEUED,
          inputs: stored,
          outputs: null,
          idempotencyKey: key,
          webhookUrl: args.webhookUrl ?? null,
          webhookEvents: args.webhookUrl ? events : [],
          deadlineAt: args.deadline ?? null,
          unitPrice: acceptance.unitPrice,
          freeAllowance: acceptance.freeAllowance,
          currency: acceptance.currency,
          reservedAmount,
          // In the month its reservation is held in (released by that month on failure).
          createdAt: acceptance.acceptedAt,
        });
        await em.flush();
        return p;
      });
    } catch (err) {
      // Two concurrent calls with one key: the loser returns the winner's job.
      if (key && err instanceof UniqueConstraintViolationException) {
        const existing = await ctx.em.fork().findOne(Prediction, { user: caller.userId, idempotencyKey: key });
        if (existing) return existing;
      }
      throw err;
    }
    // Publish QUEUED before enqueueing: a worker may take the job at once, and its RUNNING must
    // not overtake QUEUED. Enqueue failures are repaired by the sweeper (the row is the truth).
    await this.publish(prediction);
    try {
      await this.deps.queue.add(prediction.id, { predictionId: prediction.id }, this.jobOptions());
    } catch (err) {
      this.deps.logger.warn({ err, predictionId: prediction.id }, 'enqueue failed; the sweeper will retry it');
    }
    return prediction;
  }

  /** One of the caller's predictions (an admin sees any). */
  async get(ctx: ServiceContext, id: string): Promise<Prediction> {
    const caller = requirePredictCaller(ctx);
    if (!UUID.test(id)) throw notFound('Prediction');
    const p = await ctx.em.findOne(Prediction, { id });
    if (!p || !ownsOrAdmin(caller, p.user.id)) throw notFound('Prediction');
    return p;
  }

  /** 1 for the next job to run, while QUEUED; null otherwise. Counted from the database. */
  async queuePosition(em: EntityManager, p: Pick<Prediction, 'id' | 'status' | 'createdAt'>): Promise<number | null> {
    if (statusOf(p) !== PredictionStatus.QUEUED) return null;
    const [row] = await em.execute<{ ahead: string }[]>(
      `select count(*) as ahead from predictions
       where status = 'QUEUED' and mode = 'ASYNC' and (created_at, id) < (?, ?)`,
      [p.createdAt, p.id],
    );
    return Number(row?.ahead ?? 0) + 1;
  }

  /**
   * Cancels a job: a queued one leaves the queue; a running one is marked CANCELED at once and
   * its result, when it comes, is dropped (never billed). Final jobs are returned as they are.
   */
  async cancel(ctx: ServiceContext, id: string): Promise<Prediction> {
    const p = await this.get(ctx, id);
    if (isFinal(statusOf(p))) return p;
    await this.deps.queue.cancel(p.id).catch(() => false);
    const changed = await this.transition(ctx.em, p.id, [PredictionStatus.QUEUED, PredictionStatus.RUNNING], {
      status: PredictionStatus.CANCELED,
      errorCode: 'CANCELED',
      errorMessage: 'canceled by the client',
      completedAt: new Date(),
      inputs: null,
    });
    await ctx.em.refresh(p);
    if (changed) await this.afterFinal(p);
    return p;
  }

  /** The caller's predictions, newest first, optionally by status or model (keyset pages). */
  async list(
    ctx: ServiceContext,
    args: { status?: PredictionStatus | null; modelId?: string | null; first?: number | null; after?: string | null },
    maxPageSize: number,
  ): Promise<Page<Prediction>> {
    const caller = requirePredictCaller(ctx);
    const limit = pageSize(args.first, maxPageSize);
    const where: FilterQuery<Prediction> = { user: caller.userId };
    if (args.status) where.status = args.status;
    if (args.modelId) {
      if (!UUID.test(args.modelId))
        return toPage(
          [],
          limit,
          () => '',
          () => 0,
          false,
        );
      where.model = args.modelId;
    }
    const filter = { ...where };
    if (args.after) {
      const [at, id] = decodeCursor(args.after, 'predictions', 2) as [string, string];
      const createdAt = new Date(at);
      if (Number.isNaN(createdAt.getTime()) || !UUID.test(id)) throw badInput('Invalid cursor', { field: 'after' });
      filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }];
    }
    const rows = await ctx.em.find(Prediction, filter, {
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit: limit + 1,
    });
    return toPage(
      rows,
      limit,
      (p) => encodeCursor('predictions', [p.createdAt.toISOString(), p.id]),
      () => ctx.em.count(Prediction, where),
      Boolean(args.after),
    );
  }

  /** `predictionUpdated(id)`: the prediction's current state, then its changes until final. */
  async updates(
    ctx: ServiceContext,
    id: string,
    bus: EventBus,
  ): Promise<AsyncIterableIterator<PredictionEventPayload>> {
    return predictionStream(
      bus,
      id,
      async () => {
        const p = await this.get({ ...ctx, em: ctx.em.fork() }, id);
        return {
          predictionId: p.id,
          userId: p.user.id,
          status: statusOf(p),
          at: (p.completedAt ?? p.startedAt ?? p.createdAt).toISOString(),
        };
      },
      { recheckMs: this.deps.limits.streamRecheckMs },
    );
  }

  /** `myPredictionEvents`: every change of the caller's predictions (API keys need `predict`). */
  myEvents(ctx: ServiceContext, bus: EventBus): AsyncIterableIterator<PredictionEventPayload> {
    const caller = requirePredictCaller(ctx);
    return bus.subscribe('USER_PREDICTION_EVENTS', caller.userId);
  }

  /** Starts processing jobs in this process (a worker, or the API with a worker role). */
  startWorker(concurrency: number): void {
    this.deps.queue.process((job) => this.execute(job), {
      concurrency,
      onFailed: (job, error) => this.giveUp(job.data.predictionId, error),
    });
  }

  /**
   * Runs one job (the queue's handler). Safe to call again for the same id: a final job is left
   * alone, and only a RUNNING row can become SUCCEEDED. Its database work is two statements on the
   * way through: the claim (QUEUED → RUNNING, returning the row) and its share of a group commit
   * (RUNNING → SUCCEEDED, metered; complete-succeeded.sql.ts) — the ORM round trips this used to
   * take (load, update, reload, a transaction of five) made a worker CPU-bound at ~55 jobs/s.
   */
  async execute(job: Job<PredictionJob>): Promise<void> {
    const em = this.deps.fork();
    const id = job.data.predictionId;
    const p = await this.claim(em, id, job.attempt);
    if (!p) {
      await this.notClaimed(em, id);
      return;
    }
    await this.publish(p);
    if (p.webhookUrl && p.webhookEvents.includes('started')) await this.sendWebhook(p, 'started');

    const stored = p.inputs as StoredInputs;
    let timeoutMs = this.deps.limits.timeoutMs;
    if (p.deadlineAt) timeoutMs = Math.max(1, Math.min(timeoutMs, p.deadlineAt.getTime() - Date.now()));
    try {
      const version = await this.versions.get(p.version.id);
      const { tensors } = validateAndDecodeInputs(stored.tensors, version.inputs, this.deps.limits);
      const run = await this.deps.engine.run(await this.deps.paths.poolVersion(version), tensors, { timeoutMs });
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
        await this.finishWithout(em, p, PredictionStatus.FAILED, 'NOT_FOUND', 'the model no longer exists', [
          PredictionStatus.RUNNING,
        ]);
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
      await this.afterFinal(p);
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
      await this.finishWithout(
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
        await this.finishWithout(
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
      await this.deps.queue.add(p.id, { predictionId: p.id }, this.jobOptions());
      requeued++;
    }
    if (requeued || expired) this.deps.logger.info({ requeued, expired }, 'prediction sweeper');
    return { requeued, expired };
  }

  private jobOptions() {
    return { attempts: this.deps.limits.attempts, backoffMs: this.deps.limits.backoffMs };
  }

  private async onRunError(em: EntityManager, p: Prediction, job: Job<PredictionJob>, err: unknown): Promise<void> {
    const known = err instanceof AppError;
    const retryable = known && err.details.retryable === true;
    if (retryable && job.attempt < job.maxAttempts) {
      // Back to QUEUED while it waits for its retry, so status and queue agree.
      await this.transition(em, p.id, [PredictionStatus.RUNNING], { status: PredictionStatus.QUEUED });
      await em.refresh(p);
      await this.publish(p);
      throw err;
    }
    const deadlineHit = p.deadlineAt !== null && p.deadlineAt !== undefined && p.deadlineAt.getTime() <= Date.now();
    if (deadlineHit) {
      await this.finishWithout(
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
    await this.finishWithout(em, p, PredictionStatus.FAILED, code, known ? err.message : 'internal error');
  }

  /** The queue gave up on a job (attempts exhausted, or its worker died too often). */
  private async giveUp(id: string, error: Error): Promise<void> {
    const em = this.deps.fork();
    const p = await em.findOne(Prediction, { id });
    if (!p || isFinal(statusOf(p))) return;
    await this.finishWithout(em, p, PredictionStatus.FAILED, 'WORKER_LOST', `gave up after retries: ${error.message}`);
  }

  private async finishWithout(
    em: EntityManager,
    p: Prediction,
    status: PredictionStatus,
    code: string,
    message: string,
    from: PredictionStatus[] = [PredictionStatus.QUEUED, PredictionStatus.RUNNING],
  ) {
    const changed = await this.transition(em, p.id, from, {
      status,
      errorCode: code,
      errorMessage: message,
      completedAt: new Date(),
      inputs: null,
    });
    if (!changed) return;
    await em.refresh(p);
    await this.afterFinal(p);
  }

  /**
   * UPDATE … WHERE status IN (from): true when this call made the change. A change to FAILED or
   * CANCELED gives back what the job held against its consumer's spending cap, in the same
   * transaction: exactly once, with the change that ended it.
   */
  private async transition(
    em: EntityManager,
    id: string,
    from: PredictionStatus[],
    set: Partial<
      Pick<
        Prediction,
        'status' | 'errorCode' | 'errorMessage' | 'completedAt' | 'startedAt' | 'queueTimeMs' | 'attempts'
      >
    > & {
      inputs?: null;
    },
  ): Promise<boolean> {
    const update = async (tx: EntityManager) =>
      (await tx.nativeUpdate(Prediction, { id, status: { $in: from } }, { ...set, updatedAt: new Date() })) > 0;
    if (set.status !== PredictionStatus.FAILED && set.status !== PredictionStatus.CANCELED) return update(em);
    return em.transactional(async (tx) => {
      const changed = await update(tx);
      if (changed) await this.deps.metering.release(tx, id);
      return changed;
    });
  }

  private async afterFinal(p: Prediction): Promise<void> {
    await this.publish(p);
    if (p.webhookUrl) await this.sendWebhook(p, 'completed');
  }

  private async publish(p: Prediction): Promise<void> {
    try {
      await this.deps.publish({
        predictionId: p.id,
        userId: p.user.id,
        status: statusOf(p),
        at: new Date().toISOString(),
      });
    } catch (err) {
      // The row is the truth; a lost event is seen on the next query.
      this.deps.logger.warn({ err, predictionId: p.id }, 'could not publish a prediction event');
    }
  }

  private async sendWebhook(p: Prediction, event: WebhookEventName): Promise<void> {
    if (!this.deps.webhook || !p.webhookUrl) return;
    try {
      await this.deps.webhook(p.user.id, p.webhookUrl, `prediction.${event}`, `${p.id}.${event}`, {
        id: p.id,
        status: p.status,
        modelId: p.model.id,
        versionId: p.version.id,
        error: p.errorCode ? { code: p.errorCode, message: p.errorMessage } : null,
        createdAt: p.createdAt.toISOString(),
        startedAt: p.startedAt?.toISOString() ?? null,
        completedAt: p.completedAt?.toISOString() ?? null,
      });
    } catch (err) {
      this.deps.logger.warn({ err, predictionId: p.id }, 'could not queue a webhook');
    }
  }
}
