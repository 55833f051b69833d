// 1,000 subscribe/disconnect cycles against one server leave nothing behind: no listener in the
// process's pub/sub engine, no Redis channel subscription, no open WebSocket, no connection
// still counted against the user (a leaked count would refuse connection 11 with 4408), and the
// heap is printed before and after. Clients leave in the three ways real ones do: a clean
// `complete` + close, a dropped TCP connection after the first event, and a drop while the
// subscription is still being set up.
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { Role } from '../../src/entities/enums.js';
import { websocketConnections } from '../../src/observability/metrics.js';
import type { EventBus } from '../../src/subscriptions/event-bus.js';
import { CreatePredictionDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { deleteRedisKeys } from '../support/app-processes.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const CYCLES = 1000;
const redisUrl = process.env.REDIS_URL;
if (!redisUrl) process.stdout.write('[subscription-leaks] no REDIS_URL: the Redis variant is skipped\n');

type Engine = {
  // graphql-subscriptions' in-memory PubSub
  ee?: { eventNames(): (string | symbol)[]; listenerCount(name: string | symbol): number };
  // graphql-redis-subscriptions' RedisPubSub
  subscriptionMap?: Record<string, unknown>;
  subsRefsMap?: Map<string, Set<number>>;
};

/** Listeners the process's pub/sub engine holds (reads its internals; fails if their shape changed). */
function engineListeners(bus: EventBus): number {
  const engine = (bus as unknown as { engine?: Engine }).engine;
  if (engine?.subscriptionMap && engine.subsRefsMap) {
    return (
      Object.keys(engine.subscriptionMap).length + [...engine.subsRefsMap.values()].reduce((n, s) => n + s.size, 0)
    );
  }
  if (engine?.ee) return engine.ee.eventNames().reduce((n, e) => n + engine.ee!.listenerCount(e), 0);
  throw new Error('cannot read the pub/sub engine listeners: EngineEventBus internals changed');
}

const openSockets = async () => (await websocketConnections.get()).values[0]?.value ?? 0;

type Mode = 'clean' | 'drop-after-event' | 'drop-during-setup';

/** One client over the graphql-transport-ws protocol, by hand, so it can leave abruptly. */
function cycle(
  url: string,
  authorization: string,
  predictionId: string,
  mode: Mode,
  /** Runs while both subscriptions are open (before a clean leave). */
  whileSubscribed?: () => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    let acked = false;
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`cycle (${mode}) took over 10 s`)), 10_000);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const send = (m: unknown) => ws.send(JSON.stringify(m));
    ws.on('error', (err) => fail(err));
    ws.on('open', () => send({ type: 'connection_init', payload: { authorization } }));
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (!acked) reject(new Error(`closed with ${code} before connection_ack (${mode})`));
      else resolve();
    });
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as { type: string; id?: string; payload?: unknown };
      if (m.type === 'connection_ack') {
        acked = true;
        send({
          id: '1',
          type: 'subscribe',
          payload: {
            query: 'subscription($id: ID!) { predictionUpdated(id: $id) { id status } }',
            variables: { id: predictionId },
          },
        });
        send({ id: '2', type: 'subscribe', payload: { query: 'subscription { myPredictionEvents { id status } }' } });
        if (mode === 'drop-during-setup') ws.terminate();
        return;
      }
      if (m.type === 'error') return fail(new Error(`subscription error: ${JSON.stringify(m.payload)}`));
      if (m.type === 'next' && m.id === '1') {
        if (mode === 'drop-after-event') return void ws.terminate();
        void (whileSubscribed ?? (async () => {}))().then(() => {
          send({ id: '1', type: 'complete' });
          send({ id: '2', type: 'complete' });
          ws.close(1000);
        }, fail);
      }
    });
  });
}

async function settle(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

// A full GC before reading the heap: --expose-gc turned on at run time (Jest gives no node flags).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => {
  gc();
  gc();
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
};

function leakSuite(label: string, env: () => Record<string, string>, redisPrefix?: () => string) {
  describe(label, () => {
    let server: TestServer;
    let redis: Redis | undefined;
    let authorization: string;
    let predictionId: string;
    let userId: string;

    beforeAll(async () => {
      server = await startTestServer(env());
      if (redisPrefix) redis = new Redis(redisUrl!, { maxRetriesPerRequest: 3 });
      const f = new Factory(server.app);
      const consumer = await f.user();
      userId = consumer.id;
      const model = await f.model(await f.user({ role: Role.PUBLISHER }));
      await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
      authorization = (await authHeaders(server.app, consumer)).authorization;
      // A job that stays QUEUED (no worker runs here): its stream sends the snapshot, then waits.
      const res = await server.gql(
        CreatePredictionDocument,
        { input: { modelId: model.id, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }] } },
        { authorization },
      );
      expect(res.errors).toBeUndefined();
      predictionId = res.data!.createPrediction.id;
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      redis?.disconnect();
    }, 30_000);

    const redisChannels = async () =>
      redis ? ((await redis.pubsub('CHANNELS', `${redisPrefix!()}*`)) as string[]) : [];
    const numsub = async () => {
      if (!redis) return 0;
      const channels = [`PREDICTION_UPDATED:${predictionId}`, `USER_PREDICTION_EVENTS:${userId}`].map(
        (c) => `${redisPrefix!()}${c}`,
      );
      const r = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
      return Number(r[1]) + Number(r[3]);
    };

    it(`leaves listeners, channels and sockets where they were after ${CYCLES} cycles`, async () => {
      const url = server.url.replace('http', 'ws');
      const before = {
        listeners: engineListeners(server.app.events),
        channels: (await redisChannels()).length,
        numsub: await numsub(),
        sockets: await openSockets(),
        heap: heapMiB(),
      };
      const modes: Mode[] = ['clean', 'drop-after-event', 'drop-during-setup'];
      // The counts move while a client is subscribed (so their return to baseline means something).
      let live = { listeners: 0, numsub: 0 };
      await cycle(url, authorization, predictionId, 'clean', async () => {
        await settle(async () => engineListeners(server.app.events) >= before.listeners + 2);
        live = { listeners: engineListeners(server.app.events), numsub: await numsub() };
      });
      expect(live.listeners).toBeGreaterThanOrEqual(before.listeners + 2);
      if (redis) expect(live.numsub).toBe(before.numsub + 2);
      for (let i = 0; i < CYCLES; i++) {
        const mode = modes[i % modes.length];
        await cycle(url, authorization, predictionId, mode);
      }
      const after = async () => ({
        listeners: engineListeners(server.app.events),
        channels: (await redisChannels()).length,
        numsub: await numsub(),
        sockets: await openSockets(),
      });
      // Server-side cleanup after a dropped socket is asynchronous: wait (bounded) for it.
      await settle(async () => {
        const a = await after();
        return (
          a.listeners === before.listeners &&
          a.channels === before.channels &&
          a.numsub === before.numsub &&
          a.sockets === before.sockets
        );
      });
      const end = { ...(await after()), heap: heapMiB() };
      process.stdout.write(
        `[subscription-leaks] ${label}: before ${JSON.stringify(before)} after ${JSON.stringify(end)}` +
          ` (heap MiB after a forced GC)\n`,
      );
      expect(end).toMatchObject({
        listeners: before.listeners,
        channels: before.channels,
        numsub: before.numsub,
        sockets: before.sockets,
      });
      expect(before.listeners).toBe(0);
      // Roughly flat: 1,000 leaked closures of even a few kB each would exceed this.
      expect(end.heap - before.heap).toBeLessThan(16);
    }, 300_000);

    it('still delivers events to a new subscriber afterwards', async () => {
      const ws = new WebSocket(server.url.replace('http', 'ws'), 'graphql-transport-ws');
      const got = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no event in 10 s')), 10_000);
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
        ws.on('message', (raw: Buffer) => {
          const m = JSON.parse(raw.toString()) as {
            type: string;
            payload?: { data?: { myPredictionEvents?: { status: string } } };
          };
          if (m.type === 'connection_ack') {
            ws.send(
              JSON.stringify({
                id: 'e',
                type: 'subscribe',
                payload: { query: 'subscription { myPredictionEvents { id status } }' },
              }),
            );
          }
          if (m.type === 'next' && m.payload?.data?.myPredictionEvents) {
            clearTimeout(timer);
            resolve(m.payload.data.myPredictionEvents.status);
          }
        });
      });
      // Publish until the new subscription is live (subscribing is asynchronous, over Redis too).
      let received = false;
      void got.then(() => (received = true)).catch(() => undefined);
      const end = Date.now() + 10_000;
      while (!received && Date.now() < end) {
        await server.app.events.publish('USER_PREDICTION_EVENTS', userId, {
          predictionId,
          userId,
          status: 'QUEUED' as never,
          at: new Date().toISOString(),
        });
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await got).toBe('QUEUED');
      ws.terminate();
    }, 30_000);
  });
}

leakSuite('in-memory pub/sub', () => ({ RUN_JOBS: 'false' }));

const queuePrefix = `test-${randomUUID()}`;
const pubSubPrefix = `test-${randomUUID()}:`;
(redisUrl ? leakSuite : describe.skip)(
  'Redis pub/sub',
  () => ({ REDIS_URL: redisUrl!, QUEUE_PREFIX: queuePrefix, PUBSUB_PREFIX: pubSubPrefix, RUN_JOBS: 'false' }),
  () => pubSubPrefix,
);

afterAll(async () => {
  if (redisUrl) await deleteRedisKeys(redisUrl, [queuePrefix, pubSubPrefix]);
});
