// Messages between the pool (API process) and its inference processes, as frame headers
// (ipc-frames.ts); the tensors of a run and of its result travel beside them as raw bytes.
import type { DeviceSpec } from './inference-devices.js';
import type { SandboxUsage } from './sandbox-process.js';
import type { SignatureSpec } from './tensor-validation.js';

/** What a worker needs to open and run one model version. */
export type VersionDescriptor = {
  /** The version's id: the session cache key. */
  id: string;
  /** A local path onnxruntime can open. */
  path: string;
  /** File size: the session's size when its measured memory is smaller (weights dominate). */
  sizeBytes: number;
  inputs: readonly SignatureSpec[];
  /** Load without the synthetic warm-up run (it failed or overran before: not tried again). */
  skipWarmup?: boolean;
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
  /** A run whose outputs are larger than this fails (MODEL_ERROR) instead of crossing the pipe. */
  maxOutputBytes: number;
  /** Largest frame the worker accepts from the pool. */
  maxFrameBytes: number;
};

export type ToWorker =
  /** Sent with the batch's tensors, in the version's input order. */
  | {
      type: 'run';
      jobId: number;
      version: VersionDescriptor;
      /** Only these outputs are sent back (onnxruntime's fetches); absent: all. */
      outputs?: readonly string[];
    }
  | { type: 'warm'; jobId: number; version: VersionDescriptor }
  | { type: 'evict'; versionId: string }
  | { type: 'stats'; jobId: number }
  /** Release the sessions and exit. */
  | { type: 'shutdown' };

export type WorkerStats = {
  pid: number;
  sessions: string[];
  /** The sessions' measured memory (RSS growth while loading and warming each, at least its file). */
  cacheBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  rssBytes: number;
  vmBytes: number;
};

/** Why a run or load failed: the model on these inputs, or memory (the process is then replaced). */
export type FailureKind = 'model' | 'memory';

export type FromWorker =
  | { type: 'ready'; device: string; fallbackReason?: string; usage: SandboxUsage }
  | { type: 'start-failed'; message: string }
  /** Sent with the outputs' tensors. */
  | { type: 'result'; jobId: number; inferenceTimeMs: number; cpuSeconds: number }
  | { type: 'warmed'; jobId: number; warmupError?: string; bytes: number }
  | { type: 'error'; jobId: number; stage: 'load' | 'run'; kind: FailureKind; message: string }
  | { type: 'stats'; jobId: number; stats: WorkerStats };
