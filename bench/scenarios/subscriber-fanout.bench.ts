import '../support/bench-env.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { buildContext } from '../../src/graphql/build-context.js';
import { createEventBus } from '../../src/subscriptions/event-bus.js';
import type { PredictionEventPayload } from '../../src/subscriptions/topics.js';
import { storedVersion } from '../../test/predictions/prediction-fixtures.js';
import { deleteRedisKeys, startApiProcess, stopAll } from '../../test/support/app-processes.js';
import { tokenFor } from '../../test/support/auth.js';
import { Factory } from '../../test/support/factories.js';
import { createTestDatabase } from '../../test/support/test-database.js';
import type { BenchScenario, BenchTarget } from '../harness.js';
import { latency, percentile, round } from '../harness.js';

/**
 * Delivery latency of job events to many graphql-ws subscribers on ONE API process (src/main.ts,
 * its own process, pub/sub over Redis). N clients (1,000, then 5,000), each on its own WebSocket
 * with `myPredictionEvents` of one consumer, receive every event published (by this process, on
 * the same Redis channel a worker publishes to); latency is from just before `publish` to each
 * client's receipt, same clock. Events go one at a time: the next is published once every client
 * has the last. Baseline: the same N subscribers on a bare EventBus (Redis pub/sub and the
 * iterators, no GraphQL, no WebSocket), same publisher. Target (developers' guide): 5,000
 * subscribers, p99 <= 50 ms.
 */
type Sample = { p50: number; p99: number; max: number; delivered: number; expected: number };

export const scenario: BenchScenario = {
  name: 'subscriber-fanout',
  title: 'Job events to 1,000 / 5,000 graphql-ws subscribers on one server: p50/p99 vs bare EventBus',
  async run({ log, quick }) {
    const redisUrl = process.env.REDIS_URL;
    if (!process.env.DATABASE_URL || !redisUrl) throw new Error('subscriber-fanout needs DATABASE_URL and REDIS_URL');
    const sizes = quick ? [200, 1000] : [1000, 5000];
    const events = quick ? 5 : 10;
    const db = await createTestDatabase();
    const storageDir = mkdtempSync(join(tmpdir(), 'mm-bench-models-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'mm-bench-data-'));
    const queuePrefix = `bench-${randomUUID()}`;
    const pubSubPrefix = `bench-${randomUUID()}:`;
    const shared = {
      NODE_ENV: 'test',
      DATABASE_URL: db.databaseUrl!,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: queuePrefix,
      PUBSUB_PREFIX: pubSubPrefix,
      MODEL_STORAGE_DIR: storageDir,
      DATA_DIR: dataDir,
      JWT_SECRET: `b1:${randomBytes(32).toString('hex')}`,
      INFERENCE_WORKERS: '1',
      INFERENCE_START: 'lazy',
      RATE_LIMIT_ENABLED: 'false',
    };
    let app: App | undefined;
    const bare = createEventBus({ redisUrl, prefix: pubSubPrefix });
    try {
      app = await createApp(
        loadConfig({ ...shared, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'true', SEED_ON_START: 'false' }),
      );
      const f = new Factory(app);
      const consumer = await f.user();
      const model = await f.model(await f.user({ role: Role.PUBLISHER }));
      await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
      const ctx = buildContext(() => app!.db.orm.em.fork(), {
        caller: { kind: 'user', userId: consumer.id, role: consumer.role },
      });
      // A real job row for the events to name (no worker runs it: it stays QUEUED).
      const job = await app.services.predictionJobs.create(ctx, {
        modelId: model.id,
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }],
      });
      const authorization = `Bearer ${await tokenFor(app, consumer)}`;
      const server = await startApiProcess({
        ...shared,
        LOG_LEVEL: 'info',
        RUN_JOBS: 'false',
        MIGRATE_ON_START: 'false',
        WS_MAX_CONNECTIONS_PER_USER: '10000',
      });
      const url = `${server.origin.replace('http', 'ws')}/graphql`;
      let seq = 0;
      const event = (): PredictionEventPayload => ({
        predictionId: job.id,
        userId: consumer.id,
        status: seq++ % 2 ? PredictionStatus.RUNNING : PredictionStatus.QUEUED,
        at: new Date().toISOString(),
      });
      const publish = () => app!.events.publish('USER_PREDICTION_EVENTS', consumer.id, event());

      const metrics: Record<string, number> = { 'events per size': events };
      const targets: BenchTarget[] = [];
      for (const n of sizes) {
        log(`bare EventBus: ${n} subscribers`);
        const base = await fanOutBare(bare, consumer.id, n, events, publish);
        log(`graphql-ws: ${n} subscribers on one server`);
        const ws = await fanOutWs(url, authorization, n, events, publish, log);
        Object.assign(metrics, latency(`${n} bare EventBus`, base.p50, base.p99));
        metrics[`${n} bare EventBus max ms`] = base.max;
        Object.assign(metrics, latency(`${n} graphql-ws`, ws.p50, ws.p99));
        metrics[`${n} graphql-ws max ms`] = ws.max;
        metrics[`${n} graphql-ws delivered`] = ws.delivered;
        metrics[`${n} graphql-ws expected`] = ws.expected;
        metrics[`${n} p99 ratio graphql-ws / bare`] = round(ws.p99 / Math.max(base.p99, 0.001), 1);
        if (n >= 5000 || (quick && n === sizes.at(-1))) {
          targets.push({
            name: `${n} subscribers, graphql-ws p99 (ms)`,
            value: ws.p99,
            target: '<= 50',
            pass: ws.p99 <= 50 && ws.delivered === ws.expected,
          });
        }
      }
      await server.stop();
      return {
        metrics,
        targets,
        notes: [
          'An event is executed once per operation and caller (sharedSubscribe, src/subscriptions/shared-execution.ts): one PostgreSQL read per event, not per subscriber.',
          'What is left is one socket write per subscriber: a CPU profile of the server during the 5,000 run (2026-11-24) spent ~23 µs per delivery, ~18 µs of it in the kernel (writev on a loopback TCP socket), so the last of 5,000 sockets is written ~100 ms after the first on this 2-core VM: p99 is that floor, not queueing.',
          'Clients run in the bench process: their receipt time includes parsing every message on one event loop.',
          'Server: one src/main.ts process, RUN_JOBS=false, pub/sub over Redis; 2-core machine shared with PostgreSQL, Redis and the clients.',
        ],
      };
    } finally {
      await stopAll();
      await bare.close();
      await app?.close();
      await db.drop();
      await deleteRedisKeys(redisUrl, [queuePrefix, pubSubPrefix]);
      for (const dir of [storageDir, dataDir]) rmSync(dir, { recursive: true, force: true });
    }
  },
};

const summarize = (lat: number[], expected: number): Sample => ({
  p50: round(percentile(lat, 50), 2),
  p99: round(percentile(lat, 99), 2),
  max: round(Math.max(...lat), 2),
  delivered: lat.length,
  expected,
});

/** Resolves once no message has arrived for `ms` (bounded at 60 s): stragglers never mix into a round. */
async function quiet(lastMessageAt: () => number, ms = 1000) {
  const end = Date.now() + 60_000;
  while (performance.now() - lastMessageAt() < ms && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** Publishes `events` events one at a time; each waits until `received()` reaches n (60 s bound), then quiet. */
async function measure(
  n: number,
  events: number,
  publish: () => Promise<void>,
  onRound: (startedAt: number) => void,
  received: () => number,
  lastMessageAt: () => number,
) {
  for (let e = 0; e < events; e++) {
    await quiet(lastMessageAt);
    const t0 = performance.now();
    onRound(t0);
    await publish();
    const end = Date.now() + 60_000;
    while (received() < n && Date.now() < end) await new Promise((r) => setImmediate(r));
  }
  await quiet(lastMessageAt);
}

async function fanOutBare(
  bus: ReturnType<typeof createEventBus>,
  userId: string,
  n: number,
  events: number,
  publish: () => Promise<void>,
): Promise<Sample> {
  let t0 = 0;
  let count = 0;
  let live = false;
  const lat: number[] = [];
  const got = new Uint8Array(n);
  let last = 0;
  const iterators = Array.from({ length: n }, () => bus.subscribe('USER_PREDICTION_EVENTS', userId));
  const pumps = iterators.map(async (it, i) => {
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      got[i] = 1;
      last = performance.now();
      if (!live) continue;
      lat.push(performance.now() - t0);
      count++;
    }
  });
  try {
    await untilEveryoneHasOne(got, publish, () => last);
    live = true;
    await measure(
      n,
      events,
      publish,
      (s) => {
        t0 = s;
        count = 0;
      },
      () => count,
      () => last,
    );
  } finally {
    await Promise.all(iterators.map(async (it) => void (await it.return?.())));
    await Promise.all(pumps);
  }
  return summarize(lat, n * events);
}

/**
 * Subscriptions start asynchronously: publish one event at a time until every subscriber has had
 * one, each time waiting for all deliveries or for 2 s of silence, so no backlog of warm-up events
 * is left to spill into the measured rounds.
 */
async function untilEveryoneHasOne(got: Uint8Array, publish: () => Promise<void>, lastMessageAt: () => number) {
  const n = got.length;
  const have = () => got.reduce((a, b) => a + b, 0);
  const end = Date.now() + 180_000;
  while (have() < n) {
    if (Date.now() > end) throw new Error(`only ${have()} of ${n} subscriptions live`);
    const sent = performance.now();
    await publish();
    while (have() < n && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      if (performance.now() - Math.max(sent, lastMessageAt()) > 2000) break;
    }
  }
  await quiet(lastMessageAt, 2000);
}

async function fanOutWs(
  url: string,
  authorization: string,
  n: number,
  events: number,
  publish: () => Promise<void>,
  log: (m: string) => void,
): Promise<Sample> {
  let t0 = 0;
  let count = 0;
  let live = false;
  const lat: number[] = [];
  const got = new Uint8Array(n);
  let last = 0;
  const sockets: WebSocket[] = [];
  const connect = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws');
      sockets.push(ws);
      const timer = setTimeout(() => reject(new Error(`subscriber ${i}: no ack in 60 s`)), 60_000);
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
      ws.on('message', (raw: Buffer) => {
        const at = performance.now();
        last = at;
        const m = JSON.parse(raw.toString()) as { type: string };
        if (m.type === 'connection_ack') {
          clearTimeout(timer);
          ws.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: 'subscription { myPredictionEvents { id status } }' },
            }),
          );
          resolve();
        } else if (m.type === 'next') {
          got[i] = 1;
          if (live) {
            lat.push(at - t0);
            count++;
          }
        } else if (m.type === 'error') reject(new Error(`subscriber ${i}: ${raw.toString()}`));
      });
    });
  try {
    for (let i = 0; i < n; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, n - i) }, (_, k) => connect(i + k)));
    }
    log(`  ${n} connected; waiting until every subscription receives`);
    await untilEveryoneHasOne(got, publish, () => last);
    live = true;
    await measure(
      n,
      events,
      publish,
      (s) => {
        t0 = s;
        count = 0;
      },
      () => count,
      () => last,
    );
  } finally {
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.terminate();
          }),
      ),
    );
  }
  return summarize(lat, n * events);
}
