// The pool's settings and the shapes it deals in, and how they become one worker's settings.
import type { BatchingSettings } from './batching.js';
import type { DeviceSpec } from './inference-devices.js';
import type { SandboxLimits, SandboxLimitsMode } from './sandbox-process.js';
import type { SignatureSpec } from './tensor-validation.js';
import type { WireTensor } from './tensor-types.js';
import type { VersionDescriptor, WorkerInit } from './worker-protocol.js';

/** The pool at a glance: readiness, the metrics' gauges, `/health/ready`. */
export type PoolHealth = {
  started: boolean;
  ready: number;
  /** Workers running a batch now. */
  busy: number;
  size: number;
  restarts: number;
  devices: string[];
  /** Requests waiting in the version queues. */
  queued: number;
};

/** What every worker process of a pool starts with (pool-worker.ts). */
export type PoolWorkerSettings = {
  init: Omit<WorkerInit, 'index' | 'device'>;
  maxHeapMb: number;
  limitsMode: SandboxLimitsMode;
  limits: SandboxLimits;
};

const MB = 2 ** 20;

export type PoolOptions = {
  workers: number;
  devices: DeviceSpec[];
  deviceFallback: boolean;
  intraOpNumThreads: number;
  sessionCache: { maxEntries: number; maxBytes: number };
  /** Engine defaults; a version's own settings (ModelVersion.batching) win. */
  batching: BatchingSettings;
  /** Requests waiting per version before callers get OVERLOADED. */
  maxQueuePerVersion: number;
  /** Default per-request timeout (queue + run); a run past it is killed. */
  timeoutMs: number;
  /** V8 heap cap per worker process (`--max-old-space-size`). */
  workerMaxHeapMb: number;
  /**
   * The largest request the API accepts (INFERENCE_MAX_REQUEST_BYTES). A warm-up input bigger
   * than any request can be is not built: a hostile model declaring a fixed [16384, 16384] input
   * would otherwise make every worker allocate a GiB when it becomes READY. Absent: no cap.
   */
  maxRequestBytes?: number;
  /** Largest outputs a run may return (INFERENCE_MAX_RESPONSE_BYTES); default 64 MiB. */
  maxOutputBytes?: number;
  /**
   * How many workers one version may occupy at once (INFERENCE_MAX_WORKERS_PER_VERSION); default
   * all but one, so a version whose runs never end cannot hold every worker.
   */
  maxWorkersPerVersion?: number;
  /** Time a warm-up (load + one synthetic run) may take before its worker is killed; default 10 s. */
  warmupBudgetMs?: number;
  /** Memory (address space, RLIMIT_AS) a worker may add beyond its idle size; default 4096 MB. */
  workerMaxMemoryMb?: number;
  /** CPU seconds (RLIMIT_CPU) a worker may use; it is replaced, when idle, at 80%. Default 3600. */
  workerMaxCpuSeconds?: number;
  /** How OS limits are applied (INFERENCE_SANDBOX_LIMITS); default `auto`. */
  sandboxLimits?: SandboxLimitsMode;
  /** How long past every caller's deadline a run may go before its worker is killed; default 0. */
  watchdogGraceMs?: number;
  /** How long close() lets idle workers release their sessions before killing them; default 2 s. */
  shutdownGraceMs?: number;
  logger?: PoolLogger;
};

export type PoolLogger = {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
};

/** A model version as the pool needs it: where it is, its signature, its batching settings. */
export type PoolVersion = VersionDescriptor & {
  outputs: readonly SignatureSpec[];
  batching?: Partial<BatchingSettings> | null;
};

export type RunOptions = {
  /** Past this the run fails SERVICE_UNAVAILABLE (the pool's timeout by default). */
  timeoutMs?: number;
  /** Only these outputs come back (output-selection.ts); all of them by default. */
  outputs?: readonly string[];
};

export type RunResult = {
  outputs: WireTensor[];
  /** Where it ran, e.g. `cpu` or `webgpu:0`. */
  device: string;
  /** How many requests shared the onnxruntime run (1 when it ran alone). */
  batchSize: number;
  /** onnxruntime's run time for the whole batch. */
  inferenceTimeMs: number;
  /** Time between enqueue and dispatch to a worker. */
  queueTimeMs: number;
};

/** What each worker is started with, from the pool's options (defaults applied here). */
export function workerSettings(o: PoolOptions): PoolWorkerSettings {
  return {
    init: {
      fallbackToCpu: o.deviceFallback,
      intraOpNumThreads: o.intraOpNumThreads,
      cache: o.sessionCache,
      // JSON has no Infinity: the largest safe integer stands for "no cap".
      warmupMaxBytes: o.maxRequestBytes ?? Number.MAX_SAFE_INTEGER,
      maxOutputBytes: o.maxOutputBytes ?? 64 * MB,
      maxFrameBytes: 2 ** 32 - 1,
    },
    maxHeapMb: o.workerMaxHeapMb,
    limitsMode: o.sandboxLimits ?? 'auto',
    limits: {
      extraAddressSpaceBytes: (o.workerMaxMemoryMb ?? 4096) * MB,
      cpuSeconds: o.workerMaxCpuSeconds ?? 3600,
    },
  };
}
