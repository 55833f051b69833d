// Queued predictions end to end over the real transports: createPrediction over HTTP, the job run
// by the server's own worker (in-process queue), status changes over graphql-ws, the outputs and
// cost read back, the webhook received and verified, and other users kept out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { Role } from '../../src/entities/enums.js';
import { type User } from '../../src/entities/user.entity.js';
import { verifyWebhook } from '../../src/webhooks/standard-webhooks.js';
import {
  CancelPredictionDocument,
  CreatePredictionDocument,
  MyPredictionEventsDocument,
  MyPredictionsDocument,
  PredictionJobDocument,
  PredictionUpdatedDocument,
  RotateWebhookSecretDocument,
  UsageUpdatedDocument,
  WebhookSecretDocument,
} from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let consumer: User;
let other: User;
let modelId: string;
let headers: Record<string, string>;
let receiver: Server;
let hookUrl: string;
const hooks: { headers: Record<string, string>; body: string }[] = [];
const clients: Client[] = [];
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  // Loopback is allow-listed here, as the webhook guard refuses it by default.
  server = await startTestServer({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_BACKOFF_MS: '50' });
  const f = new Factory(server.app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  consumer = await f.user();
  other = await f.user();
  const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
  modelId = model.id;
  headers = await authHeaders(server.app, consumer);
}, 60_000);

afterAll(async () => {
  // dispose() returns a promise in graphql-ws 6, but its type says void | Promise<void>.
  for (const c of clients) await Promise.resolve(c.dispose());
  await server?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

function ws(user: Record<string, string>): Client {
  const client = createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: user.authorization },
    retryAttempts: 0,
  });
  clients.push(client);
  return client;
}

async function until(check: () => boolean | Promise<boolean>, what: string) {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const create = (input: Record<string, unknown>, h = headers) =>
  server.gql(CreatePredictionDocument, { input: { modelId, inputs: [X], ...input } }, h);

it('shows an event as of its own status, not the row it reads later (a late RUNNING stays RUNNING)', async () => {
  const job = (await create({})).data!.createPrediction;
  await until(
    async () =>
      (await server.gql(PredictionJobDocument, { id: job.id }, headers)).data?.prediction.status === 'SUCCEEDED',
    'the job to finish',
  );
  type Seen = { id: string; status: string; completedAt: string | null; cost: { amount: string } | null };
  const seen: Seen[] = [];
  const events = ws(headers).iterate({
    query: 'subscription { myPredictionEvents { id status completedAt cost { amount } } }',
  });
  const reading = (async () => {
    for await (const e of events) seen.push((e.data as { myPredictionEvents: Seen }).myPredictionEvents);
  })();
  const publish = (status: string) =>
    server.app.events.publish('USER_PREDICTION_EVENTS', consumer.id, {
      predictionId: job.id,
      userId: consumer.id,
      status: status as never,
      at: new Date().toISOString(),
    });
  // A RUNNING event delivered after the job finished (published late, or read late).
  await until(async () => {
    await publish('RUNNING');
    await new Promise((r) => setTimeout(r, 30));
    return seen.length > 0;
  }, 'subscription to be live');
  expect(seen[0]).toEqual({ id: job.id, status: 'RUNNING', completedAt: null, cost: null });
  await publish('SUCCEEDED');
  await until(() => seen.some((e) => e.status === 'SUCCEEDED'), 'the SUCCEEDED event');
  expect(seen.find((e) => e.status === 'SUCCEEDED')).toMatchObject({ cost: { amount: '0.0020000000' } });
  await events.return?.();
  await reading;
});

it('runs a queued prediction and streams QUEUED, RUNNING, SUCCEEDED in order to the owner', async () => {
  // A first job, run to the end, lets the test know when the event stream is live.
  const warm = (await create({})).data!.createPrediction;
  await until(
    async () =>
      (await server.gql(PredictionJobDocument, { id: warm.id }, headers)).data?.prediction.status === 'SUCCEEDED',
    'warm-up',
  );

  const statuses = new Map<string, string[]>();
  const events = ws(headers).iterate({ query: print(MyPredictionEventsDocument) });
  const reading = (async () => {
    for await (const e of events) {
      const p = (e.data as { myPredictionEvents: { id: string; status: string } }).myPredictionEvents;
      statuses.set(p.id, [...(statuses.get(p.id) ?? []), p.status]);
    }
  })();
  // Re-publish the warm-up job's last event until the subscription delivers it.
  await until(async () => {
    await server.app.events.publish('USER_PREDICTION_EVENTS', consumer.id, {
      predictionId: warm.id,
      userId: consumer.id,
      status: 'SUCCEEDED' as never,
      at: new Date().toISOString(),
    });
    await new Promise((r) => setTimeout(r, 30));
    return statuses.has(warm.id);
  }, 'subscription to be live');

  const res = await create({ webhookUrl: hookUrl, webhookEvents: ['started'], idempotencyKey: 'job-1' });
  expect(res.errors).toBeUndefined();
  const job = res.data!.createPrediction;
  expect(job.status).toBe('QUEUED');
  await until(() => statuses.get(job.id)?.includes('SUCCEEDED') ?? false, 'SUCCEEDED event');
  expect(statuses.get(job.id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
  await events.return?.();
  await reading;

  const read = (await server.gql(PredictionJobDocument, { id: job.id }, headers)).data!.prediction;
  expect(read).toMatchObject({
    status: 'SUCCEEDED',
    mode: 'ASYNC',
    queuePosition: null,
    cost: { amount: '0.0020000000' },
  });
  expect(read.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [1, 4], data: [0, 1, 3, 5] }]);

  // The same idempotency key returns the same job, not a new one.
  expect((await create({ idempotencyKey: 'job-1' })).data!.createPrediction.id).toBe(job.id);

  // Webhooks: started and completed, signed with the consumer's own secret.
  await until(() => hooks.filter((h) => h.headers['webhook-id']?.startsWith(job.id)).length === 2, 'two webhooks');
  const secret = (await server.gql(WebhookSecretDocument, {}, headers)).data!.webhookSecret;
  expect(secret).toMatch(/^whsec_/);
  const mine = hooks.filter((h) => h.headers['webhook-id']?.startsWith(job.id));
  expect(mine.map((h) => h.headers['webhook-id']).sort()).toEqual([`${job.id}.completed`, `${job.id}.started`]);
  for (const h of mine) expect(verifyWebhook(secret, h.headers, h.body)).toBe(true);
  const completed = JSON.parse(mine.find((h) => h.headers['webhook-id'] === `${job.id}.completed`)!.body) as {
    type: string;
    data: { status: string };
  };
  expect(completed).toMatchObject({ type: 'prediction.completed', data: { status: 'SUCCEEDED' } });
});

it('gives a late subscriber the final state and ends the stream', async () => {
  const job = (await create({})).data!.createPrediction;
  await until(
    async () =>
      (await server.gql(PredictionJobDocument, { id: job.id }, headers)).data?.prediction.status === 'SUCCEEDED',
    'job',
  );
  const seen: string[] = [];
  for await (const e of ws(headers).iterate({ query: print(PredictionUpdatedDocument), variables: { id: job.id } })) {
    seen.push((e.data as { predictionUpdated: { status: string } }).predictionUpdated.status);
  }
  expect(seen).toEqual(['SUCCEEDED']);
});

it('lists only the caller’s jobs, and hides them from other users everywhere', async () => {
  const job = (await create({})).data!.createPrediction;
  const otherHeaders = await authHeaders(server.app, other);
  const list = (await server.gql(MyPredictionsDocument, { first: 50 }, headers)).data!.predictions;
  expect(list.edges.map((e) => e.node.id)).toContain(job.id);
  expect((await server.gql(MyPredictionsDocument, { first: 50 }, otherHeaders)).data!.predictions.totalCount).toBe(0);
  expect((await server.gql(PredictionJobDocument, { id: job.id }, otherHeaders)).errors?.[0]?.extensions?.code).toBe(
    'NOT_FOUND',
  );
  expect((await server.gql(CancelPredictionDocument, { id: job.id }, otherHeaders)).errors?.[0]?.extensions?.code).toBe(
    'NOT_FOUND',
  );
  const denied = ws(otherHeaders).iterate({ query: print(PredictionUpdatedDocument), variables: { id: job.id } });
  // A subscription refused at its start comes back as one result with the error, then ends.
  const first = await denied.next();
  expect((first.value as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe(
    'NOT_FOUND',
  );
  expect((await denied.next()).done).toBe(true);
  expect((await create({}, {})).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  const bad = await create({ inputs: [{ ...X, shape: [2, 4] }] });
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const ssrf = await create({ webhookUrl: 'http://10.0.0.1/hook' });
  expect(ssrf.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

it('sends the consumer their running usage after predictions are metered (usageUpdated)', async () => {
  const updates: { requests: number; amount: { amount: string } }[] = [];
  const stream = ws(headers).iterate({ query: print(UsageUpdatedDocument) });
  const reading = (async () => {
    for await (const e of stream) updates.push((e.data as { usageUpdated: (typeof updates)[number] }).usageUpdated);
  })();
  const theirs: unknown[] = [];
  const otherStream = ws(await authHeaders(server.app, other)).iterate({ query: print(UsageUpdatedDocument) });
  const otherReading = (async () => {
    for await (const e of otherStream) theirs.push(e);
  })();
  // Each metered job announces the new usage; keep running jobs until the stream is live.
  await until(async () => {
    const job = (await create({})).data!.createPrediction;
    await until(
      async () =>
        (await server.gql(PredictionJobDocument, { id: job.id }, headers)).data?.prediction.status === 'SUCCEEDED',
      'job',
    );
    await new Promise((r) => setTimeout(r, 400));
    return updates.length > 0;
  }, 'a usage update');
  await stream.return?.();
  await otherStream.return?.();
  await Promise.all([reading, otherReading]);
  const { totalCount } = (await server.gql(MyPredictionsDocument, { first: 1, status: 'SUCCEEDED' }, headers)).data!
    .predictions;
  const last = updates.at(-1)!;
  expect(last.requests).toBe(totalCount);
  expect(last.amount.amount).toMatch(/^\d+\.\d+$/);
  // Nobody else's usage arrives: the other consumer's stream stayed quiet.
  expect(theirs).toEqual([]);
});

it('lets the user rotate their webhook secret: later deliveries are signed with the new one', async () => {
  const before = (await server.gql(WebhookSecretDocument, {}, headers)).data!.webhookSecret;
  const rotated = (await server.gql(RotateWebhookSecretDocument, {}, headers)).data!.rotateWebhookSecret;
  expect(rotated).toMatch(/^whsec_/);
  expect(rotated).not.toBe(before);
  expect((await server.gql(WebhookSecretDocument, {}, headers)).data!.webhookSecret).toBe(rotated);
  const job = (await create({ webhookUrl: hookUrl })).data!.createPrediction;
  await until(() => hooks.some((h) => h.headers['webhook-id'] === `${job.id}.completed`), 'webhook');
  const hook = hooks.find((h) => h.headers['webhook-id'] === `${job.id}.completed`)!;
  expect(verifyWebhook(rotated, hook.headers, hook.body)).toBe(true);
  expect(verifyWebhook(before, hook.headers, hook.body)).toBe(false);
  // Secrets are for the account holder's own session: an anonymous caller gets nothing.
  expect((await server.gql(WebhookSecretDocument, {}, {})).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});

it('answers createPrediction(wait:) with the finished job, outputs included, in one round trip', async () => {
  const res = await create({ wait: 20 });
  expect(res.errors).toBeUndefined();
  expect(res.data!.createPrediction).toMatchObject({
    status: 'SUCCEEDED',
    outputs: [expect.objectContaining({ name: 'y' })],
  });
  const tooLong = await create({ wait: 600 });
  expect(tooLong.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'wait' } });
});
