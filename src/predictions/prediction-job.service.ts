import { UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ownsOrAdmin, requireUser } from '../auth/access.js';
import { ApiKeyScope, PredictionMode, PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import type { TensorOutputJson } from '../inference/tensor-codec.js';
import { selectOutputs } from '../inference/output-selection.js';
import { validateAndDecodeInputs } from '../inference/tensor-validation.js';
import { badInput, notFound } from '../shared/errors.js';
import { UUID } from '../shared/ids.js';
import { inSpan } from '../observability/tracing.js';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from '../shared/pagination.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import { resolveWebhookTarget } from '../webhooks/webhook-target.js';
import { asOfEvent, SharedReads } from './prediction-event-view.js';
import { predictionStream } from './prediction-events.js';
import type { PredictionFields } from './prediction-fields.js';
import { jobOptions } from './prediction-job-runner.js';
import { removePredictionData } from './prediction-retention.js';
import {
  MAX_WAIT_SECONDS,
  type CreatePredictionArgs,
  type PredictionJobDeps,
  type StoredInputs,
} from './prediction-job.types.js';
import { isFinal, statusOf, type PredictionTransitions } from './prediction-transitions.js';
import { resolveRunnableVersion, type RunnableVersionCache } from './runnable-version.js';

/**
 * Queued predictions, the API side (the architecture's "async createPrediction"): a job is
 * stored QUEUED with its price held against the consumer's cap, published and enqueued after
 * the commit; clients read, list, cancel and follow it. The worker side is
 * prediction-job-runner.ts; both change a job's state through prediction-transitions.ts.
 */
export class PredictionJobService {
  private readonly reads = new SharedReads();

  constructor(
    private readonly deps: PredictionJobDeps,
    private readonly transitions: PredictionTransitions,
    // Which version a request names: the synchronous path's cache when wired (prediction.services.ts),
    // so a createPrediction costs no catalog reads while its entry lives; uncached otherwise.
    private readonly runnable: Pick<RunnableVersionCache, 'resolve'> = { resolve: resolveRunnableVersion },
  ) {}

  /**
   * Queues a prediction. With an idempotency key, a retry (say, after a dropped connection) gets
   * the job the first call made, whatever its state.
   *
   * @throws AppError UNAUTHENTICATED, FORBIDDEN (API key without `predict`), NOT_FOUND,
   *   BAD_USER_INPUT (version, tensors, webhook URL, deadline), PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED.
   */
  async create(ctx: ServiceContext, args: CreatePredictionArgs): Promise<Prediction> {
    const wait = args.wait ?? 0;
    if (!Number.isFinite(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
      throw badInput(`wait must be between 0 and ${MAX_WAIT_SECONDS} seconds`, { field: 'wait' });
    }
    const prediction = await inSpan(
      'PredictionJobService.create',
      { attributes: { 'model.id': args.modelId } },
      async (span) => {
        const queued = await this.submit(ctx, args);
        span.setAttribute('prediction.id', queued.id);
        return queued;
      },
    );
    return wait > 0 ? this.untilFinal(ctx, prediction, wait * 1000) : prediction;
  }

  /**
   * `createPrediction(wait:)`, as Replicate's `Prefer: wait`: the job once it is final, or as it
   * is when `ms` have passed (QUEUED or RUNNING, to be followed as usual). Listens for the job's
   * own events (the stream reads its state first, so a job already done returns at once).
   */
  private async untilFinal(ctx: ServiceContext, p: Prediction, ms: number): Promise<Prediction> {
    if (isFinal(statusOf(p))) return p;
    const stream = await this.updates(ctx, p.id);
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<'time'>((resolve) => (timer = setTimeout(() => resolve('time'), ms)));
    try {
      for (;;) {
        const r = await Promise.race([stream.next(), timeUp]);
        if (r === 'time' || r.done || isFinal(r.value.status)) break;
      }
    } finally {
      clearTimeout(timer);
      void stream.return?.().catch(() => undefined);
    }
    await ctx.em.refresh(p);
    return p;
  }

  private async submit(ctx: ServiceContext, args: CreatePredictionArgs): Promise<Prediction> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
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
    const outputs = selectOutputs(version.outputs, args.outputs);
    if (args.webhookUrl) await resolveWebhookTarget(args.webhookUrl, this.deps.webhookAllow);
    const dataRetentionSeconds = retentionOf(args.dataRetentionSeconds, model.dataRetentionHours);
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
      ...(outputs ? { outputs } : {}),
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
          dataRetentionSeconds,
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
    await this.transitions.publish(prediction);
    try {
      await this.deps.queue.add(prediction.id, { predictionId: prediction.id }, jobOptions(this.deps.limits));
    } catch (err) {
      this.deps.logger.warn({ err, predictionId: prediction.id }, 'enqueue failed; the sweeper will retry it');
    }
    return prediction;
  }

  /** When `p`'s tensors will be deleted (the `dataExpiresAt` field). */
  expiresAt(p: Pick<PredictionFields, 'completedAt' | 'dataRemovedAt' | 'dataRetentionSeconds'>): Date | null {
    return dataExpiresAt(p, this.deps.limits.dataRetentionMs ?? 0);
  }

  /** One of the caller's predictions (an admin sees any). */
  async get(ctx: ServiceContext, id: string): Promise<Prediction> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
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
    const changed = await this.transitions.transition(
      ctx.em,
      p.id,
      [PredictionStatus.QUEUED, PredictionStatus.RUNNING],
      {
        status: PredictionStatus.CANCELED,
        errorCode: 'CANCELED',
        errorMessage: 'canceled by the client',
        completedAt: new Date(),
        inputs: null,
      },
    );
    await ctx.em.refresh(p);
    if (changed) await this.transitions.afterFinal(p);
    return p;
  }

  /**
   * Deletes a finished prediction's tensors now (`deletePredictionData`): its outputs (and any
   * inputs) are gone, `dataRemovedAt` says when; its record, cost and usage stay. A job still
   * queued or running must be canceled first. Idempotent.
   */
  async removeData(ctx: ServiceContext, id: string): Promise<Prediction> {
    const p = await this.get(ctx, id);
    if (!isFinal(statusOf(p))) {
      throw badInput(`the prediction is ${p.status}: cancel it first, or wait for it to finish`, { field: 'id' });
    }
    if (p.dataRemovedAt) return p;
    await removePredictionData(ctx.em, p.id);
    await ctx.em.refresh(p);
    return p;
  }

  /** The caller's predictions, newest first, optionally by status or model (keyset pages). */
  async list(
    ctx: ServiceContext,
    args: { status?: PredictionStatus | null; modelId?: string | null; first?: number | null; after?: string | null },
    maxPageSize: number,
  ): Promise<Page<Prediction>> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
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
  async updates(ctx: ServiceContext, id: string): Promise<AsyncIterableIterator<PredictionEventPayload>> {
    return predictionStream(
      this.deps.events,
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
  myEvents(ctx: ServiceContext): AsyncIterableIterator<PredictionEventPayload> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
    return this.deps.events.subscribe('USER_PREDICTION_EVENTS', caller.userId);
  }

  /**
   * A subscription event's prediction, as of the event (prediction-event-view.ts): one read per
   * event per process, shared by every subscriber it reaches.
   */
  async eventView(em: EntityManager, event: PredictionEventPayload): Promise<PredictionFields> {
    const p = await this.reads.read(`${event.predictionId}:${event.status}:${event.at}`, () =>
      em.fork().findOne(Prediction, { id: event.predictionId }),
    );
    if (!p) throw notFound('Prediction');
    return asOfEvent(p, event);
  }

  /** A SUCCEEDED job's outputs: a lazy column (it can be large), read only when asked for. */
  async outputsOf(em: EntityManager, p: Pick<PredictionFields, 'id' | 'status'>): Promise<TensorOutputJson[] | null> {
    if (statusOf(p) !== PredictionStatus.SUCCEEDED) return null;
    const loaded = await em.findOne(Prediction, { id: p.id }, { populate: ['outputs'] });
    return (loaded?.outputs as TensorOutputJson[] | null | undefined) ?? null;
  }
}

/** The longest retention a request may ask for: ten years (PREDICTION_DATA_RETENTION_HOURS' bound). */
const MAX_RETENTION_SECONDS = 87_600 * 3600;

/**
 * A job's own retention: the shorter of the consumer's `dataRetentionSeconds` and the model's
 * `dataRetentionHours` (the deployment's applies as well, in the sweep); null when neither is set.
 */
export function retentionOf(
  requested: number | null | undefined,
  modelHours: number | null | undefined,
): number | null {
  if (requested != null && (!Number.isInteger(requested) || requested < 0 || requested > MAX_RETENTION_SECONDS)) {
    throw badInput(`dataRetentionSeconds must be a whole number from 0 to ${MAX_RETENTION_SECONDS}`, {
      field: 'dataRetentionSeconds',
    });
  }
  const bounds = [requested, modelHours == null ? null : modelHours * 3600].filter((v): v is number => v != null);
  return bounds.length ? Math.min(...bounds) : null;
}

/** When a finished prediction's tensors go: its end plus the shortest retention that applies; null when kept. */
export function dataExpiresAt(
  p: Pick<PredictionFields, 'completedAt' | 'dataRemovedAt' | 'dataRetentionSeconds'>,
  defaultRetentionMs: number,
): Date | null {
  if (!p.completedAt || p.dataRemovedAt) return null;
  const bounds = [
    defaultRetentionMs > 0 ? defaultRetentionMs : null,
    p.dataRetentionSeconds == null ? null : p.dataRetentionSeconds * 1000,
  ].filter((v): v is number => v != null);
  return bounds.length ? new Date(p.completedAt.getTime() + Math.min(...bounds)) : null;
}
