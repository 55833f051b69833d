import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

describe('health probes', () => {
  it('answers live without touching dependencies', async () => {
    const res = await fetch(`${server.origin}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when the database answers and every migration is applied', async () => {
    const res = await fetch(`${server.origin}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, migrations: { ok: true } },
    });
  });
});

describe('connections', () => {
  it('keeps idle keep-alive connections longer than a load balancer in front (65 s, not Node’s 5 s)', async () => {
    const header = await new Promise<string | undefined>((resolve, reject) => {
      request(`${server.origin}/health/live`, { agent: false, headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        resolve(String(res.headers['keep-alive']));
      })
        .on('error', reject)
        .end();
    });
    expect(header).toBe('timeout=65');
  });
});

describe('errors', () => {
  it('answers a syntax error with GRAPHQL_PARSE_FAILED and no stack trace', async () => {
    const res = await server.gql('{ models { ');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });

  it('answers an unknown field with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await server.gql('{ models { edges { node { nope } } } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers a badly typed variable with BAD_USER_INPUT', async () => {
    const res = await server.gql('query($n: Int) { models(first: $n) { totalCount } }', { n: 'ten' });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('masks unexpected failures as INTERNAL_SERVER_ERROR without details', async () => {
    const f = new Factory(server.app);
    await f.model(await f.user(), { slug: 'masked' });
    // Break the database underneath one request: the client must learn nothing about it.
    const em = server.app.db.orm.em.fork();
    await em.execute('alter table users rename to users_gone');
    try {
      const res = await server.gql('{ model(slug: "masked") { slug owner { displayName } } }');
      expect(res.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(res.errors)).not.toMatch(/users_gone|relation|sql|select|stack/i);
    } finally {
      await em.execute('alter table users_gone rename to users');
    }
  });

  it('answers malformed JSON with BAD_REQUEST, not an HTML page', async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  // Found by the abuse corpus (test/chaos/abuse-http.chaos.test.ts): Apollo refuses a persisted
  // query whose hash does not match with HTTP 400 but no code, which was masked as INTERNAL_SERVER_ERROR.
  it('answers a persisted query with a wrong hash with BAD_REQUEST', async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ __typename }',
        extensions: { persistedQuery: { version: 1, sha256Hash: 'not-the-hash' } },
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      errors: [{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  // Found by the abuse corpus: PostgreSQL cannot store U+0000, and the driver failed on it with a
  // protocol error, answered as a 500 (or SERVICE_UNAVAILABLE, to be retried forever).
  it('refuses NUL characters in variables and literals with BAD_USER_INPUT', async () => {
    const search = await server.gql('query($s: String) { models(filter: { search: $s }) { totalCount } }', {
      s: 'a\u0000b',
    });
    expect(search.status).toBe(400);
    expect(search.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const literal = await server.gql('{ model(slug: "a\\u0000") { id } }');
    expect(literal.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const client = createClient({ url: server.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const error = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'query($s: String) { models(filter: { search: $s }) { totalCount } }', variables: { s: '\u0000' } },
          { next: () => undefined, error: resolve, complete: () => resolve(undefined) },
        );
      });
      expect(error).toEqual([
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', requestId: expect.any(String) as unknown } }),
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('keeps CSRF prevention on for simple requests', async () => {
    const res = await fetch(`${server.origin}/graphql?query=${encodeURIComponent('{ models { totalCount } }')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF|preflight/i);
  });
});

describe('routes other than /graphql', () => {
  it('answers GET / with JSON naming the endpoints for API clients', async () => {
    const res = await fetch(`${server.origin}/`, { headers: { accept: '*/*' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ graphql: '/graphql', health: { ready: '/health/ready' } });
  });

  it('redirects a browser asking for GET / to the playground at /graphql', async () => {
    const res = await fetch(`${server.origin}/`, {
      redirect: 'manual',
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphql');
  });

  it('answers an unknown route with a JSON 404 carrying a code and the request id', async () => {
    const res = await fetch(`${server.origin}/graphq`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({
      errors: [
        {
          message: 'No route for POST /graphq: the API is at /graphql',
          extensions: { code: 'NOT_FOUND', requestId: res.headers.get('x-request-id') },
        },
      ],
    });
  });
});

describe('GraphQL over WebSocket on the same port', () => {
  it('runs a catalog query through graphql-ws', async () => {
    const f = new Factory(server.app);
    await f.model(await f.user(), { slug: 'over-ws' });
    const client = createClient({ url: server.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: '{ model(slug: "over-ws") { slug } }' },
          { next: (v) => (value = v), error: reject, complete: () => resolve(value) },
        );
      });
      expect(result).toEqual({ data: { model: { slug: 'over-ws' } } });
    } finally {
      await client.dispose();
    }
  });
});
