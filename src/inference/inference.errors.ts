// The inference engine's failures, as AppErrors with a stable `reason` in their details. The
// retryable ones (the pool is full, a worker died, the engine is shutting down) say so with
// `retryable: true`: the same request may well succeed a moment later.
import { AppError, ErrorCode } from '../shared/errors.js';

export const InferenceFailure = {
  /** The version's queue is full. */
  OVERLOADED: 'OVERLOADED',
  /** The worker running the request died (out of memory, fatal error, killed by the watchdog). */
  WORKER_DIED: 'WORKER_DIED',
  /**
   * No answer within the request's timeout: retryable while it waited in the queue; final once
   * the model itself ran past it (the worker is then killed: the same inputs would do it again).
   */
  TIMEOUT: 'TIMEOUT',
  /** The run or load needed more memory than an inference process may have (the process is replaced). */
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  /** The pool is closing or closed. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** onnxruntime rejected the run (the model itself failed on these inputs). */
  MODEL_ERROR: 'MODEL_ERROR',
  /** The model file did not load in the worker. */
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
} as const;
export type InferenceFailure = (typeof InferenceFailure)[keyof typeof InferenceFailure];

const unavailable = (reason: InferenceFailure, message: string, extra: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, message, { reason, retryable: true, ...extra });

export const overloaded = (queued: number) =>
  unavailable(
    InferenceFailure.OVERLOADED,
    `this model version has ${queued} requests waiting, the most allowed; retry shortly`,
    { queued },
  );

export const workerDied = (detail: string) =>
  unavailable(
    InferenceFailure.WORKER_DIED,
    `the inference worker stopped while running this request (${detail}); retry`,
  );

export const timedOut = (timeoutMs: number, stage: 'queued' | 'running' = 'queued') =>
  stage === 'queued'
    ? unavailable(InferenceFailure.TIMEOUT, `inference did not finish within ${timeoutMs} ms`, { timeoutMs, stage })
    : new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        `the model ran longer than the ${timeoutMs} ms deadline on these inputs and was stopped; the same inputs would run as long again`,
        { reason: InferenceFailure.TIMEOUT, retryable: false, timeoutMs, stage },
      );

/** The kernel stopped a worker at its CPU time limit (RLIMIT_CPU) while it ran this. */
export const cpuLimitReached = () =>
  new AppError(
    ErrorCode.SERVICE_UNAVAILABLE,
    'the model used more CPU time than an inference process may have and was stopped; the same inputs would again',
    { reason: InferenceFailure.TIMEOUT, retryable: false, stage: 'running' },
  );

/**
 * The model's load or run needed more memory than its process may have. Final when the process
 * held nothing else (the model alone is too big); retryable when other sessions shared it (a
 * fresh process, which replaces it now, may have room).
 */
export const memoryLimit = (detail: string, retryable: boolean) =>
  new AppError(
    retryable ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.BAD_USER_INPUT,
    `the model needed more memory than an inference process may use: ${detail}`,
    { reason: InferenceFailure.MEMORY_LIMIT, retryable },
  );

export const shuttingDown = () => unavailable(InferenceFailure.SHUTTING_DOWN, 'the inference engine is shutting down');

/** The model failed inside onnxruntime: not retryable, the same input would fail again. */
export const modelError = (detail: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, `the model failed on these inputs: ${detail}`, {
    reason: InferenceFailure.MODEL_ERROR,
    retryable: false,
  });

export const modelLoadFailed = (detail: string) =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, `the model could not be loaded for inference: ${detail}`, {
    reason: InferenceFailure.MODEL_LOAD_FAILED,
    retryable: false,
  });

/** The `reason` of an inference AppError, for the prediction's errorCode. */
export const failureReason = (err: unknown): string | undefined =>
  err instanceof AppError && typeof err.details.reason === 'string' ? err.details.reason : undefined;
