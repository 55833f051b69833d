import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ModelVersionStatus } from '../../src/entities/enums.js';
import { createEventBus, filterEvents, type EventBus } from '../../src/subscriptions/event-bus.js';

const payload = (versionId: string, status: ModelVersionStatus) => ({
  modelId: 'm1',
  versionId,
  status,
  at: new Date().toISOString(),
});

async function roundTrip(bus: EventBus) {
  const events = bus.subscribe('MODEL_VERSION_STATUS_CHANGED', 'm1');
  const ready = filterEvents(events, (e) => e.status === ModelVersionStatus.READY);
  const first = ready.next(); // subscribes on the first pull
  // Publish until the subscription is live (Redis SUBSCRIBE is asynchronous); only READY passes.
  let n = 0;
  let delivered = false;
  void first.then(() => (delivered = true));
  while (!delivered) {
    await bus.publish('MODEL_VERSION_STATUS_CHANGED', 'm1', payload(`p${n}`, ModelVersionStatus.PROCESSING));
    await bus.publish('MODEL_VERSION_STATUS_CHANGED', 'm1', payload(`r${n++}`, ModelVersionStatus.READY));
    await new Promise((r) => setImmediate(r));
  }
  const winner = await first;
  const event = winner.done ? undefined : winner.value;
  expect(event?.status).toBe('READY');
  expect(event?.versionId).toMatch(/^r\d+$/);
  return ready;
}

it('delivers typed events in memory, filtered, and settles a pending pull on return()', async () => {
  const bus = createEventBus({ prefix: `test-${randomUUID()}:` });
  const ready = await roundTrip(bus);
  const pending = ready.next();
  await ready.return!();
  expect(await pending).toEqual({ done: true, value: undefined });
  expect((await ready.next()).done).toBe(true);
  await bus.close();
});

const redisIt = process.env.REDIS_URL ? it : it.skip;
redisIt('on Redis, return() through a filter reaches UNSUBSCRIBE at once (no leaked listener)', async () => {
  const prefix = `test-${randomUUID()}:`;
  const bus = createEventBus({ redisUrl: process.env.REDIS_URL, prefix });
  const redis = new Redis(process.env.REDIS_URL!);
  const channel = `${prefix}MODEL_VERSION_STATUS_CHANGED:m1`;
  const subscribers = async () => Number(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
  try {
    const ready = await roundTrip(bus);
    expect(await subscribers()).toBe(1);
    // A pending pull, as graphql-ws has while a client waits, must not hold return() back.
    const pending = ready.next();
    await ready.return!();
    expect((await pending).done).toBe(true);
    let left = await subscribers();
    for (let i = 0; i < 50 && left > 0; i++) left = await subscribers();
    expect(left).toBe(0);
  } finally {
    redis.disconnect();
    await bus.close();
  }
});

const idOf = (r: IteratorResult<{ versionId: string }>) => (r.done ? undefined : r.value.versionId);

redisIt('on Redis, every event published once `ready` settles arrives, in order, before any pull', async () => {
  const prefix = `test-${randomUUID()}:`;
  const bus = createEventBus({ redisUrl: process.env.REDIS_URL, prefix });
  // Another process's publisher, as a worker's would be.
  const other = createEventBus({ redisUrl: process.env.REDIS_URL, prefix });
  try {
    for (let round = 0; round < 20; round++) {
      const events = bus.subscribe('MODEL_VERSION_STATUS_CHANGED', `m${round}`);
      await events.ready;
      // Published at once, with no pull pending: the engines' lazy iterators missed these.
      await other.publish('MODEL_VERSION_STATUS_CHANGED', `m${round}`, payload('a', ModelVersionStatus.PROCESSING));
      await other.publish('MODEL_VERSION_STATUS_CHANGED', `m${round}`, payload('b', ModelVersionStatus.READY));
      const first = await events.next();
      const second = await events.next();
      expect([idOf(first), idOf(second)]).toEqual(['a', 'b']);
      await events.return();
    }
  } finally {
    await other.close();
    await bus.close();
  }
});

it('in memory, a subscription queues events from the moment it is made', async () => {
  const bus = createEventBus({ prefix: `test-${randomUUID()}:` });
  const events = bus.subscribe('MODEL_VERSION_STATUS_CHANGED', 'm1');
  await events.ready;
  await bus.publish('MODEL_VERSION_STATUS_CHANGED', 'm1', payload('a', ModelVersionStatus.READY));
  expect(idOf(await events.next())).toBe('a');
  await events.return();
  expect((await events.next()).done).toBe(true);
  await bus.close();
});
