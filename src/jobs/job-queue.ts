/**
 * The job queue seam (README, Architecture): one interface, two implementations,
 * chosen once from config (create-job-queue.ts). Async predictions and webhook deliveries run on
 * it. Semantics both keep:
 * - `add` is idempotent by job id: adding an id that is waiting, delayed or running is a no-op
 *   (BullMQ's `jobId` dedup), so "enqueue after commit" plus a sweeper cannot run a job twice
 *   at once.
 * - A handler that throws is retried with exponential backoff until `attempts` runs out; one that
 *   throws `UnrecoverableJobError` is not retried (BullMQ's UnrecoverableError). Either way the
 *   final failure reaches `onFailed`, so the owner can record it (a prediction goes FAILED).
 * - Payloads are plain JSON without secrets (CONVENTIONS.md).
 */
export type JobOptions = {
  /** Total tries, the first included. */
  attempts: number;
  /** Delay before the second try; doubled for each later one. */
  backoffMs: number;
  /** Wait this long before the first try (a delayed job). */
  delayMs: number;
};

export type Job<T> = {
  id: string;
  data: T;
  /** 1 for the first try. */
  attempt: number;
  /** The attempts this job is allowed. */
  maxAttempts: number;
};

export type JobHandler<T> = (job: Job<T>) => Promise<void>;

export type ProcessOptions<T> = {
  concurrency: number;
  /** Called once when a job has failed for good (attempts exhausted, or unrecoverable). */
  onFailed?: (job: Job<T>, error: Error) => Promise<void> | void;
};

export interface JobQueue<T> {
  readonly name: string;
  add(id: string, data: T, options?: Partial<JobOptions>): Promise<'added' | 'exists'>;
  /** Removes a job that has not started (waiting or delayed). False when it is running or gone. */
  cancel(id: string): Promise<boolean>;
  /** Whether the queue holds the job (waiting, delayed or running): the sweeper's question. */
  has(id: string): Promise<boolean>;
  counts(): Promise<{ waiting: number; active: number; delayed: number }>;
  /**
   * When the job next in line was first added (epoch ms), or undefined when none waits: how far
   * behind the queue is. A retried job keeps its first time.
   */
  nextWaitingSince(): Promise<number | undefined>;
  /** Starts pulling jobs in this process. Call at most once per queue object. */
  process(handler: JobHandler<T>, options: ProcessOptions<T>): void;
  /** Stops taking jobs and waits for the running ones to finish (or hands them back). */
  close(): Promise<void>;
}

/** Thrown by a handler for a job that can never succeed: no retry. */
export class UnrecoverableJobError extends Error {
  override readonly name = 'UnrecoverableJobError';
}

export const DEFAULT_JOB_OPTIONS: JobOptions = { attempts: 3, backoffMs: 1000, delayMs: 0 };

/** Backoff before try `attempt + 1` (attempt is 1-based): backoffMs · 2^(attempt-1). */
export function backoffDelay(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}
