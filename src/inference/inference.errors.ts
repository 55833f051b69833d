// The inference engine's failures, as AppErrors with a stable `reason` in their details. The
// retryable ones (the pool is full, a worker died, the engine is shutting down) say so with
// `retryable: true`: the same request may well succeed a moment later.
import { AppError, ErrorCode } from '../shared/errors.js';

export const InferenceFailure = {
  /** The version's queue is full. */
  OVERLOADED: 'OVERLOADED',
  /** The worker running the request died (out of memory, fatal error, killed by the watchdog). */
  WORKER_DIED: 'WORKER_DIED',
  /** No answer within the request's timeout. */
  TIMEOUT: 'TIMEOUT',
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

export const timedOut = (timeoutMs: number) =>
  unavailable(InferenceFailure.TIMEOUT, `inference did not finish within ${timeoutMs} ms`, { timeoutMs });

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
