import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Request ids as a client and an operator see them: `x-request-id` on every HTTP response,
 * whichever route (or none) answered; `extensions.requestId` on every error, masked ones
 * included, equal to that header; over WebSocket one id per operation, on its errors and its log
 * line. A client's own well-formed id is kept, anything else replaced.
 */
let server: TestServer;
const lines: Record<string, unknown>[] = [];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  server = await startTestServer({}, { logger: pino({ level: 'info' }, sink) });
  const f = new Factory(server.app);
  await f.model(await f.user(), { slug: 'rid-model' });
});
afterAll(async () => server?.close());

type ErrorBody = { errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function request(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.origin}${path}`, { redirect: 'manual', ...init });
  const text = await res.text();
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    /* not JSON (metrics, a redirect) */
  }
  return { status: res.status, id: res.headers.get('x-request-id'), body };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('x-request-id over HTTP', () => {
  // Three values a row: jest.each takes a test function with more parameters than values for a `done` callback.
  const routes: [string, string, RequestInit][] = [
    ['a GraphQL query', '/graphql', json({ query: '{ models { totalCount } }' })],
    ['a GraphQL error', '/graphql', json({ query: '{ nope }' })],
    ['health live', '/health/live', {}],
    ['health ready', '/health/ready', {}],
    ['metrics', '/metrics', {}],
    ['an unknown route', '/no/such/route', {}],
    ['an unknown playground asset', '/playground/no-such-file.js', {}],
    ['a body-parser error', '/graphql', json('{"query": ')],
    ['the Stripe webhook', '/webhooks/stripe', json({})],
    ['the root', '/', {}],
    [
      'a preflight',
      '/graphql',
      { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' } },
    ],
  ];

  it.each(routes)('is generated for %s', async (_label, path, init) => {
    const res = await request(path, init);
    expect(res.id).toMatch(UUID);
  });

  it.each(routes)("keeps the client's well-formed id for %s", async (_label, path, init) => {
    const id = `client-${Math.random().toString(36).slice(2)}`;
    const res = await request(path, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), 'x-request-id': id },
    });
    expect(res.id).toBe(id);
  });

  it('replaces an id that is not well-formed', async () => {
    for (const bad of ['has spaces', 'x'.repeat(101), 'semi;colon', '<script>']) {
      const res = await request('/health/live', { headers: { 'x-request-id': bad } });
      expect(res.id).toMatch(UUID);
    }
  });
});

describe('extensions.requestId on every HTTP error', () => {
  const cases: [string, () => Promise<Awaited<ReturnType<typeof request>>>, string][] = [
    ['a parse error', () => request('/graphql', json({ query: '{ models { ' })), 'GRAPHQL_PARSE_FAILED'],
    ['a validation error', () => request('/graphql', json({ query: '{ nope }' })), 'GRAPHQL_VALIDATION_FAILED'],
    ['a service error', () => request('/graphql', json({ query: '{ model(slug: "none") { id } }' })), 'NOT_FOUND'],
    [
      'a bad token (the context fails)',
      () => request('/graphql', json({ query: '{ me { id } }' }, { authorization: 'Bearer not-a-jwt' })),
      'UNAUTHENTICATED',
    ],
    [
      'a CSRF refusal',
      () =>
        request(`/graphql?query=${encodeURIComponent('{ models { totalCount } }')}`, {
          headers: { accept: 'application/json' },
        }),
      'BAD_REQUEST',
    ],
    ['malformed JSON', () => request('/graphql', json('{"query": ')), 'BAD_REQUEST'],
    ['an unknown route', () => request('/no/such/route'), 'NOT_FOUND'],
  ];

  it.each(cases)('is on %s, equal to the header', async (_label, send, code) => {
    const res = await send();
    expect(res.body.errors?.length).toBeGreaterThan(0);
    for (const error of res.body.errors ?? []) {
      expect(error.extensions).toMatchObject({ code, requestId: res.id });
    }
  });

  it('is on a masked INTERNAL_SERVER_ERROR, and the log line of the failure carries it', async () => {
    const em = server.app.db.orm.em.fork();
    await em.execute('alter table users rename to users_gone');
    let res;
    try {
      res = await request('/graphql', json({ query: '{ model(slug: "rid-model") { owner { displayName } } }' }));
    } finally {
      await em.execute('alter table users_gone rename to users');
    }
    expect(res.body.errors?.[0]).toEqual(
      expect.objectContaining({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: res.id },
      }),
    );
    const logged = lines.find((l) => l.msg === 'unexpected error in GraphQL operation' && l.requestId === res.id);
    expect(logged).toBeDefined();
  });
});

describe('request ids over WebSocket', () => {
  let client: Client;
  beforeAll(() => {
    client = createClient({ url: server.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  });
  afterAll(async () => client?.dispose());

  /** Runs one operation; resolves with its results or the errors it ended with. */
  function run(payload: { query: string; extensions?: Record<string, unknown> }) {
    return new Promise<{ results: ErrorBody[]; errors?: ErrorBody['errors'] }>((resolve) => {
      const results: ErrorBody[] = [];
      client.subscribe(payload, {
        next: (v) => results.push(v as ErrorBody),
        error: (e) => resolve({ results, errors: e as ErrorBody['errors'] }),
        complete: () => resolve({ results }),
      });
    });
  }

  it('gives each operation its own id, on refused operations and on execution errors alike', async () => {
    const refused = await run({ query: '{ nope }' });
    const failed = await run({ query: '{ model(slug: "none") { id } }' });
    const refusedId = refused.errors?.[0]?.extensions?.requestId;
    const failedId = failed.results[0]?.errors?.[0]?.extensions?.requestId;
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(failed.results[0]?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(refusedId).toMatch(UUID);
    expect(failedId).toMatch(UUID);
    expect(refusedId).not.toBe(failedId);
  });

  it('masks an internal failure and still gives its id, which the log line has', async () => {
    const em = server.app.db.orm.em.fork();
    await em.execute('alter table users rename to users_gone');
    let out;
    try {
      out = await run({ query: '{ model(slug: "rid-model") { owner { displayName } } }' });
    } finally {
      await em.execute('alter table users_gone rename to users');
    }
    const error = out.results[0]?.errors?.[0];
    expect(error).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: expect.stringMatching(UUID) as unknown },
    });
    expect(JSON.stringify(out)).not.toMatch(/users_gone|relation|select/i);
    const id = error?.extensions?.requestId;
    expect(lines.find((l) => l.msg === 'unexpected error in GraphQL operation' && l.requestId === id)).toBeDefined();
  });

  it("logs each operation with its id (a client's well-formed one is kept) and its root field when unnamed", async () => {
    const requestId = `ws-client-${Math.random().toString(36).slice(2)}`;
    const out = await run({ query: '{ models { totalCount } }', extensions: { requestId } });
    expect(out.errors).toBeUndefined();
    const logged = lines.find((l) => l.msg === 'graphql operation' && l.requestId === requestId);
    expect(logged).toMatchObject({ transport: 'ws', operation: 'query models', type: 'query' });
    const refused = await run({ query: '{ nope }', extensions: { requestId: 'not well formed!' } });
    const refusedId = refused.errors?.[0]?.extensions?.requestId;
    expect(refusedId).toMatch(UUID);
    expect(lines.find((l) => l.msg === 'graphql operation' && l.requestId === refusedId)).toMatchObject({
      transport: 'ws',
      errors: ['GRAPHQL_VALIDATION_FAILED'],
    });
  });
});
