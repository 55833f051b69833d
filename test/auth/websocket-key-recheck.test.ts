// An open WebSocket signed in with an API key re-checks the key and its owner on every operation:
// a key revoked, rotated away or expired, or an owner deleted, closes the socket with 4403 (the
// operation is refused); an owner demoted keeps the socket with the new role's powers only.
import { setUserRole } from '../../src/auth/promote.js';
import { ApiKey } from '../../src/entities/api-key.entity.js';
import { Role } from '../../src/entities/enums.js';
import { User } from '../../src/entities/user.entity.js';
import { apiKeyFor, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, type WsResult } from '../support/ws-client.js';

let server: TestServer;
let f: Factory;
const em = () => server.app.db.orm.em.fork();
/** Past API_KEY_CACHE_SECONDS (1 here): what another replica changed is seen by then. */
const pastTheTtl = () => new Promise((r) => setTimeout(r, 1_200));

beforeAll(async () => {
  server = await startTestServer({ API_KEY_CACHE_SECONDS: '1' });
  f = new Factory(server.app);
}, 120_000);
afterAll(async () => server?.close());

const ME = '{ me { id role } }';
const CREATE_MODEL = (n: number) =>
  `mutation { createModel(input: { slug: "recheck-${n}", name: "R", task: "test" }) { id } }`;

/** 'OK', the first error's code and reason, or CLOSED(<code>). */
function outcome(res: WsResult): string {
  if (res.closeCode !== undefined) return `CLOSED(${res.closeCode})`;
  const e = res.errors?.[0]?.extensions as { code?: string; reason?: string } | undefined;
  return e ? `${e.code}${e.reason ? `:${e.reason}` : ''}` : 'OK';
}

const keyIdOf = async (secret: string, owner: User) =>
  (await em().findOneOrFail(ApiKey, { prefix: secret.slice(0, 12), user: owner.id })).id;

type Case = {
  change: string;
  owner: Role;
  scopes: string[];
  /** What the operation after the change runs (default: `me`). */
  op?: (n: number) => string;
  apply: (ctx: { owner: User; keyId: string; token: Record<string, string> }) => Promise<void>;
  /** The outcomes that mean "refused": the socket closed with 4403 or the refusal reached the client. */
  refused: string[];
  /** Whether the socket must be closed with 4403 afterwards. */
  closes: boolean;
};

const CASES: Case[] = [
  {
    change: 'the key is revoked',
    owner: Role.CONSUMER,
    scopes: ['models:read'],
    apply: async ({ keyId, token }) => {
      await server.gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: keyId }, token);
    },
    refused: ['CLOSED(4403)', 'UNAUTHENTICATED:API_KEY_REVOKED'],
    closes: true,
  },
  {
    change: 'the key is rotated',
    owner: Role.CONSUMER,
    scopes: ['models:read'],
    apply: async ({ keyId, token }) => {
      await server.gql('mutation($id: ID!) { rotateApiKey(id: $id) { secret } }', { id: keyId }, token);
    },
    refused: ['CLOSED(4403)', 'UNAUTHENTICATED:API_KEY_REVOKED'],
    closes: true,
  },
  {
    change: 'the key expires (changed elsewhere: seen within the TTL)',
    owner: Role.CONSUMER,
    scopes: ['models:read'],
    apply: async ({ keyId }) => {
      await em().nativeUpdate(ApiKey, { id: keyId }, { expiresAt: new Date(Date.now() - 1000) });
      await pastTheTtl();
    },
    refused: ['CLOSED(4403)', 'UNAUTHENTICATED:API_KEY_EXPIRED'],
    closes: true,
  },
  {
    change: 'its owner is deleted',
    owner: Role.CONSUMER,
    scopes: ['models:read'],
    apply: async ({ owner }) => {
      await em().nativeUpdate(User, { id: owner.id }, { deletedAt: new Date() });
      server.app.services.auth.userStatus.forget(owner.id);
    },
    refused: ['CLOSED(4403)', 'UNAUTHENTICATED:ACCOUNT_NOT_FOUND'],
    closes: true,
  },
  {
    change: 'its owner is demoted from publisher to consumer',
    owner: Role.PUBLISHER,
    scopes: ['models:write', 'models:read'],
    op: CREATE_MODEL,
    apply: async ({ owner }) => {
      await setUserRole(em(), { email: owner.email, role: Role.CONSUMER }, server.app.services.auth.userStatus);
    },
    refused: ['FORBIDDEN:ROLE_REQUIRED', 'FORBIDDEN:SCOPE_REQUIRED'],
    closes: false,
  },
];

let n = 0;
it.each(CASES.map((c) => [c.change, c] as const))('when %s, the next operation is refused', async (_label, c) => {
  const owner = await f.user({ role: c.owner });
  const token = await authHeaders(server.app, owner);
  const secret = await apiKeyFor(server.app, owner, c.scopes);
  const keyId = await keyIdOf(secret, owner);
  const ws = openWs(server, { apiKey: secret });
  const op = c.op ?? (() => ME);
  try {
    expect(outcome(await ws.run(op(++n)))).toBe('OK');
    expect(outcome(await ws.run(op(++n)))).toBe('OK'); // the key's status is cached now
    await c.apply({ owner, keyId, token });
    expect(c.refused).toContain(outcome(await ws.run(op(++n))));
    // All on the one connection opened before the change (no reconnect re-authenticated it).
    expect(ws.connections).toBe(1);
    if (c.closes) {
      await new Promise((r) => setTimeout(r, 50));
      expect(ws.closeCode).toBe(4403);
    } else {
      // Still open, with the new role: what the role allows still runs.
      expect(outcome(await ws.run(ME))).toBe('OK');
      expect(ws.closeCode).toBeUndefined();
    }
  } finally {
    await ws.dispose();
  }
});

it.each(CASES.map((c) => [c.change, c] as const))(
  'over HTTP too, when %s the next request is refused at once (the key itself is still in the key cache)',
  async (_label, c) => {
    const owner = await f.user({ role: c.owner });
    const token = await authHeaders(server.app, owner);
    const secret = await apiKeyFor(server.app, owner, c.scopes);
    const keyId = await keyIdOf(secret, owner);
    const op = c.op ?? (() => ME);
    const send = async () => {
      const res = await server.gql(op(++n), {}, { 'x-api-key': secret });
      return outcome({ errors: res.errors });
    };
    expect(await send()).toBe('OK');
    await c.apply({ owner, keyId, token });
    expect(c.refused).toContain(await send());
  },
);
