import type { Model } from '../../src/entities/model.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;
let models: Model[];

const PAGE = `query Page($first: Int, $after: String, $orderBy: ModelOrder, $filter: ModelFilter) {
  models(first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
    totalCount
    edges { cursor node { slug } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

type PageData = {
  models: {
    totalCount: number;
    edges: { cursor: string; node: { slug: string } }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
};

beforeAll(async () => {
  server = await startTestServer({ GRAPHQL_MAX_PAGE_SIZE: '10' });
  f = new Factory(server.app);
  const owner = await f.user({ role: 'PUBLISHER' as never });
  models = [];
  // Equal popularity everywhere: ties must be broken by id, without duplicates or gaps.
  for (let i = 0; i < 7; i++) models.push(await f.model(owner, { slug: `page-${i}`, predictionCount: 5 }));
});
afterAll(async () => server?.close());

async function walk(first: number, orderBy: string): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 20; guard++) {
    const res: { data?: PageData | null; errors?: unknown } = await server.gql<PageData>(PAGE, {
      first,
      after,
      orderBy,
    });
    expect(res.errors).toBeUndefined();
    const page: PageData['models'] = res.data!.models;
    seen.push(...page.edges.map((e) => e.node.slug));
    expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!page.pageInfo.hasNextPage) return seen;
    after = page.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

it('walks every model exactly once, newest first', async () => {
  const slugs = await walk(3, 'NEWEST');
  expect(slugs).toEqual([...models].reverse().map((m) => m.slug));
});

it('keeps pages stable when sort keys tie (POPULAR with equal counts)', async () => {
  const slugs = await walk(2, 'POPULAR');
  expect(new Set(slugs).size).toBe(7);
  expect(slugs).toHaveLength(7);
  const again = await walk(4, 'POPULAR');
  expect(again).toEqual(slugs);
});

it('ends with an exact last page and no next page', async () => {
  const first = await server.gql<PageData>(PAGE, { first: 4, orderBy: 'NEWEST' });
  const last = await server.gql<PageData>(PAGE, {
    first: 4,
    after: first.data!.models.pageInfo.endCursor,
    orderBy: 'NEWEST',
  });
  expect(last.data!.models.edges).toHaveLength(3);
  expect(last.data!.models.pageInfo.hasNextPage).toBe(false);
  expect(last.data!.models.totalCount).toBe(7);
  const beyond = await server.gql<PageData>(PAGE, {
    first: 4,
    after: last.data!.models.pageInfo.endCursor,
    orderBy: 'NEWEST',
  });
  expect(beyond.data!.models).toMatchObject({
    edges: [],
    pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
  });
});

it('returns an empty connection when nothing matches', async () => {
  const res = await server.gql<PageData>(PAGE, { filter: { task: 'no-such-task' } });
  expect(res.errors).toBeUndefined();
  expect(res.data!.models).toEqual({
    totalCount: 0,
    edges: [],
    pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
  });
});

it('answers first: 0 with no edges but a correct hasNextPage', async () => {
  const res = await server.gql<PageData>(PAGE, { first: 0 });
  expect(res.data!.models.edges).toEqual([]);
  expect(res.data!.models.pageInfo.hasNextPage).toBe(true);
});

it.each([
  ['garbage', 'definitely-not-a-cursor'],
  ['base64 of junk', Buffer.from('junk').toString('base64url')],
  ['a cursor of another ordering', 'TOP_RATED'],
])('refuses an invalid cursor (%s) with BAD_USER_INPUT', async (_name, after) => {
  let cursor = after;
  if (after === 'TOP_RATED') {
    const other = await server.gql<PageData>(PAGE, { first: 1, orderBy: 'TOP_RATED' });
    cursor = other.data!.models.pageInfo.endCursor!;
  }
  const res = await server.gql<PageData>(PAGE, { first: 2, after: cursor, orderBy: 'NEWEST' });
  expect(res.data).toBeNull();
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(res.errors?.[0]?.message).toBe('Invalid cursor');
});

it('caps `first` at the configured page size and refuses negatives', async () => {
  const tooMany = await server.gql<PageData>(PAGE, { first: 11 });
  expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first', max: 10 });
  const negative = await server.gql<PageData>(PAGE, { first: -1 });
  expect(negative.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

it('refuses RELEVANCE ordering without a search', async () => {
  const res = await server.gql<PageData>(PAGE, { orderBy: 'RELEVANCE' });
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});
