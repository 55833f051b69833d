import { randomUUID } from 'node:crypto';
import { createClient, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';
import { setUserRole } from '../../src/auth/promote.js';
import { Role } from '../../src/entities/enums.js';
import { User } from '../../src/entities/user.entity.js';
import { authHeaders, tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

// Access JWTs are stateless: these check that a token stops at its user's current row (deleted,
// closed, or with another role), not at the token's expiry (src/auth/user-status-cache.ts).

const ME = '{ me { id role } }';
// A write whose insert references the caller's user row (a foreign key).
const CREATE_KEY = 'mutation { createApiKey(input: { name: "k", scopes: ["models:read"] }) { secret } }';
// Admin-only (`@Authorized(Role.ADMIN)`); an unknown review is NOT_FOUND once past the role check.
const MODERATE = `mutation { moderateReview(reviewId: "${randomUUID()}", hidden: true) { id } }`;

const ACCOUNT_GONE = {
  message: 'This account no longer exists or has been closed',
  extensions: { code: 'UNAUTHENTICATED', reason: 'ACCOUNT_NOT_FOUND' },
};

function codeOf(res: { errors?: { extensions?: Record<string, unknown> }[] }): unknown {
  return res.errors?.[0]?.extensions?.code;
}

/** Opens a graphql-ws connection with the token and runs `me`; resolves with data or the close code. */
/** A graphql-ws client signed in with `token`, never retrying (a refusal must show). */
function wsClient(server: TestServer, token: string, options: Partial<ClientOptions> = {}) {
  return createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    ...options,
  });
}

function overWebSocket(server: TestServer, token: string): Promise<{ data?: unknown; closeCode?: number }> {
  const client = wsClient(server, token, { lazy: true });
  return new Promise<{ data?: unknown; closeCode?: number }>((resolve) => {
    let data: unknown;
    client.subscribe(
      { query: '{ me { id } }' },
      {
        next: (r) => (data = r.data),
        error: (e) => resolve({ closeCode: (e as { code?: number }).code }),
        complete: () => resolve({ data }),
      },
    );
  }).finally(() => client.dispose());
}

describe('with the default cache lifetime (30 s)', () => {
  let server: TestServer;
  let f: Factory;
  const em = () => server.app.db.orm.em.fork();

  beforeAll(async () => {
    server = await startTestServer();
    f = new Factory(server.app);
  }, 120_000);
  afterAll(async () => server?.close());

  it('refuses a token whose user row was deleted: 401 ACCOUNT_NOT_FOUND on a query and a write, not a 500', async () => {
    const user = await f.user();
    const headers = await authHeaders(server.app, user);
    await em().nativeDelete(User, { id: user.id });

    const read = await server.gql(ME, {}, headers);
    expect(read.status).toBe(401);
    expect(read.errors?.[0]).toMatchObject(ACCOUNT_GONE);

    // Before the check, this insert failed on api_keys.user_id's foreign key: INTERNAL_SERVER_ERROR.
    const write = await server.gql(CREATE_KEY, {}, headers);
    expect(write.status).toBe(401);
    expect(write.errors?.[0]).toMatchObject(ACCOUNT_GONE);
    expect(write.data ?? null).toBeNull();
  });

  it("refuses a soft-deleted (closed) account's token at once once this process forgets it, over HTTP and WebSocket", async () => {
    const user = await f.user();
    const token = await tokenFor(server.app, user);
    const headers = { authorization: `Bearer ${token}` };
    expect((await server.gql(ME, {}, headers)).data).toEqual({ me: { id: user.id, role: 'CONSUMER' } });
    expect(await overWebSocket(server, token)).toEqual({ data: { me: { id: user.id } } });

    await em().nativeUpdate(User, { id: user.id }, { deletedAt: new Date() });
    server.app.services.auth.userStatus.forget(user.id); // what closing an account must do after its commit

    const read = await server.gql(ME, {}, headers);
    expect(read.status).toBe(401);
    expect(read.errors?.[0]).toMatchObject(ACCOUNT_GONE);
    expect((await server.gql(CREATE_KEY, {}, headers)).errors?.[0]).toMatchObject(ACCOUNT_GONE);
    // graphql-ws refuses a connection whose credential fails (onConnect → false: 4403).
    expect(await overWebSocket(server, token)).toEqual({ closeCode: 4403 });
  });

  it('re-checks an open WebSocket on its next operation: a new role applies, a closed account is closed with 4403', async () => {
    const admin = await f.user({ role: Role.ADMIN });
    const token = await tokenFor(server.app, admin);
    const client = wsClient(server, token, {
      // One socket for every operation below (lazy clients reconnect per operation).
      lazy: false,
      // The 4403 below is expected; the default handler would console.error it.
      onNonLazyError: () => undefined,
    });
    let closeCode: number | undefined;
    let connections = 0;
    client.on('connected', () => connections++);
    client.on('closed', (e) => (closeCode = (e as { code?: number }).code));
    /** The first error code of one operation on the shared socket, or 'OK', or 'CLOSED'. */
    const run = (query: string) =>
      new Promise<unknown>((resolve) => {
        let out: unknown = 'OK';
        client.subscribe(
          { query },
          {
            next: (r) => (out = r.errors?.[0]?.extensions?.code ?? 'OK'),
            error: () => resolve('CLOSED'),
            complete: () => resolve(out),
          },
        );
      });
    try {
      expect(await run(MODERATE)).toBe('NOT_FOUND'); // past the role check
      // Demoted while connected: the next operation on the same socket runs without admin.
      await setUserRole(em(), { email: admin.email, role: Role.CONSUMER }, server.app.services.auth.userStatus);
      expect(await run(MODERATE)).toBe('FORBIDDEN');

      await em().nativeUpdate(User, { id: admin.id }, { deletedAt: new Date() });
      server.app.services.auth.userStatus.forget(admin.id);
      expect(await run(ME)).toBe('CLOSED');
      expect(closeCode).toBe(4403);
      expect(connections).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it("takes the role from the database over the token's claim: a demoted admin loses admin at once (promote's invalidation)", async () => {
    const admin = await f.user({ role: Role.ADMIN });
    const headers = await authHeaders(server.app, admin); // the token says ADMIN
    expect(codeOf(await server.gql(MODERATE, {}, headers))).toBe('NOT_FOUND'); // past the role check

    await setUserRole(em(), { email: admin.email, role: Role.CONSUMER }, server.app.services.auth.userStatus);

    const demoted = await server.gql(MODERATE, {}, headers);
    expect(demoted.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'ROLE_REQUIRED' });
    expect((await server.gql(ME, {}, headers)).data).toEqual({ me: { id: admin.id, role: 'CONSUMER' } });

    // And the other way: a CONSUMER token for a user since promoted acts as an admin.
    await setUserRole(em(), { email: admin.email, role: Role.ADMIN }, server.app.services.auth.userStatus);
    expect(codeOf(await server.gql(MODERATE, {}, headers))).toBe('NOT_FOUND');
  });

  it('reads a user once for many requests while the answer is cached', async () => {
    const user = await f.user();
    const headers = await authHeaders(server.app, user);
    const first = await server.gql(ME, {}, headers);
    const again = await server.gql(ME, {}, headers);
    expect(first.errors).toBeUndefined();
    // `me` itself reads the user (1 statement); only the first request also looked up its status.
    expect(first.sqlStatements).toBe(2);
    expect(again.sqlStatements).toBe(1);
  });
});

describe('with a 1 s cache lifetime (USER_STATUS_CACHE_SECONDS=1)', () => {
  let server: TestServer;
  let f: Factory;
  const em = () => server.app.db.orm.em.fork();
  const pastTheTtl = () => new Promise((r) => setTimeout(r, 1_200));

  beforeAll(async () => {
    server = await startTestServer({ USER_STATUS_CACHE_SECONDS: '1' });
    f = new Factory(server.app);
  }, 120_000);
  afterAll(async () => server?.close());

  it('a change made elsewhere (another replica, the promote CLI) applies once the cached answer expires', async () => {
    const admin = await f.user({ role: Role.ADMIN });
    const headers = await authHeaders(server.app, admin);
    expect(codeOf(await server.gql(MODERATE, {}, headers))).toBe('NOT_FOUND');

    // Not through this process's cache: only the TTL bounds it.
    await em().nativeUpdate(User, { id: admin.id }, { role: Role.CONSUMER });
    await pastTheTtl();
    expect(codeOf(await server.gql(MODERATE, {}, headers))).toBe('FORBIDDEN');

    await em().nativeUpdate(User, { id: admin.id }, { deletedAt: new Date() });
    await pastTheTtl();
    expect((await server.gql(ME, {}, headers)).errors?.[0]).toMatchObject(ACCOUNT_GONE);
  });
});
