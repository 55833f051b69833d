import { ModelVersionStatus, Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;
let alice: User;
let bob: User;
const m: Record<string, Model> = {};

const LIST = `query($filter: ModelFilter, $orderBy: ModelOrder, $first: Int) {
  models(filter: $filter, orderBy: $orderBy, first: $first) { totalCount edges { node { slug ratingAverage ratingCount } } }
}`;
type ListData = {
  models: {
    totalCount: number;
    edges: { node: { slug: string; ratingAverage: number | null; ratingCount: number } }[];
  };
};

async function slugs(filter: Record<string, unknown> = {}, orderBy?: string): Promise<string[]> {
  const res = await server.gql<ListData>(LIST, { filter, orderBy, first: 50 });
  expect(res.errors).toBeUndefined();
  return res.data!.models.edges.map((e) => e.node.slug);
}

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  alice = await f.user({ role: Role.PUBLISHER, displayName: 'Alice' });
  bob = await f.user({ role: Role.PUBLISHER, displayName: 'Bob' });
  m.resnet = await f.model(alice, {
    slug: 'resnet',
    name: 'ResNet image classifier',
    description: 'Classifies photos into a thousand categories.',
    tags: ['vision', 'classification'],
    task: 'image-classification',
    pricePerRequest: '0.002',
    predictionCount: 900,
  });
  m.sentiment = await f.model(alice, {
    slug: 'sentiment',
    name: 'Sentiment analyser',
    description: 'Tells whether a sentence about an image or a film is positive.',
    tags: ['nlp', 'classification'],
    task: 'text-classification',
    pricePerRequest: '0.0005',
    predictionCount: 50,
  });
  m.detector = await f.model(bob, {
    slug: 'detector',
    name: 'Object detector',
    description: 'Finds objects in images.',
    tags: ['vision', 'detection'],
    task: 'object-detection',
    framework: 'onnx',
    pricePerRequest: '0.01',
    predictionCount: 300,
  });
  m.hyped = await f.model(bob, {
    slug: 'hyped',
    name: 'Hyped',
    tags: ['tabular'],
    task: 'regression',
    pricePerRequest: '0',
  });
  m.deleted = await f.model(bob, { slug: 'deleted', name: 'Deleted image model', tags: ['vision'], deleted: true });

  // One 5-star review versus many 4.8-ish ones: the Bayesian average must prefer the many.
  await f.review(m.hyped, await f.user(), 5);
  for (let i = 0; i < 20; i++) await f.review(m.resnet, await f.user(), i % 5 === 0 ? 4 : 5);
  await f.review(m.detector, await f.user(), 2);
  await f.review(m.detector, await f.user(), 5, { hidden: true });
});
afterAll(async () => server?.close());

it('filters by tags (all of them), task, framework and owner', async () => {
  expect(new Set(await slugs({ tags: ['vision'] }))).toEqual(new Set(['resnet', 'detector']));
  expect(await slugs({ tags: ['vision', 'classification'] })).toEqual(['resnet']);
  expect(await slugs({ tags: ['VISION', 'Classification'] })).toEqual(['resnet']);
  expect(await slugs({ task: 'text-classification' })).toEqual(['sentiment']);
  expect(await slugs({ framework: 'tensorflow' })).toEqual([]);
  expect(new Set(await slugs({ ownerId: alice.id }))).toEqual(new Set(['resnet', 'sentiment']));
});

it('filters by maximum price, compared exactly', async () => {
  expect(new Set(await slugs({ maxPricePerRequest: '0.002' }))).toEqual(new Set(['resnet', 'sentiment', 'hyped']));
  expect(new Set(await slugs({ maxPricePerRequest: '0.0019999999' }))).toEqual(new Set(['sentiment', 'hyped']));
  const bad = await server.gql<ListData>(LIST, { filter: { maxPricePerRequest: '1e-3' } });
  expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'maxPricePerRequest' });
});

it('filters by minimum rating, ignoring hidden reviews', async () => {
  expect(new Set(await slugs({ minRating: 4.5 }))).toEqual(new Set(['resnet', 'hyped']));
  expect(await slugs({ minRating: 3 }, 'TOP_RATED')).toEqual(['resnet', 'hyped']);
  const bad = await server.gql<ListData>(LIST, { filter: { minRating: 7 } });
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

it('orders TOP_RATED by a Bayesian average, so one 5-star review does not win', async () => {
  const res = await server.gql<ListData>(LIST, { orderBy: 'TOP_RATED', first: 10 });
  const nodes = res.data!.models.edges.map((e) => e.node);
  expect(nodes[0]).toMatchObject({ slug: 'resnet', ratingCount: 20, ratingAverage: 4.8 });
  expect(nodes.findIndex((n) => n.slug === 'hyped')).toBeGreaterThan(0);
  expect(nodes.find((n) => n.slug === 'detector')).toMatchObject({ ratingCount: 1, ratingAverage: 2 });
});

it('orders POPULAR by predictions and NEWEST by creation', async () => {
  expect(await slugs({}, 'POPULAR')).toEqual(['resnet', 'detector', 'sentiment', 'hyped']);
  expect(await slugs({}, 'NEWEST')).toEqual(['hyped', 'detector', 'sentiment', 'resnet']);
});

it('searches name, tags and description, ranking name matches first', async () => {
  const hits = await slugs({ search: 'image' });
  expect(hits[0]).toBe('resnet');
  expect(new Set(hits)).toEqual(new Set(['resnet', 'sentiment', 'detector']));
  expect(await slugs({ search: 'detection' })).toEqual(['detector']);
  expect(await slugs({ search: 'image', tags: ['nlp'] })).toEqual(['sentiment']);
  expect(await slugs({ search: 'zebra unicorn' })).toEqual([]);
});

it('hides soft-deleted models from the catalog and from anonymous lookups', async () => {
  expect(await slugs({ tags: ['vision'] })).not.toContain('deleted');
  const res = await server.gql(`query($slug: String) { model(slug: $slug) { slug } }`, { slug: 'deleted' });
  expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

it('finds one model by id or slug, and refuses both or neither', async () => {
  const byId = await server.gql<{ model: { slug: string } }>(`query($id: ID) { model(id: $id) { slug } }`, {
    id: m.resnet.id,
  });
  expect(byId.data?.model.slug).toBe('resnet');
  const bySlug = await server.gql<{ model: { id: string } }>(`{ model(slug: "detector") { id } }`);
  expect(bySlug.data?.model.id).toBe(m.detector.id);
  const both = await server.gql(`query($id: ID) { model(id: $id, slug: "resnet") { id } }`, { id: m.resnet.id });
  expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const neither = await server.gql(`{ model { id } }`);
  expect(neither.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const notUuid = await server.gql(`{ model(id: "1 or 1=1") { id } }`);
  expect(notUuid.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

it('shows anonymous callers only published versions', async () => {
  await f.version(m.sentiment, { version: '1.0.0' });
  await f.version(m.sentiment, { version: '1.1.0', status: ModelVersionStatus.FAILED, makeDefault: false });
  await f.version(m.sentiment, { version: '1.2.0', status: ModelVersionStatus.PROCESSING, makeDefault: false });
  const res = await server.gql<{ model: { versions: { totalCount: number; edges: { node: { version: string } }[] } } }>(
    `{ model(slug: "sentiment") { versions { totalCount edges { node { version } } } } }`,
  );
  expect(res.data?.model.versions).toEqual({ totalCount: 1, edges: [{ node: { version: '1.0.0' } }] });
});

it('pages nested reviews with their own cursors and orderings', async () => {
  const Q = `query($after: String, $orderBy: ReviewOrder) { model(slug: "resnet") { reviews(first: 8, after: $after, orderBy: $orderBy) {
    totalCount edges { node { rating } } pageInfo { hasNextPage endCursor } } } }`;
  type R = {
    model: {
      reviews: {
        totalCount: number;
        edges: { node: { rating: number } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
  };
  const ratings: number[] = [];
  let after: string | null = null;
  for (let i = 0; i < 5; i++) {
    const res: Awaited<ReturnType<typeof server.gql<R>>> = await server.gql<R>(Q, { after, orderBy: 'LOWEST_RATING' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.model.reviews.totalCount).toBe(20);
    ratings.push(...res.data!.model.reviews.edges.map((e) => e.node.rating));
    if (!res.data!.model.reviews.pageInfo.hasNextPage) break;
    after = res.data!.model.reviews.pageInfo.endCursor;
  }
  expect(ratings).toHaveLength(20);
  expect(ratings).toEqual([...ratings].sort((a, b) => a - b));
  expect(ratings.filter((r) => r === 4)).toHaveLength(4);
  const wrongKind = await server.gql(Q, { after, orderBy: 'NEWEST' });
  expect(wrongKind.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});
