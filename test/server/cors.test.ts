import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * CORS as a browser negotiates it, header by header (the browser itself: cors-chromium.test.ts).
 * This server runs with the default policy outside production: localhost origins on any port.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

const LOCAL = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';
const CLIENT_HEADERS = ['content-type', 'authorization', 'x-api-key', 'x-request-id', 'apollo-require-preflight'];

function preflight(path: string, origin: string, method = 'POST', headers = CLIENT_HEADERS) {
  return fetch(`${server.origin}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers.join(','),
    },
  });
}

const list = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase());

it('answers a preflight for /graphql from an allowed origin with every header clients send', async () => {
  const res = await preflight('/graphql', LOCAL);
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(LOCAL);
  expect(list(res.headers.get('access-control-allow-methods'))).toEqual(expect.arrayContaining(['get', 'post']));
  expect(list(res.headers.get('access-control-allow-headers'))).toEqual(expect.arrayContaining(CLIENT_HEADERS));
  expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThanOrEqual(600);
  // Bearer tokens and API keys are headers, not cookies: credentialed CORS is never allowed.
  expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  expect(list(res.headers.get('vary'))).toContain('origin');
  expect(res.headers.get('x-request-id')).toBeTruthy();
});

it('refuses a preflight from an origin that is not allowed, with no CORS headers', async () => {
  const res = await preflight('/graphql', FOREIGN);
  expect(res.status).toBe(403);
  expect(res.headers.get('access-control-allow-origin')).toBeNull();
  expect(res.headers.get('access-control-allow-headers')).toBeNull();
  const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
  expect(body.errors[0]).toMatchObject({
    message: expect.stringContaining('CORS_ORIGINS') as unknown,
    extensions: { code: 'FORBIDDEN', requestId: res.headers.get('x-request-id') },
  });
});

it('lets an allowed page read the answer and the headers it needs; a foreign one gets no grant', async () => {
  const ask = (origin: string) =>
    fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ models(first: 1) { totalCount } }' }),
    });
  const allowed = await ask(LOCAL);
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get('access-control-allow-origin')).toBe(LOCAL);
  expect(list(allowed.headers.get('access-control-expose-headers'))).toEqual(
    expect.arrayContaining([
      'x-request-id',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'retry-after',
    ]),
  );
  expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
  const foreign = await ask(FOREIGN);
  expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
});

it('covers the health probes but not /metrics or the Stripe webhook', async () => {
  const health = await fetch(`${server.origin}/health/live`, { headers: { origin: LOCAL } });
  expect(health.headers.get('access-control-allow-origin')).toBe(LOCAL);
  expect((await preflight('/health/ready', LOCAL, 'GET', ['x-request-id'])).status).toBe(204);
  const metrics = await fetch(`${server.origin}/metrics`, { headers: { origin: LOCAL } });
  expect(metrics.headers.get('access-control-allow-origin')).toBeNull();
  const webhook = await fetch(`${server.origin}/webhooks/stripe`, {
    method: 'POST',
    headers: { origin: LOCAL, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(webhook.headers.get('access-control-allow-origin')).toBeNull();
  expect((await preflight('/webhooks/stripe', LOCAL)).headers.get('access-control-allow-origin')).toBeNull();
});

it('answers a plain OPTIONS /graphql (no preflight) with the methods it takes', async () => {
  const res = await fetch(`${server.origin}/graphql`, { method: 'OPTIONS' });
  expect(res.status).toBe(204);
  expect(list(res.headers.get('allow'))).toEqual(expect.arrayContaining(['get', 'post', 'options']));
});
