import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ownsOrAdmin, requireUser } from '../auth/access.js';
import type { Metering } from '../billing/metering.types.js';
import { storeUpload, type UploadedFile } from '../catalog/store-upload.js';
import { BatchPrediction } from '../entities/batch-prediction.entity.js';
import { ApiKeyScope, BatchPredictionStatus, PredictionStatus } from '../entities/enums.js';
import type { OutputEncoding } from '../inference/tensor-codec.js';
import { selectOutputs } from '../inference/output-selection.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { AppError, badInput, ErrorCode, notFound } from '../shared/errors.js';
import { UUID } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import { checkRow, readBatchRows } from './batch-file.js';
import { countRows, isBatchFinal, viewOf, type BatchJob, type BatchView } from './batch-progress.js';
import type { PredictionJobDeps } from './prediction-job.types.js';
import type { RunnableVersionCache } from './runnable-version.js';

export type CreateBatchArgs = {
  modelId: string;
  version?: string | null;
  outputEncoding?: OutputEncoding | null;
  outputs?: readonly string[] | null;
  file: UploadedFile | Promise<UploadedFile>;
};

export type BatchServiceDeps = {
  storage: ModelStorage;
  events: EventBus;
  metering: Metering;
  batches: JobQueue<BatchJob>;
  limits: PredictionJobDeps['limits'] & { maxRows: number; maxFileBytes: number };
  logger: Pick<Logger, 'warn'>;
  /** A batch's stream re-reads it after this long without an event. */
  recheckMs: number;
};

/**
 * Batch predictions, the API side (the worker side is batch-runner.ts): the file is checked line
 * by line against the version's signature and stored before anything is queued or billed, the
 * pricing is accepted once for every row, and a job makes the rows. Clients read a batch's
 * progress, follow it live, cancel the rest, and download the results once every row ended.
 */
export class BatchPredictionService {
  constructor(
    private readonly deps: BatchServiceDeps,
    private readonly versions: RunnableVersionCache,
  ) {}

  /**
   * @throws AppError UNAUTHENTICATED, FORBIDDEN (key without `predict`), NOT_FOUND, BAD_USER_INPUT
   *   (a line that is not a row of this version's inputs, naming it; no rows; too many rows),
   *   PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED (the cap or an overdue invoice refuses the first row).
   */
  async create(ctx: ServiceContext, args: CreateBatchArgs): Promise<BatchView> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
    const { model, version } = await this.versions.resolve(ctx.em, args.modelId, args.version ?? null);
    const outputs = selectOutputs(version.outputs, args.outputs);
    const acceptance = await this.deps.metering.accept(ctx.em, caller.userId, model.id);
    const id = randomUUID();
    const inputKey = `batches/${id}/input.jsonl`;
    const stored = await storeUpload(this.deps.storage, inputKey, args.file, this.deps.limits.maxFileBytes);
    let totalRows = 0;
    try {
      const path = await this.deps.storage.localPath(inputKey);
      for await (const row of readBatchRows(createReadStream(path))) {
        if (row.row >= this.deps.limits.maxRows) {
          throw badInput(`the file has more than ${this.deps.limits.maxRows} rows`, {
            field: 'file',
            maxRows: this.deps.limits.maxRows,
          });
        }
        checkRow(row, version.inputs, this.deps.limits);
        totalRows++;
      }
      if (totalRows === 0) throw badInput('the file has no rows', { field: 'file' });
    } catch (err) {
      await this.deps.storage.delete(inputKey).catch(() => undefined);
      throw err;
    }
    const batch = ctx.em.create(BatchPrediction, {
      id,
      user: caller.userId,
      apiKey: caller.apiKeyId ?? null,
      model: model.id,
      version: version.id,
      status: BatchPredictionStatus.QUEUED,
      totalRows,
      inputKey,
      inputBytes: stored.sizeBytes,
      outputEncoding: args.outputEncoding ?? 'JSON',
      outputs: outputs ? [...outputs] : null,
      unitPrice: acceptance.unitPrice,
      freeAllowance: acceptance.freeAllowance,
      currency: acceptance.currency,
      createdAt: acceptance.acceptedAt,
    });
    await ctx.em.flush();
    // After the commit; a lost enqueue is put back by the sweeper (the row is the truth).
    await this.deps.batches.add(id, { batchId: id }).catch((err: unknown) => {
      this.deps.logger.warn({ err, batchId: id }, 'enqueue failed; the sweeper will retry it');
    });
    return this.view(ctx.em, batch);
  }

  /** One of the caller's batches (an admin sees any); NOT_FOUND for anyone else's. */
  async get(ctx: ServiceContext, id: string): Promise<BatchPrediction> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
    if (!UUID.test(id)) throw notFound('Batch prediction');
    const batch = await ctx.em.findOne(BatchPrediction, { id });
    if (!batch || !ownsOrAdmin(caller, batch.user.id)) throw notFound('Batch prediction');
    return batch;
  }

  async view(em: EntityManager, batch: BatchPrediction): Promise<BatchView> {
    return viewOf(batch, await countRows(em, batch.id));
  }

  /**
   * Stops what has not started: the batch becomes CANCELED, its queued rows CANCELED (never
   * billed, their holds on the cap given back) and no more rows are made; running rows finish
   * and are billed. A final batch comes back unchanged.
   */
  async cancel(ctx: ServiceContext, id: string): Promise<BatchView> {
    const batch = await this.get(ctx, id);
    await ctx.em.transactional(async (tx) => {
      const changed = await tx.nativeUpdate(
        BatchPrediction,
        { id, status: { $in: [BatchPredictionStatus.QUEUED, BatchPredictionStatus.RUNNING] } },
        {
          status: BatchPredictionStatus.CANCELED,
          completedAt: new Date(),
          errorCode: 'CANCELED',
          errorMessage: 'canceled before this row was made',
        },
      );
      if (!changed) return;
      const rows = await tx.execute<{ id: string }[]>(
        `update predictions set status = ?, error_code = 'CANCELED', error_message = 'the batch was canceled',
           completed_at = now(), inputs = null, updated_at = now()
         where batch_id = ? and status = ? returning id`,
        [PredictionStatus.CANCELED, id, PredictionStatus.QUEUED],
      );
      // Never billed: their holds on the cap are given back.
      await this.deps.metering.releaseMany(
        tx,
        rows.map((r) => r.id),
      );
    });
    await ctx.em.refresh(batch);
    await this.deps.events
      .publish('BATCH_PREDICTION_UPDATED', id, { batchId: id, userId: batch.user.id, at: new Date().toISOString() })
      .catch(() => undefined);
    return this.view(ctx.em, batch);
  }

  /**
   * `batchPredictionUpdated(id)`: the batch now, then again after each change (progress is
   * published a few times a second while rows end), ending once it is final and its results
   * are written. Subscribed before the first read, so nothing in between is missed; re-read after
   * `recheckMs` without an event (one lost while Redis was away).
   */
  async updates(ctx: ServiceContext, id: string): Promise<AsyncIterableIterator<BatchView>> {
    const batch = await this.get(ctx, id);
    const source = this.deps.events.subscribe('BATCH_PREDICTION_UPDATED', batch.id);
    await source.ready;
    const read = async () => {
      const em = ctx.em.fork();
      const b = await em.findOneOrFail(BatchPrediction, { id: batch.id });
      return this.view(em, b);
    };
    const recheckMs = this.deps.recheckMs;
    async function* stream(): AsyncGenerator<BatchView> {
      try {
        let last = await read();
        yield last;
        while (!(isBatchFinal(last.status) && last.resultsReady)) {
          let timer: NodeJS.Timeout | undefined;
          const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), recheckMs)));
          const r = await Promise.race([source.next(), tick]).finally(() => clearTimeout(timer));
          if (r !== 'tick' && r.done) return;
          const now = await read();
          if (JSON.stringify({ ...now, etaSeconds: null }) === JSON.stringify({ ...last, etaSeconds: null })) continue;
          last = now;
          yield now;
        }
      } finally {
        await source.return?.();
      }
    }
    return stream();
  }

  /** The results JSONL of an ended batch, streamed from storage (GET /batches/{id}/results.jsonl). */
  async results(ctx: ServiceContext, id: string): Promise<{ stream: Readable; batch: BatchPrediction }> {
    const batch = await this.get(ctx, id);
    if (!batch.resultsKey) {
      throw new AppError(
        ErrorCode.CONFLICT,
        `the batch is ${batch.status}: its results are written once every row ended`,
      );
    }
    return { stream: await this.deps.storage.openRead(batch.resultsKey), batch };
  }
}
