// Warm-ups in the pool's workers: each under the admission time budget, one worker first, and a
// version whose warm-up failed or overran remembered so that nothing warms it again.
import { memoryLimit, modelLoadFailed } from './inference.errors.js';
import type { PoolWorker, WarmCall } from './pool-worker.js';
import { cleanRuntimeMessage } from './runtime-message.js';
import type { FromWorker, VersionDescriptor } from './worker-protocol.js';

/** Versions remembered at most (the oldest forgotten first): a bound on a hostile publisher's cost. */
const MAX_REMEMBERED = 10_000;

export class Warmups {
  private readonly failures = new Map<string, string>();

  constructor(
    private readonly budgetMs: number,
    private readonly pool: { pump(): void; jobId(): number },
  ) {}

  /** Why a version's warm-up failed before, if it did. */
  failed(versionId: string): string | undefined {
    return this.failures.get(versionId);
  }

  /** Runs a warm-up on an idle worker now; past its budget the worker is killed (and replaced). */
  start(worker: PoolWorker, warm: WarmCall): void {
    worker.job = warm;
    warm.timer = setTimeout(() => {
      const note = `the warm-up (load and one run on the smallest inputs) took longer than ${warm.budgetMs} ms and was stopped`;
      this.remember(warm.version.id, note);
      worker.job = undefined;
      worker.kill('its warm-up passed its budget');
      warm.resolve({ type: 'warmed', jobId: warm.jobId, warmupError: note, bytes: 0 });
    }, warm.budgetMs);
    worker.send({ type: 'warm', jobId: warm.jobId, version: warm.version });
  }

  /** Warms on every worker given, the first one alone, and says the first warm-up error. */
  async everywhere(
    workers: PoolWorker[],
    versionId: string,
    descriptor: () => VersionDescriptor,
  ): Promise<{ warmupError?: string }> {
    if (workers.length === 0) return {};
    let warmupError: string | undefined;
    const take = (a: FromWorker, worker: PoolWorker) => {
      if (a.type === 'error') {
        const text = cleanRuntimeMessage(a.message);
        throw a.kind === 'memory' ? memoryLimit(text, false) : modelLoadFailed(text);
      }
      if (a.type !== 'warmed') return;
      warmupError ??= a.warmupError;
      // A worker killed for overrunning has nothing loaded; one whose synthetic run failed has.
      if (!this.failures.has(versionId)) worker.loaded.add(versionId);
    };
    take(await this.on(workers[0], descriptor()), workers[0]);
    const known = this.failures.get(versionId);
    if (known) return { warmupError: known };
    const rest = workers.slice(1);
    const answers = await Promise.all(rest.map((w) => this.on(w, descriptor())));
    answers.forEach((a, i) => take(a, rest[i]));
    return { warmupError };
  }

  // Queued on the worker: it starts (and its budget with it) when the worker is next idle.
  private on(worker: PoolWorker, version: VersionDescriptor): Promise<FromWorker> {
    return new Promise<FromWorker>((resolve, reject) => {
      worker.warmups.push({
        kind: 'warm',
        jobId: this.pool.jobId(),
        version,
        budgetMs: this.budgetMs,
        resolve,
        reject,
      });
      this.pool.pump();
    });
  }

  private remember(versionId: string, note: string): void {
    this.failures.delete(versionId);
    this.failures.set(versionId, note);
    if (this.failures.size > MAX_REMEMBERED) this.failures.delete(this.failures.keys().next().value!);
  }
}
