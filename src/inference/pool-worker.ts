// One inference worker as the pool sees it: a sandbox process (sandbox-process.ts) running
// inference-worker.ts, its start-up handshake and limits, and what it is doing now. Scheduling
// (which batch or warm-up goes where, deadlines) is the pool's; this file only owns the process.
import type { DeviceSpec } from './inference-devices.js';
import type { Frame } from './ipc-frames.js';
import {
  SandboxProcess,
  sandboxEntry,
  type SandboxExit,
  type SandboxLimits,
  type SandboxLimitsMode,
} from './sandbox-process.js';
import type { WireTensor } from './tensor-types.js';
import type { Pending } from './version-queue.js';
import type { FromWorker, ToWorker, VersionDescriptor, WorkerInit } from './worker-protocol.js';

export type PoolWorkerSettings = {
  init: Omit<WorkerInit, 'index' | 'device'>;
  maxHeapMb: number;
  limitsMode: SandboxLimitsMode;
  limits: SandboxLimits;
};

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

  whenExited(): Promise<SandboxExit> {
    return this.process.exited;
  }
}
