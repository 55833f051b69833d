// The inference engine: a pool of sandboxed worker processes, each with its own onnxruntime
// sessions, fed by per-version queues that batch requests dynamically. Every model is untrusted:
// a run past its deadline, a warm-up past its budget or a process past its memory limit is
// killed (SIGKILL) and replaced. See README.md in this folder for the process model, the limits
// and how batching decides.
import { compatibilityKey, concatBatch } from './batching.js';
import { overloaded, shuttingDown, timedOut, workerDied } from './inference.errors.js';
import { workerSettings, type PoolHealth, type PoolOptions, type PoolVersion, type RunResult } from './pool-options.js';
import type { RunOptions } from './pool-options.js';
import { runInSpan } from './run-span.js';
import { Warmups } from './pool-warmups.js';
import { exitCause, PoolWorker, type RunningBatch } from './pool-worker.js';
import { sandboxLimitsAvailable, type SandboxExit } from './sandbox-process.js';
import type { WireTensor } from './tensor-types.js';
import {
  makeVersionQueue,
  readyAt,
  refreshVersionQueue,
  settle,
  takeBatch,
  type Pending,
  type VersionQueue,
} from './version-queue.js';
import type { FromWorker, VersionDescriptor, WorkerStats } from './worker-protocol.js';

export type { PoolHealth, PoolOptions, PoolVersion, RunResult } from './pool-options.js';

export class InferencePool {
  private readonly slots: PoolWorker[] = [];
  private readonly queues = new Map<string, VersionQueue>();
  private nextJobId = 1;
  private closing = false;
  private closed?: Promise<void>;
  private pumpTimer?: NodeJS.Timeout;
  private pumpAt = Infinity;
  private restarts = 0;
  private starting?: Promise<void>;
  private started = false;

  private readonly warmups: Warmups;

  private constructor(private readonly options: PoolOptions) {
    this.warmups = new Warmups(options.warmupBudgetMs ?? 10_000, {
      pump: () => this.pump(),
      jobId: () => this.nextJobId++,
    });
  }

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
    this.starting ??= this.startAll().then(
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

  private async startAll(): Promise<void> {
    const mode = this.options.sandboxLimits ?? 'auto';
    if (mode !== 'off' && !(await sandboxLimitsAvailable())) {
      if (mode === 'required') throw new Error('INFERENCE_SANDBOX_LIMITS=required, but prlimit is not available');
      this.options.logger?.warn({}, 'prlimit not found: inference workers run without OS memory and CPU limits');
    }
    await Promise.all(Array.from({ length: this.options.workers }, (_, i) => this.spawn(i)));
  }

  get size(): number {
    return this.options.workers;
  }

  /** Workers that take work now: up, ready, neither gone nor on their way out. */
  private serving(): PoolWorker[] {
    return this.slots.filter((s) => s?.ready && !s.exited && !s.retired);
  }

  /** Workers up and ready, and how many times one had to be replaced. */
  health(): PoolHealth {
    const ready = this.serving();
    let queued = 0;
    for (const q of this.queues.values()) queued += q.items.length;
    return {
      started: this.started,
      ready: ready.length,
      busy: ready.filter((s) => s.job?.kind === 'batch').length,
      size: this.size,
      restarts: this.restarts,
      devices: ready.map((s) => s.device),
      queued,
    };
  }

  private spawn(index: number): Promise<PoolWorker> {
    const o = this.options;
    const { worker, ready } = PoolWorker.start(index, o.devices[index % o.devices.length], workerSettings(o), {
      onMessage: (w, message, tensors) => this.onMessage(w, message, tensors),
      onExit: (w, exit) => this.onExit(w, exit),
    });
    this.slots[index] = worker;
    return ready.then((w) => {
      if (w.fallbackReason) {
        o.logger?.warn({ worker: index, reason: w.fallbackReason }, 'inference worker fell back to cpu');
      }
      this.pump();
      return w;
    });
  }

  /** A worker is gone: fail what it was doing and, unless closing, put a fresh one in its place. */
  private onExit(slot: PoolWorker, exit: SandboxExit): void {
    const { detail, cause } = exitCause(slot, exit);
    slot.ready = false;
    slot.failAll(cause, workerDied(detail));
    // One that never got ready is not replaced: its start failed, and would fail again.
    if (this.slots[slot.index] !== slot || this.closing || !slot.wasReady) return;
    this.restarts++;
    const entry = { worker: slot.index, detail };
    if (exit.killedFor) this.options.logger?.warn(entry, 'inference worker killed; replacing it');
    else if (slot.retired && exit.code === 0) this.options.logger?.info(entry, 'inference worker left; replacing it');
    else this.options.logger?.error(entry, 'inference worker died; replacing it');
    this.spawn(slot.index).catch((err: Error) => {
      this.options.logger?.error({ worker: slot.index, err }, 'inference worker could not be replaced');
    });
  }

  private onMessage(slot: PoolWorker, message: FromWorker, tensors: WireTensor[]): void {
    if (message.type === 'stats') {
      const call = slot.calls.get(message.jobId);
      slot.calls.delete(message.jobId);
      call?.resolve(message);
      return;
    }
    if (message.type !== 'result' && message.type !== 'warmed' && message.type !== 'error') return;
    const job = slot.job;
    if (!job || job.jobId !== message.jobId) return;
    slot.job = undefined;
    if (job.kind === 'warm') {
      clearTimeout(job.timer);
      if (message.type === 'error' && message.kind === 'memory') this.recycle(slot, 'a warm-up ran out of memory');
      job.resolve(message);
    } else if (message.type !== 'warmed') {
      const why = slot.finishBatch(job, message, tensors, this.options.workerMaxCpuSeconds ?? 3600);
      if (why) this.recycle(slot, why);
    }
    this.pump();
  }

  /**
   * Runs one request: `tensors` already validated against the version's signature, in its input
   * order. They are copied to a worker process as raw bytes.
   *
   * @throws AppError SERVICE_UNAVAILABLE when the queue is full, the worker dies, or the timeout
   *   passes (retryable, except a run that itself went past it: `stage: 'running'`, final);
   *   BAD_USER_INPUT (reason MODEL_ERROR) when onnxruntime rejects the run; reason MEMORY_LIMIT
   *   when the run needed more memory than a worker may have.
   */
  run(version: PoolVersion, tensors: WireTensor[], options: RunOptions = {}): Promise<RunResult> {
    return runInSpan(version, () => this.enqueue(version, tensors, options));
  }

  private enqueue(version: PoolVersion, tensors: WireTensor[], options: RunOptions): Promise<RunResult> {
    if (this.closing) return Promise.reject(shuttingDown());
    if (!this.started) return this.ensureStarted().then(() => this.enqueue(version, tensors, options));
    const queue = this.queueFor(version);
    if (queue.items.length >= this.options.maxQueuePerVersion) return Promise.reject(overloaded(queue.items.length));
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    return new Promise<RunResult>((resolve, reject) => {
      const p: Pending = {
        tensors,
        rows: queue.batchable ? (tensors[0]?.dims[0] ?? 1) : 1,
        // A batch computes one set of outputs: only requests asking for the same ones share it.
        key: queue.batchable ? `${compatibilityKey(tensors)}#${options.outputs?.join(',') ?? '*'}` : '',
        outputs: options.outputs,
        enqueuedAt: performance.now(),
        timeoutMs,
        settled: false,
        resolve,
        reject,
      };
      p.timer = setTimeout(() => {
        const i = queue.items.indexOf(p);
        if (i >= 0) queue.items.splice(i, 1);
        settle(p, timedOut(timeoutMs, i >= 0 ? 'queued' : 'running'));
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

  /** Workers a version occupies now (batches and warm-ups). */
  private occupied(versionId: string): number {
    let n = 0;
    for (const s of this.slots) {
      const job = s?.job;
      if (job && (job.kind === 'batch' ? job.versionId : job.version.id) === versionId) n++;
    }
    return n;
  }

  /**
   * Hands work to idle workers: first the warm-ups waiting for that worker, then queued
   * requests. A version's queue is ready when its oldest request has waited maxQueueDelayMs or
   * it holds a full batch; with a delay of 0 (the default) a request goes at once to an idle
   * worker, and batches form from what arrives while workers are busy. A version already on
   * maxWorkersPerVersion workers waits, whatever is idle: the rest are for other versions.
   */
  private pump(): void {
    if (this.closing) return;
    const now = performance.now();
    const cap = this.options.maxWorkersPerVersion ?? Math.max(1, this.options.workers - 1);
    let nextAt = Infinity;
    for (const slot of this.slots) {
      const warm = slot?.idle ? slot.warmups.shift() : undefined;
      if (warm) this.warmups.start(slot, warm);
    }
    for (;;) {
      const idle = this.slots.filter((s) => s?.idle);
      if (idle.length === 0) break;
      let chosen: VersionQueue | undefined;
      for (const q of this.queues.values()) {
        if (q.items.length === 0 || this.occupied(q.version.id) >= cap) continue;
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

  private dispatch(slot: PoolWorker, q: VersionQueue, requests: Pending[]): void {
    const live = requests.filter((p) => !p.settled);
    if (live.length === 0) return;
    const tensors = live.length === 1 ? live[0].tensors : concatBatch(live.map((p) => p.tensors));
    const jobId = this.nextJobId++;
    const dispatchedAt = performance.now();
    const budget = Math.max(...live.map((p) => p.timeoutMs - (dispatchedAt - p.enqueuedAt)));
    const batch: RunningBatch = { kind: 'batch', jobId, requests: live, versionId: q.version.id, dispatchedAt };
    // Once every caller's deadline has passed nobody waits for the run: it is killed (a thread
    // could only be abandoned with its core still busy; a process is gone in milliseconds).
    batch.watchdog = setTimeout(
      () => {
        this.options.logger?.warn(
          { worker: slot.index, version: q.version.id },
          "inference run passed its callers' deadline; killing its worker",
        );
        slot.kill('the run passed its deadline');
      },
      Math.max(0, budget) + (this.options.watchdogGraceMs ?? 0),
    );
    slot.job = batch;
    slot.send({ type: 'run', jobId, version: this.descriptor(q.version), outputs: live[0].outputs }, tensors);
  }

  private descriptor(v: PoolVersion): VersionDescriptor {
    return {
      id: v.id,
      path: v.path,
      sizeBytes: v.sizeBytes,
      inputs: v.inputs,
      skipWarmup: this.warmups.failed(v.id) !== undefined || undefined,
    };
  }

  /**
   * Loads and warms a version in every worker (when it becomes READY, or before a benchmark), so
   * no request pays for the load. One worker goes first: a warm-up that overruns its budget
   * (INFERENCE_ADMISSION_TIMEOUT_MS) costs one worker, which is killed and replaced, and the
   * version is not warmed again (its later loads skip the synthetic run). Resolves with the
   * warm-up error if the synthetic run failed or overran.
   *
   * @throws AppError (reason MODEL_LOAD_FAILED) when the model does not load; reason MEMORY_LIMIT
   *   when it does not fit in a worker.
   */
  async warm(version: PoolVersion): Promise<{ warmupError?: string }> {
    const known = this.warmups.failed(version.id);
    if (known) return { warmupError: known };
    await this.ensureStarted();
    const slots = this.serving();
    return this.warmups.everywhere(slots, version.id, () => this.descriptor(version));
  }

  /** Drops a version's sessions everywhere (deleted or replaced). */
  evict(versionId: string): void {
    for (const s of this.slots) {
      if (s && s.ready && !s.exited) {
        s.loaded.delete(versionId);
        s.send({ type: 'evict', versionId });
      }
    }
  }

  /** Each worker's cached sessions, memory and process id, for benchmarks, tests and diagnostics. */
  async stats(): Promise<(WorkerStats & { index: number; device: string })[]> {
    await this.ensureStarted();
    const slots = this.slots.filter((s) => s?.ready && !s.exited);
    const answers = await Promise.all(slots.map((s) => s.stats(this.nextJobId++)));
    return answers.map((a, i) => {
      if (a.type !== 'stats') throw new Error('unexpected answer to stats');
      return { ...a.stats, index: slots[i].index, device: slots[i].device };
    });
  }

  /**
   * Takes a worker out of service at once, as a crash would for its callers (an operator's
   * "recycle", fault tests): it is killed, its in-flight requests fail with WORKER_DIED
   * (retryable) and a replacement starts.
   */
  retireWorker(index: number): void {
    const slot = this.slots[index];
    if (slot && !slot.exited) slot.kill('the worker was recycled');
  }

  /** Replaces a worker that just finished its work (it is idle): it leaves, a new one starts. */
  private recycle(slot: PoolWorker, why: string): void {
    if (slot.retired) return;
    slot.retired = true;
    this.options.logger?.info({ worker: slot.index, why }, 'replacing inference worker');
    void slot.stop(1000);
  }

  /**
   * Fails everything queued or running (SHUTTING_DOWN, retryable), then stops every worker:
   * busy ones are killed at once (a run that never ends must not hold a shutdown), idle ones
   * release their sessions and exit, or are killed after `shutdownGraceMs`. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.closeAll();
    return this.closed;
  }

  private async closeAll(): Promise<void> {
    this.closing = true;
    clearTimeout(this.pumpTimer);
    for (const q of this.queues.values()) {
      for (const p of q.items) settle(p, shuttingDown());
      q.items = [];
    }
    await Promise.all(
      this.slots.filter(Boolean).map(async (s) => {
        const busy = !!s.job;
        s.failAll(shuttingDown(), shuttingDown());
        if (s.exited) return;
        if (busy || !s.ready) s.kill('the pool is closing');
        await s.stop(this.options.shutdownGraceMs ?? 2000);
      }),
    );
  }
}
