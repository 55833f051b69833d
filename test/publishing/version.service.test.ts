import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { ModelVersionStatus, Role } from '../../src/entities/enums.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { bytesFile, ctxFor, errorCode, filesUnder, FIXTURES, fixtureFile } from './publishing-helpers.js';

const { onnx } = onnxProto;

let server: TestServer;
let f: Factory;
let publisher: User;
let other: User;

beforeAll(async () => {
  server = await startTestServer({ UPLOAD_MAX_BYTES: String(64 * 1024) });
  f = new Factory(server.app);
  publisher = await f.user({ role: Role.PUBLISHER });
  other = await f.user({ role: Role.PUBLISHER });
  // Starting the embedded database and applying migrations can be slow on a busy machine.
}, 120_000);
afterAll(async () => server?.close());

const svc = () => server.app.services;

async function newModel() {
  return svc().modelWrites.create(ctxFor(server.app, publisher), {
    slug: `m-${Math.random().toString(36).slice(2, 10)}`,
    name: 'Uploaded model',
    task: 'feature-transform',
  });
}

async function reload(id: string) {
  return server.app.db.orm.em.fork().findOneOrFail(ModelVersion, { id });
}

it('stores a version PROCESSING, validates it off the request path, then READY with its signature and as default', async () => {
  const model = await newModel();
  const events = server.app.events.subscribe('MODEL_VERSION_STATUS_CHANGED', model.id);
  const first = events.next();
  const v = await svc().versions.upload(ctxFor(server.app, publisher), {
    modelId: model.id,
    version: '1.0.0',
    file: fixtureFile('elementwise.onnx'),
    changelog: 'First.',
  });
  expect(v.status).toBe(ModelVersionStatus.PROCESSING);
  expect(v.sizeBytes).toBe(readFileSync(join(FIXTURES, 'elementwise.onnx')).length);
  expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect((await first).value).toEqual(expect.objectContaining({ versionId: v.id, status: 'PROCESSING' }));

  await svc().versions.whenValidated(v.id);
  const ready = await reload(v.id);
  expect(ready.status).toBe(ModelVersionStatus.READY);
  expect(ready.readyAt).toBeInstanceOf(Date);
  expect(ready.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', '4'] }]);
  expect(ready.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['batch', '4'] }]);
  expect((await events.next()).value).toEqual(expect.objectContaining({ versionId: v.id, status: 'READY' }));
  await events.return();
  const m = await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id });
  expect(m.defaultVersion?.id).toBe(v.id);

  // A second READY version does not take over the default by itself.
  const v2 = await svc().versions.upload(ctxFor(server.app, publisher), {
    modelId: model.id,
    version: '1.1.0',
    file: fixtureFile('mlp-small.onnx'),
  });
  await svc().versions.whenValidated(v2.id);
  expect((await reload(v2.id)).status).toBe(ModelVersionStatus.READY);
  const m2 = await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id });
  expect(m2.defaultVersion?.id).toBe(v.id);

  // Default and rollback.
  await svc().versions.setDefault(ctxFor(server.app, publisher), v2.id);
  expect((await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id })).defaultVersion?.id).toBe(v2.id);
  await svc().versions.setDefault(ctxFor(server.app, publisher), v.id);
  expect((await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id })).defaultVersion?.id).toBe(v.id);

  // Deprecation keeps the row and refuses becoming default.
  const dep = await svc().versions.deprecate(ctxFor(server.app, publisher), v2.id);
  expect(dep.status).toBe(ModelVersionStatus.DEPRECATED);
  expect((await reload(v2.id)).deprecatedAt).toBeInstanceOf(Date);
  expect(await errorCode(svc().versions.setDefault(ctxFor(server.app, publisher), v2.id))).toBe('BAD_USER_INPUT');
  expect(await errorCode(svc().versions.deprecate(ctxFor(server.app, other), v.id))).toBe('FORBIDDEN');
  expect(await errorCode(svc().versions.setDefault(ctxFor(server.app, other), v.id))).toBe('FORBIDDEN');
});

it('marks a corrupt file FAILED with a reason the publisher can act on, and deletes it', async () => {
  const model = await newModel();
  const good = readFileSync(join(FIXTURES, 'mlp-small.onnx'));
  const truncated = good.subarray(0, Math.floor(good.length / 2));
  const v = await svc().versions.upload(ctxFor(server.app, publisher), {
    modelId: model.id,
    version: '0.1.0',
    file: bytesFile(truncated),
  });
  await svc().versions.whenValidated(v.id);
  const failed = await reload(v.id);
  expect(failed.status).toBe(ModelVersionStatus.FAILED);
  expect(failed.statusReason).toMatch(/corrupt or truncated|not an ONNX/i);
  expect(await server.app.storage.exists(v.storageKey)).toBe(false);

  const notOnnx = await svc().versions.upload(ctxFor(server.app, publisher), {
    modelId: model.id,
    version: '0.2.0',
    file: bytesFile(Buffer.from('PK\x03\x04 this is a zip, not a model')),
  });
  await svc().versions.whenValidated(notOnnx.id);
  expect((await reload(notOnnx.id)).statusReason).toMatch(/not an ONNX file: it looks like a ZIP/);
  const m = await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id });
  expect(m.defaultVersion).toBeNull();
});

// Found by the abuse corpus (test/chaos/abuse-http.chaos.test.ts): a multipart body cut short
// errors the file stream while storage is still making its folders. Nothing listened then, so
// the 'error' event crashed the process; and the stream's plain Error (busboy's) was answered
// INTERNAL_SERVER_ERROR instead of being the client's.
it('refuses an upload whose stream breaks before storage takes it: BAD_USER_INPUT, no crash, nothing kept', async () => {
  const model = await newModel();
  const before = filesUnder(server.app.config.modelStorageDir);
  const broken = {
    filename: 'cut.onnx',
    createReadStream: () => {
      const stream = new Readable({ read() {} });
      process.nextTick(() => stream.destroy(new Error('Unexpected end of form')));
      return stream;
    },
  };
  expect(
    await errorCode(
      svc().versions.upload(ctxFor(server.app, publisher), { modelId: model.id, version: '1.0.0', file: broken }),
    ),
  ).toBe('BAD_USER_INPUT');
  expect(filesUnder(server.app.config.modelStorageDir)).toEqual(before);
  expect(await server.app.db.orm.em.fork().count(ModelVersion, { model: model.id })).toBe(0);
});

// Found by the abuse corpus (test/chaos/abuse-models.chaos.test.ts): onnxruntime's messages name
// the stored file, its folder and C++ source locations, and the reason is shown to clients.
it("keeps the server's paths and onnxruntime's source locations out of a FAILED version's reason", async () => {
  const model = await newModel();
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const hostile = (initializer: Onnx.ITensorProto[], node: Onnx.INodeProto[]) =>
    onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'hostile',
          input: [
            {
              name: 'x',
              type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } },
            },
          ],
          output: [
            {
              name: 'y',
              type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } },
            },
          ],
          initializer,
          node,
        },
      }),
    ).finish();
  const external = (location: string): Onnx.ITensorProto => ({
    name: 'w',
    dataType: FLOAT,
    dims: [1, 4],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: 'location', value: location }],
  });
  const add = { opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' };
  const files = [
    hostile([external('../other-model/weights.bin')], [add]),
    hostile([external('weights.bin')], [add]),
    hostile([external('/etc/passwd')], [add]),
    hostile([], [{ opType: 'Identity', input: ['nowhere'], output: ['y'], name: 'id' }]),
  ];
  for (const [i, bytes] of files.entries()) {
    const v = await svc().versions.upload(ctxFor(server.app, publisher), {
      modelId: model.id,
      version: `1.0.${i}`,
      file: bytesFile(bytes),
    });
    await svc().versions.whenValidated(v.id);
    const failed = await reload(v.id);
    expect(failed.status).toBe(ModelVersionStatus.FAILED);
    expect(failed.statusReason).not.toContain(server.app.config.modelStorageDir);
    expect(failed.statusReason).not.toMatch(/\.(cc|h):\d+|onnxruntime::|Load model from/);
  }
});

it('refuses non-increasing versions, bad semver, a repeated checksum, strangers and oversize files', async () => {
  const model = await newModel();
  const ctx = () => ctxFor(server.app, publisher);
  const v = await svc().versions.upload(ctx(), {
    modelId: model.id,
    version: '2.0.0',
    file: fixtureFile('elementwise.onnx'),
  });
  await svc().versions.whenValidated(v.id);

  expect(
    await errorCode(
      svc().versions.upload(ctx(), { modelId: model.id, version: '2.0.0', file: fixtureFile('mlp-small.onnx') }),
    ),
  ).toBe('CONFLICT');
  expect(
    await errorCode(
      svc().versions.upload(ctx(), { modelId: model.id, version: '1.9.9', file: fixtureFile('mlp-small.onnx') }),
    ),
  ).toBe('BAD_USER_INPUT');
  expect(
    await errorCode(
      svc().versions.upload(ctx(), { modelId: model.id, version: '2.0.0-rc.1', file: fixtureFile('mlp-small.onnx') }),
    ),
  ).toBe('BAD_USER_INPUT');
  expect(
    await errorCode(
      svc().versions.upload(ctx(), { modelId: model.id, version: 'v3', file: fixtureFile('mlp-small.onnx') }),
    ),
  ).toBe('BAD_USER_INPUT');
  expect(
    await errorCode(
      svc().versions.upload(ctx(), { modelId: model.id, version: '3.0.0', file: fixtureFile('elementwise.onnx') }),
    ),
  ).toBe('CONFLICT');
  expect(
    await errorCode(
      svc().versions.upload(ctxFor(server.app, other), {
        modelId: model.id,
        version: '3.0.0',
        file: fixtureFile('mlp-small.onnx'),
      }),
    ),
  ).toBe('FORBIDDEN');
  expect(
    await errorCode(
      svc().versions.upload(ctxFor(server.app, null), {
        modelId: model.id,
        version: '3.0.0',
        file: fixtureFile('mlp-small.onnx'),
      }),
    ),
  ).toBe('UNAUTHENTICATED');

  const before = filesUnder(server.app.config.modelStorageDir).length;
  const big = Buffer.alloc(64 * 1024 + 1, 7);
  expect(
    await errorCode(svc().versions.upload(ctx(), { modelId: model.id, version: '3.0.0', file: bytesFile(big) })),
  ).toBe('PAYLOAD_TOO_LARGE');
  expect(filesUnder(server.app.config.modelStorageDir)).toHaveLength(before);
  const count = await server.app.db.orm.em.fork().count(ModelVersion, { model: model.id });
  expect(count).toBe(1);
});

it('lets exactly one of two concurrent uploads of the same version win', async () => {
  const model = await newModel();
  const results = await Promise.allSettled([
    svc().versions.upload(ctxFor(server.app, publisher), {
      modelId: model.id,
      version: '1.0.0',
      file: fixtureFile('elementwise.onnx'),
    }),
    svc().versions.upload(ctxFor(server.app, publisher), {
      modelId: model.id,
      version: '1.0.0',
      file: fixtureFile('mlp-small.onnx'),
    }),
  ]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect((lost[0].reason as { code: string }).code).toBe('CONFLICT');
  const rows = await server.app.db.orm.em.fork().find(ModelVersion, { model: model.id });
  expect(rows).toHaveLength(1);
  // The loser's file is gone: only the winner's remains under the model's folder.
  const files = filesUnder(join(server.app.config.modelStorageDir, 'models', model.id));
  expect(files).toEqual([join(server.app.config.modelStorageDir, 'models', model.id, `${rows[0].id}.onnx`)]);
  await svc().versions.whenValidated(rows[0].id);
});

it('shows other users only READY events of a public model, and NOT_FOUND for a deleted one', async () => {
  const model = await newModel();
  const consumer = await f.user();
  const events = await svc().versions.statusEvents(ctxFor(server.app, consumer), model.id);
  const next = events.next();
  const v = await svc().versions.upload(ctxFor(server.app, publisher), {
    modelId: model.id,
    version: '1.0.0',
    file: fixtureFile('elementwise.onnx'),
  });
  await svc().versions.whenValidated(v.id);
  // PROCESSING was published first but filtered out: the first event this caller sees is READY.
  expect((await next).value).toEqual(expect.objectContaining({ versionId: v.id, status: 'READY' }));
  await events.return!();

  await svc().modelWrites.delete(ctxFor(server.app, publisher), model.id);
  expect(await errorCode(svc().versions.statusEvents(ctxFor(server.app, consumer), model.id))).toBe('NOT_FOUND');
  const own = await svc().versions.statusEvents(ctxFor(server.app, publisher), model.id);
  await own.return!();
});

it('takes up versions a stopped process left PROCESSING and settles each once', async () => {
  const model = await newModel();
  const em = server.app.db.orm.em.fork();
  const bytes = readFileSync(join(FIXTURES, 'two-inputs.onnx'));
  const id = '00000000-0000-4000-8000-000000000001';
  const storageKey = `models/${model.id}/${id}.onnx`;
  const stored = await server.app.storage.putBytes(storageKey, bytes);
  em.create(ModelVersion, {
    id,
    model: em.getReference(Model, model.id),
    version: '1.0.0',
    major: 1,
    minor: 0,
    patch: 0,
    prerelease: null,
    status: ModelVersionStatus.PROCESSING,
    sizeBytes: stored.sizeBytes,
    sha256: stored.sha256,
    storageKey,
    inputs: [],
    outputs: [],
  });
  await em.flush();
  expect(await svc().versionValidation.resumeProcessing()).toBeGreaterThanOrEqual(1);
  await svc().versions.whenValidated(id);
  const v = await reload(id);
  expect(v.status).toBe(ModelVersionStatus.READY);
  expect(v.inputs).toHaveLength(2);
  expect((await server.app.db.orm.em.fork().findOneOrFail(Model, { id: model.id })).defaultVersion?.id).toBe(id);
  // Nothing is left to take up.
  expect(await svc().versionValidation.resumeProcessing()).toBe(0);
});
