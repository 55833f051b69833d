import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BullJobQueue } from '../../src/jobs/bull-job-queue.js';
import { UnrecoverableJobError, type Job, type JobQueue } from '../../src/jobs/job-queue.js';
import { MemoryJobQueue } from '../../src/jobs/memory-job-queue.js';
import { TracedJobQueue } from '../../src/jobs/traced-job-queue.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * The queue seam's contract, run against both implementations: the in-process queue of the
 * embedded default and BullMQ on the real Redis (skipped, and said so, without REDIS_URL). Each
 * BullMQ run uses its own key prefix and deletes its keys afterwards.
 */
type Payload = { n: number };
const redisUrl = process.env.REDIS_URL;
const quiet = createLogger('silent');
const implementations: [string, () => JobQueue<Payload>][] = [
  ['memory', () => new MemoryJobQueue<Payload>('contract')],
  // What the app runs: the same queue behind the trace-carrying decorator (traced-job-queue.ts).
  ['memory, traced', () => new TracedJobQueue(new MemoryJobQueue<Payload>('contract'), 'memory')],
];
const prefixes: string[] = [];
if (redisUrl) {
  implementations.push([
    'bullmq',
    () => {
      const prefix = `test-${randomUUID()}`;
      prefixes.push(prefix);
      return new BullJobQueue<Payload>('contract', { redisUrl, prefix, lockDurationMs: 5_000, logger: quiet });
    },
  ]);
} else {
  process.stdout.write('[jobs] no REDIS_URL: BullMQ contract tests skipped\n');
}

afterAll(async () => {
  if (!redisUrl || prefixes.length === 0) return;
  const redis = new Redis(redisUrl);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
});

const until = async (check: () => boolean | Promise<boolean>, what: string, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.each(implementations)('%s job queue', (_name, make) => {
  let queue: JobQueue<Payload>;
  beforeEach(() => {
    queue = make();
  });
  afterEach(() => queue.close());

  it('runs each job once, even when the same id is added twice', async () => {
    const seen: string[] = [];
    expect(await queue.add('a', { n: 1 })).toBe('added');
    expect(await queue.add('a', { n: 1 })).toBe('exists');
    await queue.add('b', { n: 2 });
    queue.process(async (job) => void seen.push(`${job.id}:${job.data.n}:${job.attempt}`), { concurrency: 2 });
    await until(() => seen.length === 2, 'two jobs');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.sort()).toEqual(['a:1:1', 'b:2:1']);
    await until(async () => !(await queue.has('a')), 'job a to leave the queue');
  });

  it('retries a failing job with backoff and reports the final failure once', async () => {
    const attempts: number[] = [];
    const failed: [Job<Payload>, Error][] = [];
    queue.process(
      async (job) => {
        attempts.push(job.attempt);
        throw new Error(`boom ${job.attempt}`);
      },
      { concurrency: 1, onFailed: (job, err) => void failed.push([job, err]) },
    );
    await queue.add('r', { n: 3 }, { attempts: 3, backoffMs: 50 });
    await until(() => failed.length === 1, 'final failure');
    expect(attempts).toEqual([1, 2, 3]);
    expect(failed[0][1].message).toBe('boom 3');
    expect(failed[0][0].id).toBe('r');
  });

  // Found by the dependency-fault suite (test/chaos/): a job whose tries all failed while the
  // database was down could not record FAILED either, so its row stayed QUEUED; the sweeper's
  // re-add of that id was answered 'exists' by the failed BullMQ job forever, and it never ran.
  it('runs a job that failed for good again when its id is added again', async () => {
    const attempts: string[] = [];
    const failed: string[] = [];
    let healthy = false;
    queue.process(
      async (job) => {
        attempts.push(`${job.id}:${job.attempt}`);
        if (!healthy) throw new Error('database down');
      },
      { concurrency: 1, onFailed: (job) => void failed.push(job.id) },
    );
    await queue.add('gave-up', { n: 8 }, { attempts: 2, backoffMs: 20 });
    await until(() => failed.length === 1, 'final failure');
    expect(await queue.has('gave-up')).toBe(false);
    healthy = true;
    expect(await queue.add('gave-up', { n: 8 }, { attempts: 2, backoffMs: 20 })).toBe('added');
    await until(() => attempts.length === 3, 'the job to run again');
    // A fresh start: its tries count from 1 again.
    expect(attempts).toEqual(['gave-up:1', 'gave-up:2', 'gave-up:1']);
    await until(async () => !(await queue.has('gave-up')), 'the job to leave the queue');
    expect(failed).toEqual(['gave-up']);
  });

  it('does not retry an unrecoverable job', async () => {
    const attempts: number[] = [];
    const failed: Error[] = [];
    queue.process(
      async (job) => {
        attempts.push(job.attempt);
        throw new UnrecoverableJobError('bad input');
      },
      { concurrency: 1, onFailed: (_job, err) => void failed.push(err) },
    );
    await queue.add('u', { n: 4 }, { attempts: 5, backoffMs: 10 });
    await until(() => failed.length === 1, 'unrecoverable failure');
    await new Promise((r) => setTimeout(r, 150));
    expect(attempts).toEqual([1]);
    expect(failed[0]).toBeInstanceOf(UnrecoverableJobError);
  });

  it('cancels a job that has not started, but not a running one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    await queue.add('delayed', { n: 5 }, { delayMs: 60_000 });
    expect(await queue.has('delayed')).toBe(true);
    expect(await queue.cancel('delayed')).toBe(true);
    expect(await queue.has('delayed')).toBe(false);
    queue.process(
      async (job) => {
        ran.push(job.id);
        if (job.id === 'running') await gate;
      },
      { concurrency: 1 },
    );
    await queue.add('running', { n: 6 });
    await until(() => ran.includes('running'), 'running job to start');
    await queue.add('behind', { n: 7 });
    expect(await queue.cancel('running')).toBe(false);
    expect(await queue.cancel('behind')).toBe(true);
    release();
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toEqual(['running']);
    expect(await queue.cancel('nope')).toBe(false);
  });

  it('says when the job next in line was added, the oldest waiting one', async () => {
    expect(await queue.nextWaitingSince()).toBeUndefined();
    const before = Date.now();
    await queue.add('first', { n: 1 });
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 30));
    await queue.add('second', { n: 2 });
    const since = await queue.nextWaitingSince();
    expect(since).toBeGreaterThanOrEqual(before);
    expect(since).toBeLessThanOrEqual(after);
    expect(await queue.cancel('first')).toBe(true);
    expect(await queue.nextWaitingSince()).toBeGreaterThan(after);
    expect(await queue.cancel('second')).toBe(true);
    expect(await queue.nextWaitingSince()).toBeUndefined();
  });

  it('never runs more jobs at once than its concurrency', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    queue.process(
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        done++;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 12; i++) await queue.add(`c${i}`, { n: i });
    await until(() => done === 12, 'twelve jobs');
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });
});

it('reports an unreachable Redis in the log, once per outage rather than once per reconnect attempt, and closes anyway', async () => {
  const lines: { msg: string; suppressed?: number }[] = [];
  const logger = createLogger('warn');
  const warn = logger.warn.bind(logger);
  logger.warn = ((obj: { suppressed?: number }, msg: string) => {
    lines.push({ msg, suppressed: obj.suppressed });
    warn(obj, msg);
  }) as typeof logger.warn;
  // Nothing listens on port 1: every reconnect attempt fails.
  const queue = new BullJobQueue<Payload>('unreachable', { redisUrl: 'redis://127.0.0.1:1', prefix: 'test-x', logger });
  await new Promise((r) => setTimeout(r, 1500));
  // Closing does not wait for a Redis that never answered.
  await queue.close();
  const reported = lines.filter((l) => l.msg.startsWith('queue unreachable'));
  expect(reported.length).toBeGreaterThan(0);
  // Throttled: one line per outage and source within the first 30 s, however many attempts failed.
  expect(new Set(reported.map((l) => l.msg)).size).toBe(reported.length);
}, 15_000);
