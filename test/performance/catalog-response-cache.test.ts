import { print } from 'graphql';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CatalogGeneration } from '../../src/catalog/catalog-generation.js';
import { Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import type { ModelVersion } from '../../src/entities/model-version.entity.js';
import type { Review } from '../../src/entities/review.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { CatalogPageDocument } from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ctxFor, fixtureFile } from '../publishing/publishing-helpers.js';

/**
 * The response cache for anonymous catalog reads (src/graphql/response-cache.plugin.ts). The
 * `x-catalog-cache` header says whether an operation was served from it; a hit runs no SQL, so
 * its `x-sql-statements` is 0 (the decision documented in the plugin).
 */
let server: TestServer;
let f: Factory;
let owner: User;
let admin: User;
let alice: User;
let bob: User;
let model: Model;
let older: ModelVersion;
let newer: ModelVersion;

beforeAll(async () => {
  // A TTL far longer than any test: expiry is tested on a server of its own below.
  server = await startTestServer({ CATALOG_CACHE_TTL_MS: '600000' });
  f = new Factory(server.app);
  owner = await f.user({ role: Role.PUBLISHER });
  admin = await f.user({ role: Role.ADMIN });
  alice = await f.user();
  bob = await f.user();
  model = await f.model(owner, { tags: ['cache'] });
  older = await f.version(model, { version: '1.0.0' });
  newer = await f.version(model, { version: '1.1.0' });
  await f.review(model, bob, 4);
}, 120_000);
afterAll(async () => server?.close());

type Sent = {
  cache: string | null;
  sql: number;
  body: { data?: unknown; errors?: { extensions?: { code?: string } }[] };
};

async function send(url: string, query: string, variables: Record<string, unknown>, headers = {}): Promise<Sent> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    cache: res.headers.get('x-catalog-cache'),
    sql: Number(res.headers.get('x-sql-statements')),
    body: (await res.json()) as Sent['body'],
  };
}

const PAGE = print(CatalogPageDocument);
const page = (variables: Record<string, unknown> = { first: 20, filter: { tags: ['cache'] } }, headers = {}) =>
  send(server.url, PAGE, variables, headers);
const ONE = 'query One($id: ID!) { model(id: $id) { id name ratingCount defaultVersion { version } } }';
const one = (id: string, headers = {}) => send(server.url, ONE, { id }, headers);

/** Reads the page until it is served from the cache, so the next read shows what a write did. */
async function primed() {
  await page();
  const again = await page();
  expect(again.cache).toBe('hit');
  return again;
}

describe('anonymous catalog reads', () => {
  it('serve the second identical read from the cache, with the same data and no SQL', async () => {
    const first = await page({ first: 5 });
    const second = await page({ first: 5 });
    expect(first.cache).toBe('miss');
    expect(first.sql).toBeGreaterThan(0);
    expect(first.body.errors).toBeUndefined();
    expect(second.cache).toBe('hit');
    expect(second.sql).toBe(0);
    expect(second.body).toEqual(first.body);
  });

  it('key on the variables: another page size is a miss', async () => {
    await page({ first: 7 });
    expect((await page({ first: 7 })).cache).toBe('hit');
    expect((await page({ first: 8 })).cache).toBe('miss');
  });

  it('never cache errors', async () => {
    const missing = randomUUID();
    const first = await one(missing);
    expect(first.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const second = await one(missing);
    expect(second.cache).toBe('miss');
    expect(second.sql).toBeGreaterThan(0);
    expect(second.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('leave other operations alone (fields outside the catalog, mutations)', async () => {
    const me = await send(server.url, '{ me { id } }', {});
    expect(me.cache).toBeNull();
    const mixed = await send(server.url, '{ models(first: 1) { totalCount } me { id } }', {});
    expect(mixed.cache).toBeNull();
    const mutation = await send(
      server.url,
      'mutation { login(email: "nobody@example.com", password: "wrong password") { accessToken } }',
      {},
    );
    expect(mutation.cache).toBeNull();
  });
});

describe('signed-in callers', () => {
  it('are never served from the cache nor fill it', async () => {
    const headers = await authHeaders(server.app, alice);
    await page({ first: 3 });
    await page({ first: 3 }, headers);
    const again = await page({ first: 3 }, headers);
    expect(again.cache).toBeNull();
    expect(again.sql).toBeGreaterThan(0);
  });

  it('see what an anonymous cached page would hide: the owner reads a deleted model', async () => {
    const gone = await f.model(owner, { tags: ['cache-deleted'] });
    await one(gone.id);
    expect((await one(gone.id)).cache).toBe('hit');
    await server.app.services.modelWrites.delete(ctxFor(server.app, owner), gone.id);
    const anonymous = await one(gone.id);
    expect(anonymous.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const own = await one(gone.id, await authHeaders(server.app, owner));
    expect(own.cache).toBeNull();
    expect(own.body.errors).toBeUndefined();
    expect((own.body.data as { model: { id: string } }).model.id).toBe(gone.id);
  });
});

describe('every catalog write empties the cache at once', () => {
  const ctx = (u: User) => ctxFor(server.app, u);
  const node = (s: Sent) =>
    (s.body.data as { models: { edges: { node: Record<string, unknown> }[] } }).models.edges.find(
      (e) => e.node.id === model.id,
    )!.node;

  it('creating a model', async () => {
    await primed();
    await server.app.services.modelWrites.create(ctx(owner), {
      slug: `cache-${randomUUID().slice(0, 8)}`,
      name: 'Cached new',
      task: 'regression',
      tags: ['cache'],
    });
    const after = await page();
    expect(after.cache).toBe('miss');
    const names = (after.body.data as { models: { edges: { node: { name: string } }[] } }).models.edges.map(
      (e) => e.node.name,
    );
    expect(names).toContain('Cached new');
  });

  it('updating a model', async () => {
    await primed();
    await server.app.services.modelWrites.update(ctx(owner), model.id, { name: 'Renamed while cached' });
    const after = await page();
    expect(after.cache).toBe('miss');
    expect(node(after).name).toBe('Renamed while cached');
  });

  it('changing the default version', async () => {
    await primed();
    await server.app.services.versions.setDefault(ctx(owner), older.id);
    const after = await page();
    expect(after.cache).toBe('miss');
    expect(node(after).defaultVersion).toEqual(expect.objectContaining({ version: '1.0.0' }));
  });

  it('deprecating a version', async () => {
    await server.app.services.versions.setDefault(ctx(owner), newer.id);
    await primed();
    await server.app.services.versions.deprecate(ctx(owner), older.id);
    expect((await page()).cache).toBe('miss');
  });

  it('a version finishing validation in the background', async () => {
    const uploaded = await server.app.services.versions.upload(ctx(owner), {
      modelId: model.id,
      version: '2.0.0',
      file: fixtureFile('elementwise.onnx'),
    });
    await primed();
    await server.app.services.versions.whenValidated(uploaded.id);
    expect((await page()).cache).toBe('miss');
  });

  it('creating, editing, voting on, replying to, moderating and deleting a review', async () => {
    const reviews = server.app.services.reviews;
    const ratingCount = async () => node(await page()).ratingCount;

    await primed();
    const review: Review = await reviews.create(ctx(alice), model.id, { rating: 5, title: 'Cached?' });
    expect(await ratingCount()).toBe(2);

    await primed();
    await reviews.update(ctx(alice), review.id, { rating: 1 });
    expect((await page()).cache).toBe('miss');

    await primed();
    await reviews.markHelpful(ctx(bob), review.id);
    expect((await page()).cache).toBe('miss');

    await primed();
    await reviews.reply(ctx(owner), review.id, 'Thanks');
    expect((await page()).cache).toBe('miss');

    await primed();
    await reviews.moderate(ctx(admin), review.id, true);
    expect(await ratingCount()).toBe(1);

    await primed();
    await reviews.moderate(ctx(admin), review.id, false);
    expect(await ratingCount()).toBe(2);

    await primed();
    await reviews.delete(ctx(alice), review.id);
    expect(await ratingCount()).toBe(1);
  });

  it('deleting a model', async () => {
    await primed();
    await server.app.services.modelWrites.delete(ctx(owner), model.id);
    const after = await page();
    expect(after.cache).toBe('miss');
    const ids = (after.body.data as { models: { edges: { node: { id: string } }[] } }).models.edges.map(
      (e) => e.node.id,
    );
    expect(ids).not.toContain(model.id);
  });
});

describe('time to live', () => {
  it('serves an entry until the TTL, then reads the database again', async () => {
    const short = await startTestServer({ CATALOG_CACHE_TTL_MS: '200' });
    try {
      const pub = await new Factory(short.app).user({ role: Role.PUBLISHER });
      await new Factory(short.app).model(pub);
      const read = () => send(short.url, PAGE, { first: 5 });
      await read();
      // Expiry is judged by the clock after this wait, never by how long a request took.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const later = await read();
      expect(later.cache).toBe('miss');
      expect(later.sql).toBeGreaterThan(0);
    } finally {
      await short.close();
    }
  }, 120_000);

  it('is off with CATALOG_CACHE_TTL_MS=0 (the test servers default)', async () => {
    const off = await startTestServer();
    try {
      await off.gql(CatalogPageDocument, { first: 5 });
      const again = await send(off.url, PAGE, { first: 5 });
      expect(again.cache).toBeNull();
      expect(again.sql).toBeGreaterThan(0);
    } finally {
      await off.close();
    }
  }, 120_000);
});

const redisUrl = process.env.REDIS_URL;
(redisUrl ? describe : describe.skip)('the generation shared through Redis', () => {
  it("makes one process's write visible to another's caches", async () => {
    const key = `test-${randomUUID()}:catalog:generation`;
    const a = new CatalogGeneration({ key, pollMs: 20 });
    const b = new CatalogGeneration({ key, pollMs: 20 });
    const ra = new Redis(redisUrl!);
    const rb = new Redis(redisUrl!);
    try {
      a.connect(ra);
      b.connect(rb);
      await until(() => a.usable() && b.usable());
      const before = b.current();
      a.bump();
      await until(() => b.current() !== before);
      expect(b.current()).not.toBe(before);
    } finally {
      a.close();
      b.close();
      await ra.del(key);
      ra.disconnect();
      rb.disconnect();
    }
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
