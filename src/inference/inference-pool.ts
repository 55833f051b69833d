// The inference engine: a pool of worker threads, each with its own onnxruntime sessions, fed by
// per-version queues that batch requests dynamically. See README.md in this folder for why
// threads (not processes), how batching decides, and what happens when a worker dies.
import { Worker } from 'node:worker_threads';
import { compatibilityKey, concatBatch, splitBatch, type BatchingSettings } from './batching.js';
import type { DeviceSpec } from './inference-devices.js';
import { modelError, modelLoadFailed, overloaded, shuttingDown, timedOut, workerDied } from './inference.errors.js';
import type { SignatureSpec } from './tensor-validation.js';
import type { WireTensor } from './tensor-types.js';
import {
  makeVersionQueue,
  readyAt,
  refreshVersionQueue,
  takeBatch,
  type Pending,
  type VersionQueue,
} from './version-queue.js';
import type { FromWorker, ToWorker, VersionDescriptor, WorkerInit, WorkerStats } from './worker-protocol.js';

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
  /** Default per-request timeout (queue + run). */
  timeoutMs: number;
  /** V8 heap cap per worker (worker_threads `resourceLimits`); beyond it the worker is replaced. */
  workerMaxHeapMb: number;
  /**
   * The largest request the API accepts (INFERENCE_MAX_REQUEST_BYTES). A warm-up input bigger
   * than any request can be is not built: a hostile model declaring a fixed [16384, 16384] input
   * would otherwise make every worker allocate a GiB when it becomes READY. Absent: no cap.
   */
  maxRequestBytes?: number;
  /** How long a batch may overrun its timeout before its worker is retired and replaced. */
  watchdogGraceMs?: number;
  /** How long close() waits for runs in flight to return before terminating workers anyway. */
  shutdownGraceMs?: number;
  logger?: PoolLogger;
};

type PoolLogger = {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
};

/** A model version as the pool needs it: where it is, its signature, its batching settings. */
export type PoolVersion = VersionDescriptor & {
  outputs: readonly SignatureSpec[];
  batching?: Partial<BatchingSettings> | null;
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

type Slot = {
  index: number;
  worker: Worker;
  device: string;
  ready: boolean;
  /** The batch it is running, if any: one at a time, so queues fill while workers are busy. */
  batch?: { jobId: number; requests: Pending[]; version: PoolVersion; dispatchedAt: number; watchdog?: NodeJS.Timeout };
  /** Versions this worker has loaded (as far as the pool knows): dispatch prefers them. */
  loaded: Set<string>;
  /** Out-of-band requests (warm-up, stats) waiting for the worker's answer. */
  calls: Map<number, { resolve(m: FromWorker): void; reject(e: Error): void }>;
  exited: boolean;
  /** Replaced (recycled or stuck): takes no work, exits once its native run returns. */
  retired: boolean;
};

/** Where the worker's code is: the .ts file under swc (dev, tests), the compiled .js otherwise. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const fromTs = import.meta.url.endsWith('.ts');
  return fromTs
    ? {
        url: new URL('./inference-worker.ts', import.meta.url),
        execArgv: ['--import', '@swc-node/register/esm-register'],
      }
    : { url: new URL('./inference-worker.js', import.meta.url), execArgv: [] };
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  /** Retired workers still finishing a native run (see retire()). */
  private readonly retiring = new Set<Slot>();
  private readonly queues = new Map<string, VersionQueue>();
  private nextJobId = 1;
  private closing = false;
  private pumpTimer?: NodeJS.Timeout;
  private pumpAt = Infinity;
  private restarts = 0;
  private starting?: Promise<void>;
  private started = false;

  private constructor(private readonly options: PoolOptions) {}

  /**
   * Starts every worker and waits until each has checked its device.
   *
   * @throws Error when a worker cannot start its provider (and fallback is off): saying which.
   */
  static async start(options: PoolOptions): Promise<InferencePool> {
    const pool = new InferencePool(options);
    await pool.ensureStarted();
    return pool;
  }

  /**
   * A pool whose workers start on first use (a run, a warm-up, stats). For processes that may
   * never predict (test servers of other features, one-off scripts); servers start eagerly so
   * that a device that cannot start is reported at start.
   */
  static lazy(options: PoolOptions): InferencePool {
    return new InferencePool(options);
  }

  /** Starts the workers once; a failed start closes the pool and rejects every later use. */
  ensureStarted(): Promise<void> {
    if (this.closing && !this.starting) return Promise.reject(shuttingDown());
    this.starting ??= Promise.all(Array.from({ length: this.options.workers }, (_, i) => this.spawn(i))).then(
      () => {
        this.started = true;
      },
      async (err: unknown) => {
        await this.close();
        throw err;
      },
    );
    return this.starting;
  }

  get size(): number {
    return this.options.workers;
  }

  /** Workers up and ready, and how many times one had to be replaced. */
  health(): { started: boolean; ready: number; size: number; restarts: number; devices: string[]; queued: number } {
    const ready = this.slots.filter((s) => s.ready && !s.exited);
    let queued = 0;
    for (const q of this.queues.values()) queued += q.items.length;
    return {
      started: this.started,
      ready: ready.length,
      size: this.size,
      restarts: this.restarts,
      devices: ready.map((s) => s.device),
      queued,
    };
  }

  private spawn(index: number): Promise<Slot> {
    const entry = workerEntry();
    const device = this.options.devices[index % this.options.devices.length];
    const init: WorkerInit = {
      index,
      device,
      fallbackToCpu: this.options.deviceFallback,
      intraOpNumThreads: this.options.intraOpNumThreads,
      cache: this.options.sessionCache,
      warmupMaxBytes: this.options.maxRequestBytes ?? Number.POSITIVE_INFINITY,
    };
    const worker = new Worker(entry.url, {
      workerData: init,
      execArgv: entry.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: this.options.workerMaxHeapMb },
      name: `inference-${index}`,
    });
    const slot: Slot = {
      index,
      worker,
      device: device.label,
      ready: false,
      loaded: new Set(),
      calls: new Map(),
      exited: false,
      retired: false,
    };
    this.slots[index] = slot;
    return new Promise<Slot>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          slot.ready = true;
          slot.device = message.device;
          if (message.fallbackReason) {
            this.options.logger?.warn(
              { worker: index, reason: message.fallbackReason },
              'inference worker fell back to cpu',
            );
          }
          resolve(slot);
          this.pump();
        } else if (message.type === 'start-failed') {
          reject(new Error(`inference worker ${index}: ${message.message}`));
          void worker.terminate();
        } else this.onMessage(slot, message);
      });
      worker.on('error', (err) => {
        this.options.logger?.error({ worker: index, err }, 'inference worker failed');
        if (!slot.ready) reject(new Error(`inference worker ${index} failed to start: ${err.message}`));
        // Duck-typed: the error may come from another realm (a Jest VM context), where instanceof fails.
        const { code, message } = err as { code?: string; message?: string };
        this.onExit(slot, [code, message].filter(Boolean).join(': ') || 'error');
      });
      worker.on('exit', (code) => {
        if (!slot.ready) reject(new Error(`inference worker ${index} exited during start (code ${code})`));
        this.onExit(slot, `exit code ${code}`);
      });
    });
  }

  /** A worker is gone: fail what it was doing (retryable) and put a fresh one in its place. */
  private onExit(slot: Slot, detail: string): void {
    if (slot.exited) return;
    slot.exited = true;
    if (slot.retired) {
      // Already failed over and replaced by retire().
      this.retiring.delete(slot);
      return;
    }
    const wasReady = slot.ready;
    slot.ready = false;
    if (slot.batch) {
      clearTimeout(slot.batch.watchdog);
      for (const p of slot.batch.requests) this.settle(p, workerDied(detail));
      slot.batch = undefined;
    }
    for (const call of slot.calls.values()) call.reject(workerDied(detail));
    slot.calls.clear();
    if (this.closing || !wasReady) return;
    this.restarts++;
    this.options.logger?.warn({ worker: slot.index, detail }, 'inference worker died; replacing it');
    this.spawn(slot.index).catch((err: Error) => {
      this.options.logger?.error({ worker: slot.index, err }, 'inference worker could not be replaced');
    });
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (message.type === 'result' || (message.type === 'error' && slot.batch?.jobId === message.jobId)) {
      const batch = slot.batch;
      if (!batch || batch.jobId !== message.jobId) return;
      clearTimeout(batch.watchdog);
      slot.batch = undefined;
      if (message.type === 'result') {
        slot.loaded.add(batch.version.id);
        this.deliver(slot, batch, message.outputs, message.inferenceTimeMs);
      } else {
        const err = message.stage === 'load' ? modelLoadFailed(message.message) : modelError(message.message);
        for (const p of batch.requests) this.settle(p, err);
      }
      this.pump();
      return;
    }
    if ('jobId' in message) {
      const call = slot.calls.get(message.jobId);
      if (!call) return;
      slot.calls.delete(message.jobId);
      call.resolve(message);
    }
  }

  private deliver(slot: Slot, batch: NonNullable<Slot['batch']>, outputs: WireTensor[], inferenceTimeMs: number): void {
    const { requests } = batch;
    const base = { device: slot.device, batchSize: requests.length, inferenceTimeMs };
    if (requests.length === 1) {
      const p = requests[0];
      this.settle(p, null, { ...base, outputs, queueTimeMs: batch.dispatchedAt - p.enqueuedAt });
      return;
    }
    let parts: WireTensor[][];
    try {
      parts = splitBatch(
        outputs,
        requests.map((p) => p.rows),
      );
    } catch (err) {
      for (const p of requests) this.settle(p, modelError((err as Error).message));
      return;
    }
    requests.forEach((p, i) =>
      this.settle(p, null, { ...base, outputs: parts[i], queueTimeMs: batch.dispatchedAt - p.enqueuedAt }),
    );
  }

  private settle(p: Pending, err: Error | null, result?: RunResult): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(result!);
  }

  /**
   * Runs one request: `tensors` already validated against the version's signature, in its input
   * order. Their ArrayBuffers are transferred to a worker (detached here).
   *
   * @throws AppError SERVICE_UNAVAILABLE (retryable) when the queue is full, the worker dies, or
   *   the timeout passes; BAD_USER_INPUT (reason MODEL_ERROR) when onnxruntime rejects the run.
   */
  run(version: PoolVersion, tensors: WireTensor[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
    if (this.closing) return Promise.reject(shuttingDown());
    if (!this.started) return this.ensureStarted().then(() => this.run(version, tensors, options));
    const queue = this.queueFor(version);
    if (queue.items.length >= this.options.maxQueuePerVersion) return Promise.reject(overloaded(queue.items.length));
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    return new Promise<RunResult>((resolve, reject) => {
      const p: Pending = {
        tensors,
        rows: queue.batchable ? (tensors[0]?.dims[0] ?? 1) : 1,
        key: queue.batchable ? compatibilityKey(tensors) : '',
        enqueuedAt: performance.now(),
        timeoutMs,
        settled: false,
        resolve,
        reject,
      };
      p.timer = setTimeout(() => {
        const i = queue.items.indexOf(p);
        if (i >= 0) queue.items.splice(i, 1);
        this.settle(p, timedOut(timeoutMs));
      }, timeoutMs);
      queue.items.push(p);
      this.pump();
    });
  }

  private queueFor(version: PoolVersion): VersionQueue {
    let q = this.queues.get(version.id);
    if (!q) {
      q = makeVersionQueue(version, this.options.batching);
      this.queues.set(version.id, q);
    } else refreshVersionQueue(q, version, this.options.batching);
    return q;
  }

  /**
   * Hands queued work to idle workers. A version's queue is ready when its oldest request has
   * waited maxQueueDelayMs or it holds a full batch; with a delay of 0 (the default) a request
   * goes at once to an idle worker, and batches form from what arrives while workers are busy.
   */
  private pump(): void {
    if (this.closing) return;
    const now = performance.now();
    let nextAt = Infinity;
    for (;;) {
      const idle = this.slots.filter((s) => s && s.ready && !s.exited && !s.batch);
      if (idle.length === 0) break;
      let chosen: VersionQueue | undefined;
      for (const q of this.queues.values()) {
        if (q.items.length === 0) continue;
        const dueAt = readyAt(q);
        if (dueAt > now) {
          nextAt = Math.min(nextAt, dueAt);
          continue;
        }
        if (!chosen || q.items[0].enqueuedAt < chosen.items[0].enqueuedAt) chosen = q;
      }
      if (!chosen) break;
      const slot = idle.find((s) => s.loaded.has(chosen.version.id)) ?? idle[0];
      this.dispatch(slot, chosen, takeBatch(chosen));
    }
    if (nextAt < Infinity && nextAt < this.pumpAt) {
      clearTimeout(this.pumpTimer);
      this.pumpAt = nextAt;
      this.pumpTimer = setTimeout(
        () => {
          this.pumpAt = Infinity;
          this.pump();
        },
        Math.max(0, nextAt - now),
      );
    }
  }

  private dispatch(slot: Slot, q: VersionQueue, requests: Pending[]): void {
    const live = requests.filter((p) => !p.settled);
    if (live.length === 0) return;
    const tensors = live.length === 1 ? live[0].tensors : concatBatch(live.map((p) => p.tensors));
    const jobId = this.nextJobId++;
    const dispatchedAt = performance.now();
    const budget = Math.max(...live.map((p) => p.timeoutMs - (dispatchedAt - p.enqueuedAt)));
    const batch: NonNullable<Slot['batch']> = { jobId, requests: live, version: q.version, dispatchedAt };
    // A run that overruns every caller's timeout by the grace period is stuck (or the model is
    // pathological): the worker is retired and replaced, so the pool does not lose capacity.
    batch.watchdog = setTimeout(
      () => {
        this.options.logger?.error(
          { worker: slot.index, version: q.version.id },
          'inference run overran its timeout; replacing the worker',
        );
        this.retire(slot, 'the run overran its timeout');
      },
      budget + (this.options.watchdogGraceMs ?? 10_000),
    );
    slot.batch = batch;
    const transfer = tensors.flatMap((t) => (t.data instanceof ArrayBuffer ? [t.data] : []));
    this.post(slot, { type: 'run', jobId, version: descriptor(q.version), tensors }, transfer);
  }

  private post(slot: Slot, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    slot.worker.postMessage(message, transfer);
  }

  private call(slot: Slot, make: (jobId: number) => ToWorker): Promise<FromWorker> {
    const jobId = this.nextJobId++;
    return new Promise<FromWorker>((resolve, reject) => {
      slot.calls.set(jobId, { resolve, reject });
      this.post(slot, make(jobId));
    });
  }

  /**
   * Loads and warms a version in every worker (when it becomes READY, or before a benchmark), so
   * no request pays for the load. Resolves with the warm-up error if the synthetic run failed.
   *
   * @throws AppError (reason MODEL_LOAD_FAILED) when the model does not load.
   */
  async warm(version: PoolVersion): Promise<{ warmupError?: string }> {
    await this.ensureStarted();
    const slots = this.slots.filter((s) => s.ready && !s.exited);
    const answers = await Promise.all(
      slots.map((s) => this.call(s, (jobId) => ({ type: 'warm', jobId, version: descriptor(version) }))),
    );
    let warmupError: string | undefined;
    for (const [i, a] of answers.entries()) {
      if (a.type === 'error') throw modelLoadFailed(a.message);
      if (a.type === 'warmed') {
        slots[i].loaded.add(version.id);
        warmupError ??= a.warmupError;
      }
    }
    return { warmupError };
  }

  /** Drops a version's sessions everywhere (deleted or replaced). */
  evict(versionId: string): void {
    for (const s of this.slots) {
      if (s && !s.exited) {
        s.loaded.delete(versionId);
        this.post(s, { type: 'evict', versionId });
      }
    }
  }

  /** Each worker's cached sessions and heap, for the memory benchmark and diagnostics. */
  async stats(): Promise<(WorkerStats & { index: number; device: string })[]> {
    await this.ensureStarted();
    const slots = this.slots.filter((s) => s.ready && !s.exited);
    const answers = await Promise.all(slots.map((s) => this.call(s, (jobId) => ({ type: 'stats', jobId }))));
    return answers.map((a, i) => {
      if (a.type !== 'stats') throw new Error('unexpected answer to stats');
      return { ...a.stats, index: slots[i].index, device: slots[i].device };
    });
  }

  /**
   * Takes a worker out of service at once, as a crash would for its callers (an operator's
   * "recycle", the watchdog, fault tests): its in-flight requests fail with WORKER_DIED
   * (retryable) and a replacement starts now. The old thread is only asked to exit, and does so
   * when its native run returns: terminating a worker_thread while an onnxruntime-node
   * `session.run` is in flight aborts the whole process ("terminate called after throwing an
   * instance of 'Napi::Error'", seen with onnxruntime-node 1.30), so the pool never does that.
   */
  retireWorker(index: number): void {
    const slot = this.slots[index];
    if (slot && !slot.exited) this.retire(slot, 'the worker was recycled');
  }

  private retire(slot: Slot, detail: string): void {
    if (slot.retired || slot.exited) return;
    slot.retired = true;
    slot.ready = false;
    this.retiring.add(slot);
    if (slot.batch) {
      clearTimeout(slot.batch.watchdog);
      for (const p of slot.batch.requests) this.settle(p, workerDied(detail));
      slot.batch = undefined;
    }
    for (const call of slot.calls.values()) call.reject(workerDied(detail));
    slot.calls.clear();
    this.post(slot, { type: 'shutdown' });
    if (this.closing) return;
    this.restarts++;
    this.options.logger?.warn({ worker: slot.index, detail }, 'inference worker retired; replacing it');
    this.spawn(slot.index).catch((err: Error) => {
      this.options.logger?.error({ worker: slot.index, err }, 'inference worker could not be replaced');
    });
  }

  /**
   * Fails everything queued or running (SHUTTING_DOWN, retryable), then stops every worker:
   * each is asked to exit once its native run returns (see retireWorker), and only one still
   * running after `shutdownGraceMs` is terminated. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.pumpTimer);
    for (const q of this.queues.values()) {
      for (const p of q.items) this.settle(p, shuttingDown());
      q.items = [];
    }
    const all = [...this.slots.filter(Boolean), ...this.retiring];
    await Promise.all(
      all.map(async (s) => {
        if (s.batch) {
          clearTimeout(s.batch.watchdog);
          for (const p of s.batch.requests) this.settle(p, shuttingDown());
        }
        for (const c of s.calls.values()) c.reject(shuttingDown());
        if (s.exited) return;
        const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
        this.post(s, { type: 'shutdown' });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), this.options.shutdownGraceMs ?? 10_000);
        });
        if ((await Promise.race([exited, late])) === 'late') await s.worker.terminate();
        clearTimeout(timer);
      }),
    );
  }
}

const descriptor = (v: PoolVersion): VersionDescriptor => ({
  id: v.id,
  path: v.path,
  sizeBytes: v.sizeBytes,
  inputs: v.inputs,
});
