import { CatalogGeneration } from '../../src/catalog/catalog-generation.js';
import { withSqlCounter } from '../../src/db/sql-counter.js';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import { RunnableVersionCache } from '../../src/predictions/runnable-version.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ctxFor, errorCode } from '../publishing/publishing-helpers.js';

/**
 * The predict path's cache of resolved (model, version) (src/predictions/runnable-version.ts):
 * a repeat resolution runs no SQL, and every model or version write is seen by the next one.
 */
let server: TestServer;
let f: Factory;
let owner: User;
let cache: RunnableVersionCache;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  owner = await f.user({ role: Role.PUBLISHER });
  // The app's own generation, so the services' writes reach this cache as they reach predict's.
  cache = new RunnableVersionCache(server.app.services.catalogGeneration, 600_000);
}, 120_000);
afterAll(async () => server?.close());

const em = () => server.app.db.orm.em.fork();
const ctx = () => ctxFor(server.app, owner);

/** Resolves and reports how many SQL statements it took. */
async function resolve(c: RunnableVersionCache, modelId: string, pinned: string | null = null) {
  const { counter, result } = withSqlCounter(() => c.resolve(em(), modelId, pinned));
  const resolved = await result;
  return { ...resolved, statements: counter.statements };
}

it('answers a repeat resolution from memory, pinned or default', async () => {
  const model = await f.model(owner);
  await f.version(model, { version: '1.0.0' });
  const first = await resolve(cache, model.id);
  const second = await resolve(cache, model.id);
  expect(first.statements).toBeGreaterThan(0);
  expect(second.statements).toBe(0);
  expect(second.version.version).toBe('1.0.0');
  await resolve(cache, model.id, '1.0.0');
  const pinned = await resolve(cache, model.id, '1.0.0');
  expect(pinned.statements).toBe(0);
  expect(pinned.version.id).toBe(first.version.id);
});

it('sends one read for concurrent misses of the same version, and a new one after a write', async () => {
  const model = await f.model(owner);
  await f.version(model, { version: '1.0.0' });
  const cold = new RunnableVersionCache(server.app.services.catalogGeneration, 600_000);
  // 20 requests arrive together on a cold (or just expired) entry: they share the one read.
  const { counter, result } = withSqlCounter(() =>
    Promise.all(Array.from({ length: 20 }, () => cold.resolve(em(), model.id, null))),
  );
  const all = await result;
  expect(new Set(all.map((r) => r.version.id)).size).toBe(1);
  const single = await withSqlCounter(() => resolveRunnableVersionCount(model.id)).result;
  expect(counter.statements).toBe(single);
  // A read in flight when the catalog changes is not shared with requests that come after it.
  const racing = cold.resolve(em(), model.id, '1.0.0');
  await f.version(model, { version: '1.1.0' });
  server.app.services.catalogGeneration.bump();
  const after = await cold.resolve(em(), model.id, null);
  await racing;
  expect(after.version.version).toBe('1.1.0');
});

/** How many statements one uncached resolution takes (the baseline for the shared read above). */
async function resolveRunnableVersionCount(modelId: string): Promise<number> {
  const { counter, result } = withSqlCounter(() =>
    new RunnableVersionCache(server.app.services.catalogGeneration, 600_000).resolve(em(), modelId, null),
  );
  await result;
  return counter.statements;
}

it('sees a new default version at once', async () => {
  const model = await f.model(owner);
  const v1 = await f.version(model, { version: '1.0.0' });
  await f.version(model, { version: '1.1.0' });
  expect((await resolve(cache, model.id)).version.version).toBe('1.1.0');
  await server.app.services.versions.setDefault(ctx(), v1.id);
  expect((await resolve(cache, model.id)).version.version).toBe('1.0.0');
});

it('refuses a deprecated default and a deleted model at once', async () => {
  const model = await f.model(owner);
  const v1 = await f.version(model, { version: '1.0.0' });
  await resolve(cache, model.id);
  await server.app.services.versions.deprecate(ctx(), v1.id);
  expect(await errorCode(cache.resolve(em(), model.id, null))).toBe('BAD_USER_INPUT');
  // Pinning a deprecated version still runs it; deleting the model ends that too.
  await resolve(cache, model.id, '1.0.0');
  await server.app.services.modelWrites.delete(ctx(), model.id);
  expect(await errorCode(cache.resolve(em(), model.id, '1.0.0'))).toBe('NOT_FOUND');
});

it('keeps no failure: a model that gains a version is found on the next call', async () => {
  const model = await f.model(owner);
  expect(await errorCode(cache.resolve(em(), model.id, null))).toBe('BAD_USER_INPUT');
  await f.version(model, { version: '1.0.0' });
  expect((await resolve(cache, model.id)).version.version).toBe('1.0.0');
});

it('is off with a TTL of 0', async () => {
  const off = new RunnableVersionCache(new CatalogGeneration(), 0);
  const model = await f.model(owner);
  await f.version(model, { version: '1.0.0' });
  await resolve(off, model.id);
  expect((await resolve(off, model.id)).statements).toBeGreaterThan(0);
});
