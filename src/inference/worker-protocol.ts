// Messages between the pool (API thread) and its inference workers. Tensor payloads are
// ArrayBuffers listed in postMessage's transfer list: moved, not copied, never JSON.
import type { DeviceSpec } from './inference-devices.js';
import type { SignatureSpec } from './tensor-validation.js';
import type { WireTensor } from './tensor-types.js';

/** What a worker needs to open and run one model version. */
export type VersionDescriptor = {
  /** The version's id: the session cache key. */
  id: string;
  /** A local path onnxruntime can open. */
  path: string;
  /** File size, the session cache's size estimate (weights dominate a session's memory). */
  sizeBytes: number;
  inputs: readonly SignatureSpec[];
};

export type WorkerInit = {
  index: number;
  device: DeviceSpec;
  /** Run on CPU when the device's provider cannot start (INFERENCE_DEVICE_FALLBACK). */
  fallbackToCpu: boolean;
  intraOpNumThreads: number;
  cache: { maxEntries: number; maxBytes: number };
  /** Synthetic warm-up inputs larger than this in total are not built (see PoolOptions.maxRequestBytes). */
  warmupMaxBytes: number;
};

export type ToWorker =
  | { type: 'run'; jobId: number; version: VersionDescriptor; tensors: WireTensor[] }
  | { type: 'warm'; jobId: number; version: VersionDescriptor }
  | { type: 'evict'; versionId: string }
  | { type: 'stats'; jobId: number }
  /** Finish what is running, release the sessions, exit. */
  | { type: 'shutdown' };

export type WorkerStats = { sessions: string[]; cacheBytes: number; heapUsedBytes: number; externalBytes: number };

export type FromWorker =
  | { type: 'ready'; device: string; fallbackReason?: string }
  | { type: 'start-failed'; message: string }
  | { type: 'result'; jobId: number; outputs: WireTensor[]; inferenceTimeMs: number }
  | { type: 'warmed'; jobId: number; warmupError?: string }
  | { type: 'error'; jobId: number; stage: 'load' | 'run'; message: string }
  | { type: 'stats'; jobId: number; stats: WorkerStats };
