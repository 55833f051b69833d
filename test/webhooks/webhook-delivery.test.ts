import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MemoryJobQueue } from '../../src/jobs/memory-job-queue.js';
import { generateWebhookSecret, verifyWebhook } from '../../src/webhooks/standard-webhooks.js';
import { WebhookDispatcher, type WebhookJob } from '../../src/webhooks/webhook-dispatcher.js';
import { TARGET_REFUSED, WebhookAllowList } from '../../src/webhooks/webhook-target.js';

/**
 * Deliveries to a real HTTP receiver on loopback (allow-listed here, as the tests' config does):
 * the receiver verifies every signature the way a Standard Webhooks library does, answers 500
 * twice and then 200, and we check the retries, the stable webhook-id, the attempt log, and that
 * a private address that is not allow-listed is given up at once.
 */
type Received = { headers: Record<string, string>; body: string; valid: boolean };

const secret = generateWebhookSecret();
let receiver: Server;
let url: string;
const received: Received[] = [];
let failuresLeft = 2;

const logs: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  }),
);

beforeAll(async () => {
  receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ headers, body, valid: verifyWebhook(secret, headers, body) });
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('not yet');
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/predictions`;
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

function dispatcher(queue: MemoryJobQueue<WebhookJob>, allow: string[]) {
  return new WebhookDispatcher({
    queue,
    secretFor: async () => secret,
    allow: new WebhookAllowList(allow),
    logger,
    timeoutMs: 2000,
    attempts: 4,
    backoffMs: 20,
    concurrency: 2,
  });
}

const until = async (check: () => boolean, what: string) => {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

it('signs every attempt, retries 500s with backoff, and keeps the webhook-id stable', async () => {
  const queue = new MemoryJobQueue<WebhookJob>('webhooks');
  const d = dispatcher(queue, ['127.0.0.1']);
  d.start();
  const event = {
    type: 'prediction.completed',
    timestamp: new Date().toISOString(),
    data: { id: 'p-1', status: 'SUCCEEDED' },
  };
  const eventId = await d.dispatch('user-1', url, event, 'evt_p-1.completed');
  await until(() => received.length === 3, 'three attempts');
  await queue.close();

  expect(received.map((r) => r.valid)).toEqual([true, true, true]);
  expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
  expect(JSON.parse(received[2].body)).toEqual(event);
  const attempts = logs.filter((l) => l.eventId === eventId);
  expect(attempts.map((l) => [l.msg, l.attempt, l.status])).toEqual([
    ['webhook attempt failed', 1, 500],
    ['webhook attempt failed', 2, 500],
    ['webhook delivered', 3, 204],
  ]);
});

it('refuses a private address that is not allow-listed, without retrying', async () => {
  const queue = new MemoryJobQueue<WebhookJob>('webhooks-private');
  const d = dispatcher(queue, []);
  d.start();
  const before = received.length;
  const eventId = await d.dispatch('user-1', url, { type: 'prediction.completed', timestamp: '', data: {} });
  await until(() => logs.some((l) => l.eventId === eventId && l.msg === 'webhook given up'), 'give up');
  await queue.close();
  expect(received.length).toBe(before);
  const lines = logs.filter((l) => l.eventId === eventId);
  expect(lines.filter((l) => l.msg === 'webhook attempt failed')).toHaveLength(1);
  expect(lines.find((l) => l.msg === 'webhook attempt failed')?.error).toBe(TARGET_REFUSED);
});
