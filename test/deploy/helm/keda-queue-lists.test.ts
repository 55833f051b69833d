import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BullJobQueue } from '../../../src/jobs/bull-job-queue.js';
import { createLogger } from '../../../src/shared/logger.js';
import { MINIMAL_VALUES, find, render } from './render.js';

/**
 * KEDA's Redis scaler runs LLEN on the list a trigger names. These tests render the chart's
 * ScaledObject with a queue prefix of their own, then put jobs through the app's own BullMQ
 * queue on the real Redis and read those lists the way KEDA does: waiting jobs must show in the
 * `wait` list the scaler watches, running ones in `active`. A BullMQ upgrade that moved jobs
 * elsewhere (a sorted set, a renamed key) would leave the workers unscaled; this is where it
 * shows. Skipped, and said so, without REDIS_URL.
 */
const redisUrl = process.env.REDIS_URL;
const describeRedis = redisUrl ? describe : describe.skip;
if (!redisUrl) process.stdout.write('[deploy] no REDIS_URL: KEDA list checks against BullMQ skipped\n');

type Trigger = { name: string; metadata: { listName: string } };

describeRedis('KEDA triggers read the lists BullMQ keeps', () => {
  const prefix = `test-keda-${randomUUID()}`;
  let redis: Redis;
  const queues: BullJobQueue<{ n: number }>[] = [];
  let triggers: Record<string, string>;

  beforeAll(() => {
    redis = new Redis(redisUrl!);
    const manifests = render({ ...MINIMAL_VALUES, config: { QUEUE_PREFIX: prefix } });
    const cpu = find(manifests, 'ScaledObject', 'mm-model-marketplace-worker-cpu').spec as { triggers: Trigger[] };
    triggers = Object.fromEntries(cpu.triggers.map((t) => [t.name, t.metadata.listName]));
  });

  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const queue = (name: string) => {
    const q = new BullJobQueue<{ n: number }>(name, {
      redisUrl: redisUrl!,
      prefix,
      lockDurationMs: 5_000,
      logger: createLogger('silent'),
    });
    queues.push(q);
    return q;
  };

  it('counts waiting predictions and webhook deliveries', async () => {
    expect(triggers).toEqual({
      'predictions-waiting': `${prefix}:predictions:wait`,
      'predictions-running': `${prefix}:predictions:active`,
      'webhooks-waiting': `${prefix}:webhooks:wait`,
    });
    const predictions = queue('predictions');
    const webhooks = queue('webhooks');
    for (let n = 0; n < 3; n++) await predictions.add(`p${n}`, { n });
    await webhooks.add('w0', { n: 0 });
    expect(await redis.llen(triggers['predictions-waiting'])).toBe(3);
    expect(await redis.llen(triggers['webhooks-waiting'])).toBe(1);
    expect(await redis.type(triggers['predictions-waiting'])).toBe('list');
  });

  it('counts running predictions while a worker holds them', async () => {
    const predictions = queues[0];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    predictions.process(
      async () => {
        started++;
        await held;
      },
      { concurrency: 2 },
    );
    await waitFor(() => started === 2);
    expect(await redis.llen(triggers['predictions-running'])).toBe(2);
    expect(await redis.llen(triggers['predictions-waiting'])).toBe(1);
    release();
    await waitFor(
      async () =>
        (await redis.llen(triggers['predictions-waiting'])) + (await redis.llen(triggers['predictions-running'])) === 0,
    );
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
