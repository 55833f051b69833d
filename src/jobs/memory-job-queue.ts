import {
  backoffDelay,
  DEFAULT_JOB_OPTIONS,
  UnrecoverableJobError,
  type Job,
  type JobHandler,
  type JobOptions,
  type JobQueue,
  type ProcessOptions,
} from './job-queue.js';

type Entry<T> = {
  id: string;
  data: T;
  options: JobOptions;
  attempt: number;
  /** When `add` took it (epoch ms). */
  addedAt: number;
  timer?: NodeJS.Timeout;
};

/**
 * The embedded default's queue: in this process's memory, same semantics as the BullMQ one
 * (idempotent ids, retries with exponential backoff, unrecoverable errors, delayed jobs). Jobs do
 * not survive a restart; the prediction sweeper re-enqueues QUEUED rows from the database at
 * start, which is what makes that acceptable on a single-process install.
 */
export class MemoryJobQueue<T> implements JobQueue<T> {
  private readonly waiting: Entry<T>[] = [];
  private readonly delayed = new Map<string, Entry<T>>();
  private readonly active = new Map<string, Promise<void>>();
  private handler?: JobHandler<T>;
  private options?: ProcessOptions<T>;
  private closed = false;

  constructor(readonly name: string) {}

  async add(id: string, data: T, options: Partial<JobOptions> = {}): Promise<'added' | 'exists'> {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
    if (await this.has(id)) return 'exists';
    const entry: Entry<T> = {
      id,
      data,
      options: { ...DEFAULT_JOB_OPTIONS, ...options },
      attempt: 1,
      addedAt: Date.now(),
    };
    if (entry.options.delayMs > 0) this.delay(entry, entry.options.delayMs);
    else this.waiting.push(entry);
    this.pump();
    return 'added';
  }

  async cancel(id: string): Promise<boolean> {
    const i = this.waiting.findIndex((e) => e.id === id);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      return true;
    }
    const d = this.delayed.get(id);
    if (d) {
      clearTimeout(d.timer);
      this.delayed.delete(id);
      return true;
    }
    return false;
  }

  async has(id: string): Promise<boolean> {
    return this.active.has(id) || this.delayed.has(id) || this.waiting.some((e) => e.id === id);
  }

  async counts() {
    return { waiting: this.waiting.length, active: this.active.size, delayed: this.delayed.size };
  }

  async nextWaitingSince() {
    return this.waiting[0]?.addedAt;
  }

  process(handler: JobHandler<T>, options: ProcessOptions<T>): void {
    if (this.handler) throw new Error(`queue ${this.name} already has a processor`);
    this.handler = handler;
    this.options = options;
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    await Promise.allSettled([...this.active.values()]);
  }

  private delay(entry: Entry<T>, ms: number): void {
    entry.timer = setTimeout(() => {
      this.delayed.delete(entry.id);
      if (this.closed) return;
      this.waiting.push(entry);
      this.pump();
    }, ms);
    entry.timer.unref();
    this.delayed.set(entry.id, entry);
  }

  private pump(): void {
    const handler = this.handler;
    const options = this.options;
    if (!handler || !options || this.closed) return;
    while (this.active.size < options.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      const run = this.run(entry, handler, options).finally(() => {
        this.active.delete(entry.id);
        this.pump();
      });
      this.active.set(entry.id, run);
    }
  }

  private async run(entry: Entry<T>, handler: JobHandler<T>, options: ProcessOptions<T>): Promise<void> {
    const job: Job<T> = { id: entry.id, data: entry.data, attempt: entry.attempt, maxAttempts: entry.options.attempts };
    try {
      await handler(job);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const final = error instanceof UnrecoverableJobError || entry.attempt >= entry.options.attempts || this.closed;
      if (final) {
        await options.onFailed?.(job, error);
        return;
      }
      entry.attempt++;
      // Into `delayed` before `finally` drops it from `active`, so `has()` never sees a gap.
      this.delay(entry, backoffDelay(entry.options.backoffMs, entry.attempt - 1));
    }
  }
}
