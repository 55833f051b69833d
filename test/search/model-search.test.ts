import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;
let alice: User;
let bob: User;

const LIST = `query($filter: ModelFilter, $orderBy: ModelOrder, $first: Int, $after: String) {
  models(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { slug } }
  }
}`;
type ListData = {
  models: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { slug: string } }[];
  };
};

async function list(vars: Record<string, unknown>) {
  const res = await server.gql<ListData>(LIST, vars);
  expect(res.errors).toBeUndefined();
  return res.data!.models;
}
const slugs = async (filter: Record<string, unknown>, orderBy?: string) =>
  (await list({ filter, orderBy, first: 100 })).edges.map((e) => e.node.slug);

/** Walks every page of `first` items and returns the slugs in order. */
async function walk(filter: Record<string, unknown>, orderBy: string | undefined, first: number) {
  const out: string[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page: ListData['models'] = await list({ filter, orderBy, first, after });
    out.push(...page.edges.map((e) => e.node.slug));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  alice = await f.user({ role: Role.PUBLISHER });
  bob = await f.user({ role: Role.PUBLISHER });
  // "segmentation" in the name, in a tag, and only in the description: weights A > B > C.
  await f.model(alice, {
    slug: 'in-description',
    name: 'Pixel labeller',
    description: 'Does segmentation of street scenes.',
    task: 'image-segmentation',
    pricePerRequest: '0.001',
  });
  await f.model(alice, {
    slug: 'in-tags',
    name: 'Street scene model',
    tags: ['segmentation', 'vision'],
    task: 'image-segmentation',
    pricePerRequest: '0.02',
  });
  await f.model(bob, {
    slug: 'in-name',
    name: 'Segmentation network',
    description: 'Fast.',
    tags: ['vision'],
    task: 'image-segmentation',
    framework: 'onnx',
    pricePerRequest: '0.005',
    predictionCount: 10,
  });
  await f.model(bob, {
    slug: 'resnet',
    name: 'ResNet image classifier',
    tags: ['vision'],
    task: 'image-classification',
    pricePerRequest: '0.002',
    predictionCount: 99,
  });
  await f.model(bob, {
    slug: 'sentiment',
    name: 'Sentiment analyser',
    tags: ['nlp'],
    task: 'text-classification',
    pricePerRequest: '0.0005',
  });
  await f.model(bob, { slug: 'deleted-resnet', name: 'ResNet old', tags: ['vision'], deleted: true });
  // Twelve models that tie on every sort key the search can use.
  for (let i = 0; i < 12; i++) {
    await f.model(alice, {
      slug: `twin-${String(i).padStart(2, '0')}`,
      name: 'Twin detector',
      description: 'Same.',
      tags: ['twin'],
      task: 'object-detection',
      pricePerRequest: '0.003',
    });
  }
  const raters = await Promise.all(Array.from({ length: 4 }, () => f.user()));
  const [seg] = await server.app.db.orm.em
    .fork()
    .execute<{ id: string }[]>("select id from models where slug = 'in-name'");
  const [res] = await server.app.db.orm.em
    .fork()
    .execute<{ id: string }[]>("select id from models where slug = 'resnet'");
  for (const r of raters) {
    await f.review({ id: seg.id } as never, r, 5);
    await f.review({ id: res.id } as never, r, 3);
  }
  // Starting the embedded database and applying migrations can be slow on a busy machine.
}, 120_000);
afterAll(async () => server?.close());

it('ranks full-text matches by where the words are: name > tags > description', async () => {
  expect(await slugs({ search: 'segmentation' })).toEqual(['in-name', 'in-tags', 'in-description']);
  expect(await slugs({ search: 'segmentation' }, 'RELEVANCE')).toEqual(['in-name', 'in-tags', 'in-description']);
});

it('tolerates typos in names when the full-text match is empty, and still finds nothing for nonsense', async () => {
  expect(await slugs({ search: 'resnte' })).toEqual(['resnet']);
  expect(await slugs({ search: 'sentimnt analyzer' })).toEqual(['sentiment']);
  expect((await slugs({ search: 'segmentaton' }))[0]).toBe('in-name');
  expect(await slugs({ search: 'banana' })).toEqual([]);
  // Deleted models stay hidden in both modes; filters apply to the fuzzy mode too.
  expect(await slugs({ search: 'resnt old' })).not.toContain('deleted-resnet');
  expect(await slugs({ search: 'resnte', task: 'text-classification' })).toEqual([]);
  expect((await list({ filter: { search: 'resnte' }, first: 10 })).totalCount).toBe(1);
});

it('applies every filter together with search', async () => {
  expect(await slugs({ search: 'segmentation', tags: ['vision'] })).toEqual(['in-name', 'in-tags']);
  expect(await slugs({ search: 'segmentation', ownerId: alice.id })).toEqual(['in-tags', 'in-description']);
  expect(await slugs({ search: 'segmentation', maxPricePerRequest: '0.005' })).toEqual(['in-name', 'in-description']);
  expect(await slugs({ search: 'segmentation', minRating: 4.5 })).toEqual(['in-name']);
  expect(await slugs({ search: 'segmentation', task: 'image-segmentation', framework: 'onnx' })).toHaveLength(3);
  expect(await slugs({ search: 'segmentation', framework: 'tensorflow' })).toEqual([]);
  // Bayesian average: four 3-star reviews (3.28) rank below no reviews at all (the 3.5 prior).
  expect(await slugs({ tags: ['vision'] }, 'TOP_RATED')).toEqual(['in-name', 'in-tags', 'resnet']);
  expect(await slugs({ tags: ['vision'] }, 'POPULAR')).toEqual(['resnet', 'in-name', 'in-tags']);
});

it('pages stably through ties, in every ordering and in fuzzy mode', async () => {
  for (const [filter, orderBy] of [
    [{ search: 'twin' }, 'RELEVANCE'],
    [{ tags: ['twin'] }, 'TOP_RATED'],
    [{ tags: ['twin'] }, 'POPULAR'],
    [{ tags: ['twin'] }, 'NEWEST'],
    [{ search: 'twn detectr' }, 'RELEVANCE'],
  ] as const) {
    const whole = await slugs(filter, orderBy);
    expect(whole).toHaveLength(12);
    const paged = await walk(filter, orderBy, 5);
    expect(paged).toEqual(whole);
    expect(new Set(paged).size).toBe(12);
  }
});

it('refuses a cursor from another ordering and bad filter values', async () => {
  const page = await list({ filter: { tags: ['twin'] }, orderBy: 'NEWEST', first: 2 });
  const res = await server.gql(LIST, {
    filter: { tags: ['twin'] },
    orderBy: 'POPULAR',
    first: 2,
    after: page.pageInfo.endCursor,
  });
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const bad = await server.gql(LIST, { filter: { maxPricePerRequest: 'cheap' }, first: 2 });
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});
