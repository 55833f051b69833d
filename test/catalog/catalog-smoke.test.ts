import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
});
afterAll(async () => server?.close());

it('serves a model with its owner, versions and reviews', async () => {
  const owner = await f.user({ displayName: 'Ada' });
  const m = await f.model(owner, { name: 'Thing', tags: ['vision'] });
  await f.version(m, { version: '1.0.0' });
  await f.review(m, await f.user(), 4);
  const res = await server.gql(
    `query($id: ID!) { model(id: $id) { name owner { displayName } defaultVersion { version isDefault } versions { totalCount edges { node { version inputs { name dtype shape } } } } reviews { totalCount edges { node { rating author { displayName } } } } ratingAverage pricing { pricePerRequest { amount currency } } } }`,
    { id: m.id },
  );
  expect(res.errors).toBeUndefined();
  expect(res.data).toMatchObject({
    model: {
      name: 'Thing',
      owner: { displayName: 'Ada' },
      defaultVersion: { version: '1.0.0', isDefault: true },
      versions: { totalCount: 1 },
      reviews: { totalCount: 1, edges: [{ node: { rating: 4 } }] },
      ratingAverage: 4,
      pricing: { pricePerRequest: { amount: '0.001', currency: 'USD' } },
    },
  });
  expect(res.sqlStatements).toBeGreaterThan(0);
});
