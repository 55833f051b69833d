import { seedDemoCatalog } from '../../src/catalog/seed.js';
import { DEMO_MODELS } from '../../src/catalog/seed-data.js';
import { Model } from '../../src/entities/model.entity.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.close());

it('loads the demo catalog with real signatures, and a second run adds nothing', async () => {
  const em = server.app.db.orm.em.fork();
  const first = await seedDemoCatalog(em, server.app.storage);
  expect(first).toEqual({
    users: 8,
    models: DEMO_MODELS.length,
    versions: DEMO_MODELS.reduce((n, m) => n + m.versions.length, 0),
    reviews: DEMO_MODELS.reduce((n, m) => n + m.reviews.length, 0),
  });
  expect(await seedDemoCatalog(server.app.db.orm.em.fork(), server.app.storage)).toEqual({
    users: 0,
    models: 0,
    versions: 0,
    reviews: 0,
  });

  const res = await server.gql<{
    model: {
      ratingCount: number;
      ratingAverage: number;
      defaultVersion: { version: string; inputs: unknown[]; outputs: unknown[]; sizeBytes: number };
    };
  }>(
    `{ model(slug: "price-elasticity") { ratingCount ratingAverage defaultVersion { version sizeBytes inputs { name dtype shape } outputs { name dtype shape } } } }`,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data!.model).toMatchObject({ ratingCount: 2, ratingAverage: 3.5 });
  // Read from the ONNX file by onnxruntime, not typed in by hand.
  expect(res.data!.model.defaultVersion.inputs).toEqual([
    { name: 'x', dtype: 'float32', shape: ['batch', '3'] },
    { name: 'k', dtype: 'int64', shape: ['batch', '3'] },
  ]);
  expect(res.data!.model.defaultVersion.sizeBytes).toBeGreaterThan(50);
  expect(await server.app.db.orm.em.fork().count(Model, {})).toBe(DEMO_MODELS.length);
});
