import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseDevices, type DeviceSpec } from './inference-devices.js';

/**
 * The inference engine's settings. src/config.ts spreads `INFERENCE_ENV` into its schema and
 * calls `inferenceConfigFrom`, so the environment is still parsed once, with one error format.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes'].includes(v));

export const INFERENCE_ENV = {
  /** Worker processes; default one per core (or one per listed GPU device). */
  INFERENCE_WORKERS: int(1, 256).optional(),
  /** Devices workers run on, e.g. `cpu`, `webgpu:0`, `cuda:0,cuda:1` (worker i takes i mod n). */
  INFERENCE_DEVICES: z
    .string()
    .default('cpu')
    .superRefine((v, ctx) => {
      try {
        parseDevices(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** Run a worker on CPU when its device's provider cannot start (otherwise start fails). */
  INFERENCE_DEVICE_FALLBACK: flag(false),
  /** onnxruntime intra-op threads per session; default cores / workers (at least 1). */
  INFERENCE_INTRA_OP_THREADS: int(1, 256).optional(),
  INFERENCE_SESSION_CACHE_MAX: int(1, 10_000).default(16),
  INFERENCE_SESSION_CACHE_MAX_MB: int(1, 1_000_000).default(2048),
  INFERENCE_BATCHING: flag(true),
  INFERENCE_MAX_BATCH_SIZE: int(1, 65_536).default(32),
  /** How long a request may wait for others to batch with; 0: only what queues while busy. */
  INFERENCE_MAX_QUEUE_DELAY_MS: int(0, 10_000).default(0),
  INFERENCE_MAX_QUEUE: int(1, 1_000_000).default(256),
  INFERENCE_TIMEOUT_MS: int(1, 3_600_000).default(30_000),
  INFERENCE_MAX_REQUEST_BYTES: int(1, 2 ** 31 - 1).default(16 * 2 ** 20),
  // At least 64: under the development TypeScript loader its module-loading thread shares the cap.
  INFERENCE_WORKER_MAX_HEAP_MB: int(64, 65_536).default(512),
  /** `eager`: workers start with the process (a bad device fails the start); `lazy`: on first use. */
  INFERENCE_START: z.enum(['eager', 'lazy']).default('eager'),
  /** Largest outputs one run may return (bytes); a model producing more fails with MODEL_ERROR. */
  INFERENCE_MAX_RESPONSE_BYTES: int(1, 2 ** 31 - 1).default(64 * 2 ** 20),
  /** Workers one version may occupy at once; default all but one (a never-ending model cannot take them all). */
  INFERENCE_MAX_WORKERS_PER_VERSION: int(1, 256).optional(),
  /** Memory (address space, RLIMIT_AS) an inference process may add beyond its idle size. */
  INFERENCE_WORKER_MAX_MEMORY_MB: int(256, 1_048_576).default(4096),
  /** CPU seconds (RLIMIT_CPU) per inference process; it is replaced, when idle, at 80%. */
  INFERENCE_WORKER_MAX_CPU_SECONDS: int(60, 31_536_000).default(3600),
  /** OS limits on sandbox processes: `auto` where prlimit exists, `required` to refuse to start without, `off`. */
  INFERENCE_SANDBOX_LIMITS: z.enum(['auto', 'required', 'off']).default('auto'),
  /** Admission: wall time to load an upload and run it once on its smallest inputs (warm-up too). */
  INFERENCE_ADMISSION_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  /** Admission: memory that load and run may take beyond an idle sandbox (MB). */
  INFERENCE_ADMISSION_MAX_MEMORY_MB: int(16, 1_048_576).default(2048),
  /** Uploads validated at once by one API process (each in its own sandbox process). */
  INFERENCE_VALIDATION_CONCURRENCY: int(1, 64).default(1),
  /** Versions one publisher may have PROCESSING at once, across API keys and replicas. */
  INFERENCE_VALIDATIONS_PER_USER: int(1, 1000).default(2),
};

export type InferenceSettings = {
  inference: {
    workers: number;
    devices: DeviceSpec[];
    deviceFallback: boolean;
    intraOpNumThreads: number;
    sessionCache: { maxEntries: number; maxBytes: number };
    batching: { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number };
    maxQueuePerVersion: number;
    timeoutMs: number;
    maxRequestBytes: number;
    workerMaxHeapMb: number;
    start: 'eager' | 'lazy';
    maxOutputBytes: number;
    maxWorkersPerVersion?: number;
    workerMaxMemoryMb: number;
    workerMaxCpuSeconds: number;
    sandboxLimits: 'auto' | 'required' | 'off';
    /** Warm-ups run under the admission time budget. */
    warmupBudgetMs: number;
    admission: { timeoutMs: number; maxMemoryMb: number; concurrency: number; perUser: number };
  };
};

type InferenceEnv = z.output<z.ZodObject<typeof INFERENCE_ENV>>;

export function inferenceConfigFrom(e: InferenceEnv, cores = availableParallelism()): InferenceSettings {
  const devices = parseDevices(e.INFERENCE_DEVICES);
  const allCpu = devices.every((d) => d.kind === 'cpu');
  const workers = e.INFERENCE_WORKERS ?? (allCpu ? cores : devices.length);
  return {
    inference: {
      workers,
      devices,
      deviceFallback: e.INFERENCE_DEVICE_FALLBACK,
      // workers × threads ≈ cores: more would make the workers' onnxruntime pools fight.
      intraOpNumThreads: e.INFERENCE_INTRA_OP_THREADS ?? Math.max(1, Math.floor(cores / workers)),
      sessionCache: { maxEntries: e.INFERENCE_SESSION_CACHE_MAX, maxBytes: e.INFERENCE_SESSION_CACHE_MAX_MB * 2 ** 20 },
      batching: {
        enabled: e.INFERENCE_BATCHING,
        maxBatchSize: e.INFERENCE_MAX_BATCH_SIZE,
        maxQueueDelayMs: e.INFERENCE_MAX_QUEUE_DELAY_MS,
      },
      maxQueuePerVersion: e.INFERENCE_MAX_QUEUE,
      timeoutMs: e.INFERENCE_TIMEOUT_MS,
      maxRequestBytes: e.INFERENCE_MAX_REQUEST_BYTES,
      workerMaxHeapMb: e.INFERENCE_WORKER_MAX_HEAP_MB,
      start: e.INFERENCE_START,
      maxOutputBytes: e.INFERENCE_MAX_RESPONSE_BYTES,
      maxWorkersPerVersion: e.INFERENCE_MAX_WORKERS_PER_VERSION,
      workerMaxMemoryMb: e.INFERENCE_WORKER_MAX_MEMORY_MB,
      workerMaxCpuSeconds: e.INFERENCE_WORKER_MAX_CPU_SECONDS,
      sandboxLimits: e.INFERENCE_SANDBOX_LIMITS,
      warmupBudgetMs: e.INFERENCE_ADMISSION_TIMEOUT_MS,
      admission: {
        timeoutMs: e.INFERENCE_ADMISSION_TIMEOUT_MS,
        maxMemoryMb: e.INFERENCE_ADMISSION_MAX_MEMORY_MB,
        concurrency: e.INFERENCE_VALIDATION_CONCURRENCY,
        perUser: e.INFERENCE_VALIDATIONS_PER_USER,
      },
    },
  };
}

/** Defaults, for code that builds services without a full config (schema emission, unit tests). */
export function defaultInferenceSettings(): InferenceSettings {
  return inferenceConfigFrom(z.object(INFERENCE_ENV).parse({}));
}
