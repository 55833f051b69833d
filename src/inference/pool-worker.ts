// One inference worker as the pool sees it: a sandbox process (sandbox-process.ts) running
// inference-worker.ts, its start-up handshake and limits, and what it is doing now. Scheduling
// (which batch or warm-up goes where, deadlines) is the pool's; this file only owns the process.
import type { DeviceSpec } from './inference-devices.js';
import { cpuLimitReached, memoryLimit, modelError, modelLoadFailed, workerDied } from './inference.errors.js';
import type { Frame } from './ipc-frames.js';
import { cleanRuntimeMessage, isAllocationFailure } from './runtime-message.js';
import { SandboxProcess, sandboxEntry, type SandboxExit } from './sandbox-process.js';
import type { WireTensor } from './tensor-types.js';
import { deliverBatch, settle, type Pending } from './version-queue.js';
import type { PoolWorkerSettings } from './pool-options.js';
import type { FromWorker, ToWorker, VersionDescriptor, WorkerInit } from './worker-protocol.js';

/** A batch running in a worker: one onnxruntime run for these requests of one version. */
export type RunningBatch = {
  kind: 'batch';
  jobId: number;
  requests: Pending[];
  versionId: string;
  dispatchedAt: number;
  watchdog?: NodeJS.Timeout;
};

/** A warm-up waiting for, or running in, a worker. */
export type WarmCall = {
  kind: 'warm';
  jobId: number;
  version: VersionDescriptor;
  budgetMs: number;
  resolve(answer: FromWorker): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
};

export type WorkerEvents = {
  onMessage(worker: PoolWorker, message: FromWorker, tensors: WireTensor[]): void;
  onExit(worker: PoolWorker, exit: SandboxExit): void;
};

export class PoolWorker {
  device: string;
  ready = false;
  /** It got ready once: a worker that dies after that is replaced, one that fails to start is not. */
  wasReady = false;
  /** Set when the device's provider failed and the worker runs on CPU instead. */
  fallbackReason?: string;
  exited = false;
  /** Replaced: takes no more work (it is being killed, or leaves once idle). */
  retired = false;
  /** What it runs now: one thing at a time, so queues fill while workers are busy. */
  job?: RunningBatch | WarmCall;
  /** Warm-ups for this worker, run when it is next idle (each under its own budget from then). */
  readonly warmups: WarmCall[] = [];
  /** Versions it has loaded (as far as the pool knows): dispatch prefers them. */
  readonly loaded = new Set<string>();
  /** Stats requests waiting for the worker's answer (they do not occupy it). */
  readonly calls = new Map<number, { resolve(m: FromWorker): void; reject(e: Error): void }>();
  /** CPU seconds it had used at its last answer, against its RLIMIT_CPU. */
  cpuSeconds = 0;
  /** Whether OS limits were applied (false where prlimit is missing and the mode allows it). */
  limited = false;
  private readonly process: SandboxProcess;

  private constructor(
    readonly index: number,
    device: DeviceSpec,
    settings: PoolWorkerSettings,
    events: WorkerEvents,
    handshake: { resolve(): void; reject(err: Error): void },
  ) {
    this.device = device.label;
    const init: WorkerInit = { ...settings.init, index, device };
    this.process = SandboxProcess.spawn({
      entry: sandboxEntry(import.meta.url, 'inference-worker'),
      init,
      maxHeapMb: settings.maxHeapMb,
      // Outputs are bounded by maxOutputBytes; the rest of a frame is its small header.
      maxFrameBytes: settings.init.maxOutputBytes + 2 ** 20,
      onFrame: ({ header, tensors }: Frame) => {
        const message = header as FromWorker;
        if (this.ready) {
          events.onMessage(this, message, tensors);
          return;
        }
        if (message.type === 'start-failed') {
          handshake.reject(new Error(`inference worker ${index}: ${message.message}`));
          this.kill('its device did not start');
        } else if (message.type === 'ready') {
          this.device = message.device;
          this.fallbackReason = message.fallbackReason;
          this.cpuSeconds = message.usage.cpuSeconds;
          this.process.limit(settings.limitsMode, settings.limits, message.usage).then(
            (limited) => {
              this.limited = limited;
              this.ready = !this.exited;
              this.wasReady = this.ready;
              if (this.ready) handshake.resolve();
            },
            (err: Error) => {
              handshake.reject(new Error(`inference worker ${index}: ${err.message}`));
              this.kill('its limits could not be applied');
            },
          );
        }
      },
      onExit: (exit) => {
        this.exited = true;
        const wasReady = this.ready;
        this.ready = false;
        if (!wasReady) {
          const why = exit.killedFor ?? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`);
          handshake.reject(new Error(`inference worker ${index} exited during start (${why}) ${exit.stderr}`.trim()));
        }
        events.onExit(this, exit);
      },
    });
  }

  /** Spawns a worker; `ready` resolves once its device answered and its limits are in place. */
  static start(
    index: number,
    device: DeviceSpec,
    settings: PoolWorkerSettings,
    events: WorkerEvents,
  ): { worker: PoolWorker; ready: Promise<PoolWorker> } {
    let worker!: PoolWorker;
    const ready = new Promise<PoolWorker>((resolve, reject) => {
      worker = new PoolWorker(index, device, settings, events, { resolve: () => resolve(worker), reject });
    });
    return { worker, ready };
  }

  get pid(): number {
    return this.process.pid;
  }

  get idle(): boolean {
    return this.ready && !this.exited && !this.retired && !this.job;
  }

  send(message: ToWorker, tensors: readonly WireTensor[] = []): void {
    this.process.send(message, tensors);
  }

  /** SIGKILL: the worker is gone in milliseconds whatever it runs (onExit follows). */
  kill(reason: string): void {
    this.retired = true;
    this.process.kill(reason);
  }

  /** Asks an idle worker to release its sessions and exit; killed if it has not after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => this.kill('it did not exit when asked'), graceMs);
    await this.process.exited;
    clearTimeout(timer);
  }

  /** Its stats (sent at once: they do not occupy it, and come after whatever it runs now). */
  /**
   * A batch's answer: its callers get their rows, or the failure. Returns why this worker should
   * now be replaced (out of memory, most of its CPU time limit used), if it should.
   */
  finishBatch(
    job: RunningBatch,
    answer: Extract<FromWorker, { type: 'result' | 'error' }>,
    tensors: WireTensor[],
    cpuLimitSeconds: number,
  ): string | undefined {
    clearTimeout(job.watchdog);
    if (answer.type === 'error') {
      const err = runFailure(this, job, answer);
      for (const p of job.requests) settle(p, err);
      if (answer.kind === 'memory') return 'a run ran out of memory';
    } else {
      this.loaded.add(job.versionId);
      this.cpuSeconds = answer.cpuSeconds;
      deliverBatch(job.requests, tensors, {
        versionId: job.versionId,
        device: this.device,
        inferenceTimeMs: answer.inferenceTimeMs,
        dispatchedAt: job.dispatchedAt,
      });
    }
    if (this.limited && this.cpuSeconds > 0.8 * cpuLimitSeconds) return 'it used most of its CPU time limit';
    return undefined;
  }

  stats(jobId: number): Promise<FromWorker> {
    return new Promise<FromWorker>((resolve, reject) => {
      this.calls.set(jobId, { resolve, reject });
      this.send({ type: 'stats', jobId });
    });
  }

  /**
   * Fails all it holds: its batch or warm-up (callers already past their deadline keep their
   * TIMEOUT), the warm-ups queued for it, its stats calls.
   */
  failAll(err: Error, callsErr: Error): void {
    const job = this.job;
    this.job = undefined;
    if (job?.kind === 'batch') {
      clearTimeout(job.watchdog);
      for (const p of job.requests) settle(p, err);
    } else if (job) {
      clearTimeout(job.timer);
      job.reject(err);
    }
    for (const w of this.warmups.splice(0)) w.reject(err);
    for (const call of this.calls.values()) call.reject(callsErr);
    this.calls.clear();
  }
}

/** What a failed run's answer means for its callers. */
export function runFailure(
  worker: PoolWorker,
  batch: RunningBatch,
  answer: Extract<FromWorker, { type: 'error' }>,
): Error {
  const text = cleanRuntimeMessage(answer.message);
  if (answer.kind !== 'memory') return answer.stage === 'load' ? modelLoadFailed(text) : modelError(text);
  // Other sessions in the process may be what filled it: then a fresh process may do.
  const shared = [...worker.loaded].some((id) => id !== batch.versionId);
  return memoryLimit(text, shared);
}

/**
 * What a worker's exit means for the requests it ran: out of memory (its stderr says so: V8's
 * heap or an allocation the runtime could not make) or simply gone (killed, crashed).
 */
export function exitCause(worker: PoolWorker, exit: SandboxExit): { detail: string; cause: Error } {
  const detail = exitDetail(exit);
  // The pool replaces a worker at 80% of its CPU limit, so one that reaches it did so on one run.
  if (exit.signal === 'SIGXCPU') return { detail, cause: cpuLimitReached() };
  const oom = isAllocationFailure(exit.stderr);
  return { detail, cause: oom ? memoryLimit(detail, worker.loaded.size > 1) : workerDied(detail) };
}

// How a worker ended, in a few words: how it was stopped, and the line of its stderr that says
// why (V8's or the C++ runtime's fatal message) — not its stack trace, which names server paths.
function exitDetail(exit: SandboxExit): string {
  const how = exit.killedFor ?? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`);
  if (exit.killedFor) return how;
  const line = exit.stderr.split('\n').find((l) => FATAL_LINE.test(l));
  return line ? `${how}: ${cleanRuntimeMessage(line, { maxChars: 200 })}` : how;
}

const FATAL_LINE = /FATAL ERROR|out of memory|terminate called|bad_alloc|Segmentation fault|Aborted/i;
