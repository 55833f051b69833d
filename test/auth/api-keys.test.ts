import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { ApiKey } from '../../src/entities/api-key.entity.js';
import { Role } from '../../src/entities/enums.js';
import { User } from '../../src/entities/user.entity.js';
import { apiKeyFor, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer({ API_KEY_MAX_PER_USER: '3' });
  f = new Factory(server.app);
}, 120_000);
afterAll(async () => server?.close());

const KEY_FIELDS = 'id name prefix scopes expiresAt lastUsedAt revokedAt rotatedFromId createdAt';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`;
const LIST = `{ apiKeys { ${KEY_FIELDS} } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const ROTATE = `mutation($id: ID!) { rotateApiKey(id: $id) { secret apiKey { ${KEY_FIELDS} } } }`;
const ME = '{ me { id } }';

type Key = { id: string; prefix: string; scopes: string[]; rotatedFromId: string | null; revokedAt: string | null };
type Created = { createApiKey: { secret: string; apiKey: Key } };

const ext = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;

async function create(user: User, input: Record<string, unknown>) {
  return server.gql<Created>(
    CREATE,
    { input: { name: 'ci', scopes: ['models:read'], ...input } },
    await authHeaders(server.app, user),
  );
}

it('creates a key whose secret is shown once and stored only as a hash', async () => {
  const user = await f.user();
  const res = await create(user, { scopes: ['predict', 'models:read'], expiresInDays: 30 });
  expect(res.errors).toBeUndefined();
  const { secret, apiKey } = res.data!.createApiKey;
  expect(secret).toMatch(/^aimpk_[0-9A-Za-z]{32}$/);
  expect(apiKey.prefix).toBe(secret.slice(0, 12));
  expect(apiKey.scopes.sort()).toEqual(['models:read', 'predict']);
  const row = await server.app.db.orm.em.fork().findOneOrFail(ApiKey, { id: apiKey.id });
  expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(row)).not.toContain(secret);
  const list = await server.gql<{ apiKeys: Key[] }>(LIST, {}, await authHeaders(server.app, user));
  expect(list.data!.apiKeys.map((k) => k.id)).toEqual([apiKey.id]);
  expect(JSON.stringify(list)).not.toContain(secret);
  expect((await server.gql(ME, {}, { 'x-api-key': secret })).data).toEqual({ me: { id: user.id } });
});

it('validates scopes against the known list and the owner role', async () => {
  const consumer = await f.user({ role: Role.CONSUMER });
  expect(ext(await create(consumer, { scopes: ['models:delete'] }))).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'scopes',
  });
  expect(ext(await create(consumer, { scopes: [] }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scopes' });
  expect(ext(await create(consumer, { scopes: ['models:write'] }))).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'scopes',
  });
  const publisher = await f.user({ role: Role.PUBLISHER });
  expect((await create(publisher, { scopes: ['models:write'] })).errors).toBeUndefined();
  expect(ext(await create(publisher, { expiresInDays: 0 }))).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'expiresInDays',
  });
});

it('caps active keys per user', async () => {
  const user = await f.user();
  for (let i = 0; i < 3; i++) expect((await create(user, {})).errors).toBeUndefined();
  expect(ext(await create(user, {}))?.code).toBe('CONFLICT');
});

it('refuses account management through an API key', async () => {
  const user = await f.user();
  const secret = await apiKeyFor(server.app, user, ['models:read', 'predict', 'billing:read']);
  const res = await server.gql(CREATE, { input: { name: 'x', scopes: ['predict'] } }, { 'x-api-key': secret });
  expect(ext(res)).toMatchObject({ code: 'FORBIDDEN', reason: 'API_KEY_NOT_ALLOWED' });
  expect(ext(await server.gql(LIST, {}, { 'x-api-key': secret }))?.code).toBe('FORBIDDEN');
});

it('revokes: the key stops working at once and leaves the list', async () => {
  const user = await f.user();
  const created = (await create(user, {})).data!.createApiKey;
  const headers = await authHeaders(server.app, user);
  const revoked = await server.gql<{ revokeApiKey: Key }>(REVOKE, { id: created.apiKey.id }, headers);
  expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
  const use = await server.gql(ME, {}, { 'x-api-key': created.secret });
  expect(use.status).toBe(401);
  expect(ext(use)).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'API_KEY_REVOKED' });
  expect((await server.gql<{ apiKeys: Key[] }>(LIST, {}, headers)).data!.apiKeys).toEqual([]);
});

it('rotates: a new secret with the same scopes, the old one dead', async () => {
  const user = await f.user({ role: Role.PUBLISHER });
  const created = (await create(user, { scopes: ['models:write', 'predict'] })).data!.createApiKey;
  const rotated = await server.gql<{ rotateApiKey: Created['createApiKey'] }>(
    ROTATE,
    { id: created.apiKey.id },
    await authHeaders(server.app, user),
  );
  expect(rotated.errors).toBeUndefined();
  const next = rotated.data!.rotateApiKey;
  expect(next.secret).not.toBe(created.secret);
  expect(next.apiKey.rotatedFromId).toBe(created.apiKey.id);
  expect(next.apiKey.scopes.sort()).toEqual(['models:write', 'predict']);
  expect(ext(await server.gql(ME, {}, { 'x-api-key': created.secret }))?.reason).toBe('API_KEY_REVOKED');
  expect((await server.gql(ME, {}, { 'x-api-key': next.secret })).data).toEqual({ me: { id: user.id } });
});

it("hides other users' keys (NOT_FOUND), but lets an admin revoke them", async () => {
  const owner = await f.user();
  const other = await f.user();
  const admin = await f.user({ role: Role.ADMIN });
  const created = (await create(owner, {})).data!.createApiKey;
  expect(ext(await server.gql(REVOKE, { id: created.apiKey.id }, await authHeaders(server.app, other)))?.code).toBe(
    'NOT_FOUND',
  );
  expect(ext(await server.gql(ROTATE, { id: created.apiKey.id }, await authHeaders(server.app, other)))?.code).toBe(
    'NOT_FOUND',
  );
  expect(
    (await server.gql(REVOKE, { id: created.apiKey.id }, await authHeaders(server.app, admin))).errors,
  ).toBeUndefined();
});

it('refuses an expired key', async () => {
  const user = await f.user();
  const secret = await apiKeyFor(server.app, user, ['models:read'], { expiresInDays: 1 });
  await server.app.db.orm.em.fork().nativeUpdate(ApiKey, { user: user.id }, { expiresAt: new Date(Date.now() - 1000) });
  expect(ext(await server.gql(ME, {}, { 'x-api-key': secret }))).toMatchObject({
    code: 'UNAUTHENTICATED',
    reason: 'API_KEY_EXPIRED',
  });
});

it('writes lastUsedAt at most once per window, not on every request', async () => {
  const user = await f.user();
  const secret = await apiKeyFor(server.app, user, ['models:read']);
  const em = () => server.app.db.orm.em.fork();
  const lastUsed = async () => (await em().findOneOrFail(ApiKey, { user: user.id })).lastUsedAt?.getTime();
  expect(await lastUsed()).toBeUndefined();
  await server.gql(ME, {}, { 'x-api-key': secret });
  await new Promise((r) => setTimeout(r, 100)); // the write is off the request's path
  const first = await lastUsed();
  expect(first).toBeGreaterThan(Date.now() - 10_000);
  await Promise.all([1, 2, 3, 4, 5].map(() => server.gql(ME, {}, { 'x-api-key': secret })));
  await new Promise((r) => setTimeout(r, 100));
  expect(await lastUsed()).toBe(first);
});

it("follows the owner's role: a demoted publisher's key loses models:write (once out of the cache)", async () => {
  const user = await f.user({ role: Role.PUBLISHER });
  const secret = await apiKeyFor(server.app, user, ['models:write', 'models:read']);
  // Another replica's view: the role is read with the key, remembered for API_KEY_CACHE_SECONDS.
  const replica = new ApiKeyService({ apiKeyMaxPerUser: 10, apiKeyLastUsedWriteSeconds: 60, apiKeyCacheSeconds: 1 });
  const em = () => server.app.db.orm.em.fork();
  expect((await replica.authenticate(em(), secret)).scopes).toEqual(expect.arrayContaining(['models:write']));
  await em().nativeUpdate(User, { id: user.id }, { role: Role.CONSUMER });
  const later = new Date(Date.now() + 1500);
  expect(await replica.authenticate(em(), secret, later)).toMatchObject({ role: 'CONSUMER', scopes: ['models:read'] });
});

it('a revocation reaches other replicas within the cache lifetime', async () => {
  const user = await f.user();
  const secret = await apiKeyFor(server.app, user, ['models:read']);
  const replica = new ApiKeyService({ apiKeyMaxPerUser: 10, apiKeyLastUsedWriteSeconds: 60, apiKeyCacheSeconds: 1 });
  const em = () => server.app.db.orm.em.fork();
  await replica.authenticate(em(), secret);
  await em().nativeUpdate(ApiKey, { user: user.id }, { revokedAt: new Date() });
  await expect(replica.authenticate(em(), secret)).resolves.toMatchObject({ userId: user.id }); // cached
  await expect(replica.authenticate(em(), secret, new Date(Date.now() + 1500))).rejects.toMatchObject({
    details: { reason: 'API_KEY_REVOKED' },
  });
});
