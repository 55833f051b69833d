// What a publisher says about a version's tensors (updateVersionMetadata), as consumers read it:
// checked against the signature, an example a client can send as it is, class labels that name a
// classifier's logits, and the catalog (cached reads included) showing the change at once.
import { Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { PredictDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let f: Factory;
let publisher: User;
let model: Model;
let versionId: string;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  publisher = await f.user({ role: Role.PUBLISHER });
  model = await f.model(publisher);
  versionId = (await storedVersion(server.app, model, 'mlp-small')).id;
}, 60_000);
afterAll(async () => server?.close());

const UPDATE = `mutation U($versionId: ID!, $metadata: VersionMetadataInput!) {
  updateVersionMetadata(versionId: $versionId, metadata: $metadata) { id }
}`;
const READ = `query R($id: ID!) {
  model(id: $id) { defaultVersion {
    inputs { name dtype shape description preprocessing example { name dtype shape data } labels }
    outputs { name description labels }
  } }
}`;
const EXAMPLE = {
  name: 'ignored',
  dtype: 'float32',
  shape: [1, 16],
  data: Array.from({ length: 16 }, (_, i) => i / 16),
};
const LABELS = ['cat', 'dog', 'bird', 'fish'];

type Read = {
  model: {
    defaultVersion: {
      inputs: { name: string; description: string | null; example: Record<string, unknown> | null }[];
      outputs: { name: string; description: string | null; labels: string[] | null }[];
    };
  };
};

it('shows what the publisher set, and its example runs as it is', async () => {
  // Read (and cache) the catalog page first: the update must not be hidden by it.
  const before = await server.gql<Read>(READ, { id: model.id });
  expect(before.data!.model.defaultVersion.inputs[0]).toMatchObject({
    name: 'input',
    description: null,
    example: null,
  });

  const metadata = {
    inputs: [
      {
        name: 'input',
        description: '16 sensor readings',
        preprocessing: 'Scale each reading to [0, 1].',
        example: EXAMPLE,
      },
    ],
    outputs: [{ name: 'logits', description: 'Unnormalised class scores', labels: LABELS }],
  };
  const set = await server.gql(UPDATE, { versionId, metadata }, await authHeaders(server.app, publisher));
  expect(set.errors).toBeUndefined();

  const after = await server.gql<Read>(READ, { id: model.id });
  const v = after.data!.model.defaultVersion;
  expect(v.inputs).toEqual([
    {
      name: 'input',
      dtype: 'float32',
      shape: ['batch', '16'],
      description: '16 sensor readings',
      preprocessing: 'Scale each reading to [0, 1].',
      example: { name: 'input', dtype: 'float32', shape: [1, 16], data: EXAMPLE.data },
      labels: null,
    },
  ]);
  expect(v.outputs).toEqual([{ name: 'logits', description: 'Unnormalised class scores', labels: LABELS }]);

  const consumer = await f.user();
  const example = v.inputs[0].example!;
  const ran = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [{ name: 'input', dtype: 'float32', shape: [1, 16], data: example.data }] },
    await authHeaders(server.app, consumer),
  );
  expect(ran.errors).toBeUndefined();
  expect(ran.data!.predict.outputs[0].shape).toEqual([1, LABELS.length]);
});

it('refuses what does not fit the signature, naming the field, and anyone but the owner', async () => {
  const h = await authHeaders(server.app, publisher);
  const refuse = async (metadata: object, pattern: RegExp) => {
    const r = await server.gql(UPDATE, { versionId, metadata }, h);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(pattern);
  };
  await refuse({ inputs: [{ name: 'pixels' }] }, /no input named "pixels"; its inputs are "input"/);
  await refuse(
    { outputs: [{ name: 'logits', labels: ['a', 'b', 'c'] }] },
    /3 labels given; output "logits" has 4 classes/,
  );
  await refuse({ inputs: [{ name: 'input', example: { ...EXAMPLE, shape: [1, 15] } }] }, /input/);
  await refuse({ inputs: [{ name: 'input', description: 'x'.repeat(2001) }] }, /at most 2000 characters/);
  await refuse({ inputs: [{ name: 'input' }, { name: 'input' }] }, /described twice/);

  const stranger = await f.user({ role: Role.PUBLISHER });
  const denied = await server.gql(UPDATE, { versionId, metadata: {} }, await authHeaders(server.app, stranger));
  expect(['FORBIDDEN', 'NOT_FOUND']).toContain(denied.errors?.[0]?.extensions?.code);
  // Still what the owner set.
  const kept = await server.gql<Read>(READ, { id: model.id });
  expect(kept.data!.model.defaultVersion.outputs[0].labels).toEqual(LABELS);
});
