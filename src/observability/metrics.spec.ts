import { jobQueueAge, jobQueueDepth, observePredictionQueue, registry } from './metrics.js';

/** The queue gauges read the wired queue on each scrape. */
const value = async (gauge: typeof jobQueueDepth) => (await gauge.get()).values[0]?.value;

afterEach(() => {
  jobQueueDepth.reset();
  jobQueueAge.reset();
});

it('reports the waiting count and how long the next job has waited, read at scrape time', async () => {
  let waiting = 3;
  let since: number | undefined = Date.now() - 90_000;
  const stop = observePredictionQueue({ counts: async () => ({ waiting }), nextWaitingSince: async () => since });
  expect(await value(jobQueueDepth)).toBe(3);
  expect(await value(jobQueueAge)).toBeGreaterThanOrEqual(90);
  expect(await value(jobQueueAge)).toBeLessThan(95);
  waiting = 0;
  since = undefined;
  const text = await registry.metrics();
  expect(text).toMatch(/^prediction_queue_depth 0$/m);
  expect(text).toMatch(/^prediction_queue_oldest_age_seconds 0$/m);
  stop();
});

it('keeps the last value while the queue cannot answer, and stops reading once unwired', async () => {
  const stop = observePredictionQueue({
    counts: async () => ({ waiting: 5 }),
    nextWaitingSince: async () => undefined,
  });
  expect(await value(jobQueueDepth)).toBe(5);
  stop();
  const stopBroken = observePredictionQueue({
    counts: () => Promise.reject(new Error('redis down')),
    nextWaitingSince: () => new Promise(() => undefined),
  });
  expect(await value(jobQueueDepth)).toBe(5);
  const started = Date.now();
  await value(jobQueueAge);
  expect(Date.now() - started).toBeLessThan(1500);
  stopBroken();
  // A second app's queue is not unwired by the first one's close.
  const stopA = observePredictionQueue({
    counts: async () => ({ waiting: 1 }),
    nextWaitingSince: async () => undefined,
  });
  const stopB = observePredictionQueue({
    counts: async () => ({ waiting: 2 }),
    nextWaitingSince: async () => undefined,
  });
  stopA();
  expect(await value(jobQueueDepth)).toBe(2);
  stopB();
});
