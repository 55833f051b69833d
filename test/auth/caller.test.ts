import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Role } from '../../src/entities/enums.js';
import { apiKeyFor, authHeaders, tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
}, 120_000);
afterAll(async () => server?.close());

const ME = '{ me { id role displayName email } }';

function wsClient(connectionParams: Record<string, unknown>): Client {
  return createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Runs one query over WebSocket; resolves with the result or with the close event's code. */
function wsQuery(client: Client, query: string): Promise<{ data?: unknown; errors?: unknown; closeCode?: number }> {
  return new Promise((resolve) => {
    let result: { data?: unknown; errors?: unknown } = {};
    client.subscribe(
      { query },
      {
        next: (r) => (result = r as typeof result),
        error: (e) => resolve({ closeCode: (e as { code?: number }).code, errors: Array.isArray(e) ? e : undefined }),
        complete: () => resolve(result),
      },
    );
  });
}

describe('caller resolution over HTTP', () => {
  it('is anonymous without credentials', async () => {
    const res = await server.gql(ME);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('knows the user behind a Bearer access token', async () => {
    const user = await f.user({ role: Role.PUBLISHER });
    const res = await server.gql(ME, {}, await authHeaders(server.app, user));
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      me: { id: user.id, role: 'PUBLISHER', displayName: user.displayName, email: user.email },
    });
  });

  it('knows the owner of an X-API-Key, and of a key sent as a Bearer token', async () => {
    const user = await f.user();
    const secret = await apiKeyFor(server.app, user, ['models:read']);
    expect(secret).toMatch(/^aimpk_[0-9A-Za-z]{32}$/);
    const viaHeader = await server.gql(ME, {}, { 'x-api-key': secret });
    expect(viaHeader.data).toMatchObject({ me: { id: user.id } });
    const viaBearer = await server.gql(ME, {}, { authorization: `Bearer ${secret}` });
    expect(viaBearer.data).toMatchObject({ me: { id: user.id } });
  });

  it('answers 401 UNAUTHENTICATED for a bad token instead of running anonymously', async () => {
    const res = await server.gql('{ models(first: 1) { totalCount } }', {}, { authorization: 'Bearer not.a.jwt' });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]).toMatchObject({
      message: 'Invalid access token',
      extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' },
    });
    const key = await server.gql(ME, {}, { 'x-api-key': `aimpk_${'x'.repeat(32)}` });
    expect(key.status).toBe(401);
    expect(key.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_API_KEY' });
  });
});

describe('caller resolution over WebSocket', () => {
  it('carries the caller from connectionParams into each operation', async () => {
    const user = await f.user();
    const client = wsClient({ authorization: `Bearer ${await tokenFor(server.app, user)}` });
    try {
      expect(await wsQuery(client, '{ me { id } }')).toEqual({ data: { me: { id: user.id } } });
    } finally {
      await client.dispose();
    }
    const keyClient = wsClient({ apiKey: await apiKeyFor(server.app, user, ['predict']) });
    try {
      expect(await wsQuery(keyClient, '{ me { id } }')).toEqual({ data: { me: { id: user.id } } });
    } finally {
      await keyClient.dispose();
    }
  });

  it('runs anonymously without connectionParams', async () => {
    const client = wsClient({});
    try {
      const res = await wsQuery(client, '{ me { id } }');
      expect((res.errors as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code).toBe(
        'UNAUTHENTICATED',
      );
    } finally {
      await client.dispose();
    }
  });

  it('closes with 4403 when connectionParams carry a bad credential', async () => {
    for (const params of [{ authorization: 'Bearer nope' }, { apiKey: `aimpk_${'0'.repeat(32)}` }]) {
      const client = wsClient(params);
      try {
        expect((await wsQuery(client, '{ me { id } }')).closeCode).toBe(4403);
      } finally {
        await client.dispose();
      }
    }
  });
});
