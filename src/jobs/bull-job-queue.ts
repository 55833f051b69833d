import { Queue, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.js';
import { throttledErrorLog } from '../shared/throttled-error-log.js';
import {
  DEFAULT_JOB_OPTIONS,
  UnrecoverableJobError,
  type JobHandler,
  type JobOptions,
  type JobQueue,
  type ProcessOptions,
} from './job-queue.js';

export type BullJobQueueOptions = {
  redisUrl: string;
  /** Key prefix in Redis: one per deployment (and per test file). */
  prefix: string;
  /**
   * How long a worker's lock on a running job lasts without renewal. A worker killed mid-job
   * stops renewing; after this long another worker's stalled check hands the job back to the
   * queue (BullMQ: "stalled jobs"), so no job stays running forever. Shorter means faster
   * recovery and more Redis traffic.
   */
  lockDurationMs?: number;
  /** Times a job may stall (its worker died) before it fails for good instead of returning. */
  maxStalledCount?: number;
  /** Where connection and worker errors go (throttled while Redis is down). */
  logger: Logger;
};

/**
 * The distributed queue: BullMQ on Redis, following BullMQ's going-to-production guide
 * (https://docs.bullmq.io/guide/going-to-production): workers' connections use
 * `maxRetriesPerRequest: null` so that a Redis restart pauses them instead of throwing, jobs are
 * removed on completion (the database is the record of truth), and failed ones are kept a while
 * for inspection. Exponential backoff is BullMQ's own (`backoff: { type: 'exponential' }`,
 * delay · 2^(attemptsMade-1)), the same formula as `backoffDelay`.
 */
/**
 * BullMQ stores a job under `<prefix>:<queue>:<jobId>`, beside its own lists (`wait`, `active`,
 * `delayed`, `meta`…): an id equal to one of those names would clobber the queue. Our ids go in
 * with a fixed prefix and come out without it.
 */
const toBullId = (id: string) => `j-${id}`;
const fromBullId = (id: string | undefined) => (id ?? '').replace(/^j-/, '');

export class BullJobQueue<T> implements JobQueue<T> {
  private readonly queue: Queue;
  private readonly connections: Redis[] = [];
  private worker?: Worker;

  constructor(
    readonly name: string,
    private readonly options: BullJobQueueOptions,
  ) {
    // The producer side fails fast when Redis is down (an API request gets an error it can
    // report) rather than waiting forever; workers below wait instead.
    const producer = new Redis(options.redisUrl, {
      maxRetriesPerRequest: 3,
      enableOfflineQueue: false,
      lazyConnect: false,
    });
    // A listener is required: an 'error' without one is an uncaught exception (ioredis), or a
    // console.error per reconnect attempt (BullMQ). Failed commands still reject to their callers.
    const producerErrors = throttledErrorLog(options.logger, `queue ${name}: Redis connection`);
    producer.on('error', (err) => producerErrors.error(err));
    producer.on('ready', () => producerErrors.recovered());
    this.connections.push(producer);
    this.queue = new Queue(name, { connection: producer, prefix: options.prefix });
    const queueErrors = throttledErrorLog(options.logger, `queue ${name}`);
    this.queue.on('error', (err) => queueErrors.error(err));
  }

  async add(id: string, data: T, options: Partial<JobOptions> = {}): Promise<'added' | 'exists'> {
    const o = { ...DEFAULT_JOB_OPTIONS, ...options };
    const existing = await this.queue.getJob(toBullId(id));
    if (existing) {
      // A job that failed for good is kept for inspection, but it is no longer in the queue
      // (`has` says false): adding its id again runs it again from its first try, as the memory
      // queue does. The sweeper relies on it for a row the queue gave up on while the database
      // was down (so FAILED could not be recorded either): otherwise that job never ran again.
      const state = await existing.getState();
      if (state !== 'failed' && state !== 'completed') return 'exists';
      try {
        await existing.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
        return 'added';
      } catch (err) {
        // Another adder moved it back first: then it is no longer failed or completed. Anything
        // else (Redis gone, say) is the caller's to see.
        const now = await existing.getState();
        if (now !== 'failed' && now !== 'completed') return 'exists';
        throw err;
      }
    }
    // BullMQ ignores an add whose jobId exists, so a race between two adders is still one job.
    await this.queue.add(this.name, data, {
      jobId: toBullId(id),
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: o.backoffMs },
      delay: o.delayMs || undefined,
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600, count: 10_000 },
    });
    return 'added';
  }

  async cancel(id: string): Promise<boolean> {
    const job = await this.queue.getJob(toBullId(id));
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch (err) {
      // Taken by a worker between getState and remove (remove refuses locked jobs): then it is
      // active now. Anything else (Redis gone, say) is the caller's to see.
      const now = await job.getState();
      if (now !== 'waiting' && now !== 'delayed' && now !== 'prioritized') return false;
      throw err;
    }
  }

  async has(id: string): Promise<boolean> {
    const job = await this.queue.getJob(toBullId(id));
    if (!job) return false;
    const state = await job.getState();
    return state === 'waiting' || state === 'delayed' || state === 'active' || state === 'prioritized';
  }

  async counts() {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  async nextWaitingSince() {
    // Ascending: the list's tail, the job a worker takes next; its timestamp is when it was added.
    const [next] = await this.queue.getWaiting(0, 0);
    return next?.timestamp;
  }

  process(handler: JobHandler<T>, options: ProcessOptions<T>): void {
    if (this.worker) throw new Error(`queue ${this.name} already has a processor`);
    const connection = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    const connectionErrors = throttledErrorLog(this.options.logger, `queue ${this.name} worker: Redis connection`);
    connection.on('error', (err) => connectionErrors.error(err));
    connection.on('ready', () => connectionErrors.recovered());
    this.connections.push(connection);
    this.worker = new Worker(
      this.name,
      async (job: BullJob) => {
        try {
          await handler({
            id: fromBullId(job.id),
            data: job.data as T,
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? 1,
          });
        } catch (err) {
          if (err instanceof UnrecoverableJobError) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      {
        connection,
        prefix: this.options.prefix,
        concurrency: options.concurrency,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        // The stalled check runs this often and needs two passes (mark, then move): left at
        // BullMQ's 30 s default, a short lock would still leave a killed worker's job for ~60 s.
        stalledInterval: this.options.lockDurationMs ?? 30_000,
        maxStalledCount: this.options.maxStalledCount ?? 1,
        autorun: true,
      },
    );
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      const attempts = job.opts.attempts ?? 1;
      const final =
        error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
      if (!final || !options.onFailed) return;
      void Promise.resolve(
        options.onFailed(
          { id: fromBullId(job.id), data: job.data as T, attempt: job.attemptsMade, maxAttempts: attempts },
          error.name === 'UnrecoverableError' ? new UnrecoverableJobError(error.message) : error,
        ),
      ).catch((err: unknown) =>
        // The job's final failure could not be recorded (the database may be down): the sweeper
        // finds its row still QUEUED or RUNNING and settles it later.
        this.options.logger.error(
          { err, jobId: fromBullId(job.id), queue: this.name },
          'recording a failed job failed',
        ),
      );
    });
    const workerErrors = throttledErrorLog(this.options.logger, `queue ${this.name} worker`);
    this.worker.on('error', (err) => workerErrors.error(err));
  }

  async close(): Promise<void> {
    // A connection still trying to reach Redis is dropped first: BullMQ's close() would otherwise
    // wait for it to connect, i.e. forever while Redis is down.
    for (const c of this.connections) if (c.status !== 'ready') c.disconnect();
    // Worker.close() waits for running jobs to finish; a job cut by SIGKILL instead comes back
    // through the stalled check on another worker.
    await this.worker?.close();
    await this.queue.close();
    await Promise.allSettled(this.connections.filter((c) => c.status === 'ready').map((c) => c.quit()));
    for (const c of this.connections) if (c.status !== 'end') c.disconnect();
  }
}
