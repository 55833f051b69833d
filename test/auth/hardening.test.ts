import { getIntrospectionQuery, parse } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { buildSchema } from 'graphql';
import { operationCost } from '../../src/graphql/validation/query-cost.js';
import { authHeaders, tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

type Err = { message: string; extensions?: Record<string, unknown> };

const nested = (levels: number) => {
  // model → defaultVersion → model → defaultVersion …: every level a real field.
  const fields = Array.from({ length: levels - 1 }, (_, i) => (i % 2 === 0 ? 'defaultVersion' : 'model'));
  return `{ model(slug: "x") { ${fields.map((f) => `${f} {`).join(' ')} id ${'}'.repeat(levels - 1)} } }`;
};
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
const EXPENSIVE =
  '{ models(first: 100) { edges { node { reviews(first: 100) { edges { node { author { displayName } } } } } } } }';

describe('query cost', () => {
  const schema = buildSchema(`
    type Query { items(first: Int = 10): ItemConnection! item: Item heavy: Int }
    type ItemConnection { edges: [ItemEdge!]! totalCount: Int! }
    type ItemEdge { node: Item! }
    type Item { id: ID! children(first: Int): ItemConnection! tags: [String!]! }
  `);
  (schema.getQueryType()!.getFields().heavy.extensions as Record<string, unknown>).complexity = 50;
  const cost = (q: string, variables?: Record<string, unknown>) => operationCost(schema, parse(q), { variables });
  it.each([
    ['{ item { id tags } }', undefined, 1],
    ['{ heavy }', undefined, 50],
    ['{ items(first: 5) { totalCount edges { node { id } } } }', undefined, 1 + 5 * 2],
    ['{ items { edges { node { id } } } }', undefined, 1 + 10 * 2], // the argument's default
    ['query($n: Int) { items(first: $n) { edges { node { id } } } }', { n: 50 }, 1 + 50 * 2],
    [
      '{ items(first: 10) { edges { node { children(first: 10) { edges { node { id } } } } } } }',
      undefined,
      1 + 10 * (1 + 1 + (1 + 10 * 2)),
    ],
    [
      '{ item { ...F } } fragment F on Item { children(first: 3) { edges { node { id } } } }',
      undefined,
      1 + (1 + 3 * 2),
    ],
  ])('%s', (q, vars, expected) => {
    expect(cost(q, vars as Record<string, unknown> | undefined)).toBe(expected);
  });
});

describe('over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(async () => server?.close());

  it('stops parsing a document past 50,000 tokens, before any rule runs', async () => {
    // 400,000 directives: under the body limit (tensors need tens of MB), seconds of parsing.
    const res = await server.gql(`{ __typename ${'@include(if: true) '.repeat(400_000)}}`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/Document contains more tha[nt] 50000 tokens/),
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  });

  it('refuses a query nested 50 levels deep: QUERY_TOO_DEEP', async () => {
    const res = await server.gql(nested(50));
    expect(res.status).toBe(400);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({
      message: 'Query is nested deeper than 15 levels',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP', maxDepth: 15 },
    });
    // …while 15 levels run.
    expect((await server.gql(nested(15))).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses 1,000 aliases: TOO_MANY_ALIASES', async () => {
    const res = await server.gql(aliases(1000));
    expect(res.status).toBe(400);
    expect(res.errors![0]).toMatchObject({
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'TOO_MANY_ALIASES', aliases: 1000, maxAliases: 30 },
    });
    expect((await server.gql(aliases(30))).errors).toBeUndefined();
  });

  it('caps operations per document: TOO_MANY_OPERATIONS', async () => {
    const doc = Array.from({ length: 6 }, (_, i) => `query Q${i} { __typename }`).join('\n');
    const res = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: doc, operationName: 'Q0' }),
    });
    const body = (await res.json()) as { errors: Err[] };
    expect(body.errors[0].extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      reason: 'TOO_MANY_OPERATIONS',
    });
  });

  it('refuses a query whose page sizes multiply past the cost limit: QUERY_TOO_COMPLEX', async () => {
    const res = await server.gql(EXPENSIVE);
    expect(res.status).toBe(400);
    expect(res.errors![0]).toMatchObject({
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_COMPLEX', maxCost: 20000 },
    });
    const viaVariables = await server.gql(
      'query($n: Int) { models(first: $n) { edges { node { reviews(first: $n) { edges { node { id } } } } } } }',
      { n: 100 },
    );
    expect(viaVariables.errors?.[0]?.extensions?.reason).toBe('QUERY_TOO_COMPLEX');
    const small = await server.gql(
      'query($n: Int) { models(first: $n) { edges { node { reviews(first: $n) { edges { node { id } } } } } } }',
      { n: 10 },
    );
    expect(small.errors).toBeUndefined();
    // A cost no variable changes is remembered per parsed document: the repeat is refused too.
    expect((await server.gql(EXPENSIVE)).errors?.[0]?.extensions?.reason).toBe('QUERY_TOO_COMPLEX');
    const bigAgain = await server.gql(
      'query($n: Int) { models(first: $n) { edges { node { reviews(first: $n) { edges { node { id } } } } } } }',
      { n: 100 },
    );
    expect(bigAgain.errors?.[0]?.extensions?.reason).toBe('QUERY_TOO_COMPLEX');
  });

  it("lets GraphiQL's full introspection query through (outside production)", async () => {
    const res = await server.gql(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(res.errors).toBeUndefined();
  });

  it('refuses batched requests', async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('keeps CSRF prevention on (a form-style POST is refused)', async () => {
    const res = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: 'mutation { logout(refreshToken: "x") }' }),
    });
    expect(res.status).toBe(400);
  });
});

describe('over WebSocket', () => {
  let server: TestServer;
  let f: Factory;
  beforeAll(async () => {
    server = await startTestServer({
      GRAPHQL_INTROSPECTION: 'false',
      WS_MAX_CONNECTIONS_PER_USER: '2',
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1',
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_QUERY: '5/600',
    });
    f = new Factory(server.app);
  }, 120_000);
  afterAll(async () => server?.close());

  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.dispose();
  });
  const connect = (connectionParams: Record<string, unknown> = {}, onClose?: (code: number) => void) => {
    const client = createClient({
      url: server.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      on: { closed: (e) => onClose?.((e as { code: number }).code) },
      onNonLazyError: () => {},
    });
    clients.push(client);
    return client;
  };
  const run = (client: Client, query: string, variables?: Record<string, unknown>) =>
    new Promise<{ data?: unknown; errors?: Err[] }>((resolve) => {
      let last: { data?: unknown; errors?: Err[] } = {};
      client.subscribe(
        { query, variables },
        {
          next: (r) => (last = r as typeof last),
          error: (e) =>
            resolve({
              errors: Array.isArray(e) ? (e as Err[]) : [{ message: String((e as { reason?: string }).reason ?? e) }],
            }),
          complete: () => resolve(last),
        },
      );
    });

  it('applies the same depth, alias and cost rules as HTTP', async () => {
    const user = await f.user();
    const client = connect({ authorization: `Bearer ${await tokenFor(server.app, user)}` });
    expect((await run(client, nested(50))).errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      reason: 'QUERY_TOO_DEEP',
    });
    expect((await run(client, aliases(1000))).errors?.[0]?.extensions).toMatchObject({ reason: 'TOO_MANY_ALIASES' });
    expect((await run(client, EXPENSIVE)).errors?.[0]?.extensions).toMatchObject({ reason: 'QUERY_TOO_COMPLEX' });
    expect((await run(client, '{ nope }')).errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect((await run(client, '{ nope')).errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('refuses introspection over WebSocket when it is off', async () => {
    const client = connect();
    const res = await run(client, '{ __schema { queryType { name } } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('rate-limits WebSocket operations from the same buckets', async () => {
    const user = await f.user();
    const headers = await authHeaders(server.app, user);
    const client = connect({ authorization: headers.authorization });
    for (let i = 0; i < 5; i++) expect((await run(client, '{ __typename }')).errors).toBeUndefined();
    const refused = await run(client, '{ __typename }');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limitClass: 'query' });
    expect(typeof refused.errors?.[0]?.extensions?.retryAfter).toBe('number');
    // HTTP shares the bucket.
    expect((await server.gql('{ __typename }', {}, headers)).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('caps operations running at once on one connection', async () => {
    const user = await f.user();
    const model = await f.model(user);
    const client = connect({ authorization: `Bearer ${await tokenFor(server.app, user)}` });
    const sub = 'subscription($id: ID!) { modelVersionStatusChanged(modelId: $id) { id } }';
    let firstError: unknown;
    const stop = client.subscribe(
      { query: sub, variables: { id: model.id } },
      { next: () => {}, error: (e) => (firstError = e), complete: () => {} },
    );
    await new Promise((r) => setTimeout(r, 200));
    const second = await run(client, sub, { id: model.id });
    expect(second.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      reason: 'TOO_MANY_SUBSCRIPTIONS',
    });
    expect(firstError).toBeUndefined();
    stop();
  });

  it('caps connections per user (4429) and closes with 4403 on bad credentials', async () => {
    const user = await f.user();
    const token = await tokenFor(server.app, user);
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = connect({ authorization: `Bearer ${token}` }, (code) => codes.push(code));
      await run(c, '{ me { id } }').catch(() => {});
    }
    expect(codes).toContain(4429);
    const closed: number[] = [];
    const bad = connect({ authorization: 'Bearer nope' }, (code) => closed.push(code));
    await run(bad, '{ __typename }');
    expect(closed).toEqual([4403]);
  });

  it('closes a connection with 4401 when its access token expires', async () => {
    const user = await f.user();
    // A token with 2 s left (issued as if 898 s ago).
    const { token } = await server.app.services.auth.tokens.issue(
      user,
      new Date(Date.now() - (server.app.config.auth.jwt.accessTtlSeconds - 2) * 1000),
    );
    const codes: number[] = [];
    const client = connect({ authorization: `Bearer ${token}` }, (code) => codes.push(code));
    expect((await run(client, '{ me { id } }')).data).toEqual({ me: { id: user.id } });
    await new Promise((r) => setTimeout(r, 3000));
    expect(codes).toEqual([4401]);
  });
});
