import { randomUUID } from 'node:crypto';
import { jobOutcomes } from '../observability/metrics.js';
import { inSpan } from '../observability/tracing.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { requireUser } from '../auth/access.js';
import { spendCapReached } from '../billing/billing.errors.js';
import type { Metering, RecordedCost, SucceededRun } from '../billing/metering.types.js';
import { ApiKeyScope, PredictionMode, PredictionStatus } from '../entities/enums.js';
import type { ModelVersion } from '../entities/model-version.entity.js';
import type { Model } from '../entities/model.entity.js';
import { Prediction } from '../entities/prediction.entity.js';
import { failureReason } from '../inference/inference.errors.js';
import type { InferencePool, RunResult } from '../inference/inference-pool.js';
import {
  encodeOutput,
  type OutputEncoding,
  type TensorInputLike,
  type TensorOutputJson,
} from '../inference/tensor-codec.js';
import { selectOutputs } from '../inference/output-selection.js';
import { validateAndDecodeInputs } from '../inference/tensor-validation.js';
import { AppError, ErrorCode, notFound } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { CatalogGeneration } from '../catalog/catalog-generation.js';
import { RunnableVersionCache, VersionPaths } from './runnable-version.js';
import { PredictionNotRecordedError, PredictionRecorder } from './prediction-recorder.js';
import type { PredictionFields } from './prediction-fields.js';

export type PredictionDeps = {
  /** The inference engine (the worker pool). */
  engine: Pick<InferencePool, 'run' | 'warm'>;
  storage: ModelStorage;
  metering: Metering;
  logger: Pick<Logger, 'error' | 'warn'>;
  limits: { maxRequestBytes: number; timeoutMs: number };
  /** Called after the commit that metered a prediction (drives `usageUpdated`). */
  onMetered?: (userId: string) => void;
  /** How long a resolved (model, version) may be reused (PREDICT_VERSION_CACHE_TTL_MS); absent or 0: off. */
  versionCacheTtlMs?: number;
};

export type PredictArgs = {
  modelId: string;
  /** A version string (e.g. "1.2.0"), or absent for the model's default version. */
  version?: string | null;
  inputs: readonly TensorInputLike[];
  outputEncoding?: OutputEncoding | null;
  /** Only these outputs are returned; absent: all of them. */
  outputs?: readonly string[] | null;
};

export type PredictResult = {
  outputs: TensorOutputJson[];
  inferenceTimeMs: number;
  prediction: PredictionFields;
  /** What the prediction ran on, as resolved (the resolver primes its loaders with them). */
  model: Model;
  version: ModelVersion;
};

/**
 * Synchronous predictions: check who may run what, validate the tensors against the version's
 * stored signature, run them in the inference pool, and record the outcome — SUCCEEDED with its
 * usage record and the model's counter in one statement (grouped with concurrent ones), or
 * FAILED with the reason.
 */
export class PredictionService {
  private readonly paths: VersionPaths;
  /** Shared with queued predictions' `create` (services.ts). */
  readonly versions: RunnableVersionCache;
  private readonly recorder: PredictionRecorder<SucceededRun, RecordedCost>;

  constructor(
    private readonly deps: PredictionDeps,
    // Catalog writes bump it, which empties the version cache (see RunnableVersionCache).
    generation: CatalogGeneration = new CatalogGeneration(),
  ) {
    this.paths = new VersionPaths(deps.storage);
    this.versions = new RunnableVersionCache(generation, deps.versionCacheTtlMs ?? 0);
    this.recorder = new PredictionRecorder((em, runs) => deps.metering.recordSucceeded(em, runs));
  }

  /**
   * Runs one prediction and waits for it.
   *
   * @throws AppError UNAUTHENTICATED / FORBIDDEN (API key without `predict`), NOT_FOUND,
   *   BAD_USER_INPUT (version not runnable, tensors not matching the signature, the model failing
   *   on them), PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED, SERVICE_UNAVAILABLE (retryable: overload,
   *   timeout, worker lost).
   */
  predict(ctx: ServiceContext, args: PredictArgs): Promise<PredictResult> {
    return inSpan('PredictionService.predict', { attributes: { 'model.id': args.modelId } }, () =>
      this.runNow(ctx, args),
    );
  }

  private async runNow(ctx: ServiceContext, args: PredictArgs): Promise<PredictResult> {
    const caller = requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
    const { model, version } = await this.versions.resolve(ctx.em, args.modelId, args.version ?? null);
    // Tensors before quota: a malformed request costs no billing query.
    const { tensors } = validateAndDecodeInputs(args.inputs, version.inputs, this.deps.limits);
    const outputs = selectOutputs(version.outputs, args.outputs);

    // Acceptance — the pricing this request is billed at, read now, and the checks that refuse it
    // (cap, overdue invoice) — runs alongside inference rather than before it: its round trip
    // would otherwise add to every prediction's latency. A refusal still returns no outputs and
    // records nothing; what it costs is one run of compute for a refused request, bounded by the
    // predict rate limit and the version's queue bound. The cap is enforced exactly in the
    // recording statement (record-succeeded.sql.ts); this check only refuses early.
    const startedAt = new Date();
    const [accepted, ran] = await Promise.allSettled([
      this.deps.metering.accept(ctx.em, caller.userId, model.id),
      this.paths
        .poolVersion(version)
        .then((pv) => this.deps.engine.run(pv, tensors, { timeoutMs: this.deps.limits.timeoutMs, outputs })),
    ]);
    if (accepted.status === 'rejected') throw accepted.reason;
    if (ran.status === 'rejected') {
      await this.recordFailure(ctx.em, { caller, model, version, startedAt, err: ran.reason });
      throw ran.reason;
    }
    const run: RunResult = ran.value;
    const pricing = accepted.value;
    // SUCCEEDED, metered and counted in one statement shared with whatever else finished
    // meanwhile (group commit, prediction-recorder.ts); outputs go back only once it committed.
    const id = randomUUID();
    const completedAt = new Date();
    const recorded = await this.recorder
      .record(ctx.em, {
        id,
        userId: caller.userId,
        apiKeyId: caller.apiKeyId ?? null,
        modelId: model.id,
        versionId: version.id,
        device: run.device,
        batchSize: run.batchSize,
        startedAt,
        completedAt,
        queueTimeMs: run.queueTimeMs,
        inferenceTimeMs: run.inferenceTimeMs,
        pricing,
      })
      .catch((err: unknown) => {
        // The model was deleted (hard) while it ran: nothing was recorded, nothing is billed.
        throw err instanceof PredictionNotRecordedError ? notFound('Model') : err;
      });
    if (recorded.refusal) {
      // Others took the room under the cap while this one ran: nothing was written or billed.
      const { cap, spent, reserved } = recorded.refusal;
      throw spendCapReached(cap, spent, reserved, pricing.currency);
    }
    jobOutcomes.inc({ mode: PredictionMode.SYNC, status: PredictionStatus.SUCCEEDED });
    const prediction: PredictionFields = {
      id,
      status: PredictionStatus.SUCCEEDED,
      mode: PredictionMode.SYNC,
      device: run.device,
      batchSize: run.batchSize,
      createdAt: startedAt,
      startedAt,
      completedAt,
      queueTimeMs: run.queueTimeMs,
      inferenceTimeMs: run.inferenceTimeMs,
      errorCode: null,
      errorMessage: null,
      unitPrice: recorded.unitPrice,
      cost: recorded.cost,
      currency: recorded.currency,
      // A synchronous prediction's tensors are never stored: nothing to remove.
      dataRemovedAt: null,
      dataRetentionSeconds: null,
      model: { id: model.id },
      version: { id: version.id },
    };
    this.deps.onMetered?.(caller.userId);
    const encoding = args.outputEncoding ?? 'JSON';
    return {
      outputs: run.outputs.map((o) => encodeOutput(o, encoding)),
      inferenceTimeMs: run.inferenceTimeMs,
      prediction,
      model,
      version,
    };
  }

  /**
   * Loads and warms a version in every inference worker, so its first prediction does not pay
   * for the load. Publishing calls it when a version becomes READY; a warm-up run that fails on
   * the synthetic input is returned (and worth logging), not thrown.
   *
   * @throws AppError (reason MODEL_LOAD_FAILED) when the file does not load in onnxruntime.
   */
  async warmVersion(version: ModelVersion): Promise<{ warmupError?: string }> {
    return this.deps.engine.warm(await this.paths.poolVersion(version));
  }

  /** A run that failed is still a prediction the consumer asked for: recorded FAILED, never billed. */
  private async recordFailure(
    em: EntityManager,
    f: {
      caller: { userId: string; apiKeyId?: string };
      model: Model;
      version: ModelVersion;
      startedAt: Date;
      err: unknown;
    },
  ): Promise<void> {
    const known = f.err instanceof AppError;
    try {
      em.create(Prediction, {
        user: f.caller.userId,
        apiKey: f.caller.apiKeyId ?? null,
        model: f.model.id,
        version: f.version.id,
        mode: PredictionMode.SYNC,
        status: PredictionStatus.FAILED,
        inputs: null,
        outputs: null,
        errorCode: failureReason(f.err) ?? (known ? (f.err as AppError).code : ErrorCode.INTERNAL_SERVER_ERROR),
        errorMessage: known ? (f.err as AppError).message : 'internal error',
        startedAt: f.startedAt,
        completedAt: new Date(),
        currency: f.model.currency,
        createdAt: f.startedAt,
      });
      await em.flush();
      jobOutcomes.inc({ mode: PredictionMode.SYNC, status: PredictionStatus.FAILED });
    } catch (writeErr) {
      // The caller gets the inference error either way; losing the FAILED row is logged.
      this.deps.logger.error({ err: writeErr }, 'could not record a failed prediction');
    }
  }
}
