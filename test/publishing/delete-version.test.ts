// deleteModelVersion as a publisher uses it: a FAILED upload, or a READY version never run and not
// the default, goes with its file, and its number can be uploaded again; a version with
// predictions, the default, or someone else's cannot be deleted.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Role } from '../../src/entities/enums.js';
import type { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  DeleteModelVersionDocument,
  PredictDocument,
  SetDefaultVersionDocument,
  UploadModelVersionDocument,
} from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { postMultipart } from './multipart.js';

let server: TestServer;
let f: Factory;
let publisher: User;
let headers: Record<string, string>;
const ONNX = readFileSync(new URL('../fixtures/models/elementwise.onnx', import.meta.url));
const OTHER_ONNX = readFileSync(new URL('../fixtures/models/mlp-small.onnx', import.meta.url));

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  publisher = await f.user({ role: Role.PUBLISHER });
  headers = await authHeaders(server.app, publisher);
}, 60_000);

afterAll(async () => server?.close());

const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;

async function upload(model: Model, version: string, bytes: Uint8Array) {
  const res = await postMultipart(
    server.origin,
    UploadModelVersionDocument,
    { modelId: model.id, version },
    { bytes, filename: 'model.onnx' },
    headers,
  );
  expect(res.errors).toBeUndefined();
  const id = res.data!.uploadModelVersion.id;
  await server.app.services.versions.whenValidated(id);
  const [row] = await server.app.db.orm.em
    .fork()
    .execute<{ status: string; storage_key: string }[]>('select status, storage_key from model_versions where id = ?', [
      id,
    ]);
  return { id, ...row };
}

const remove = (versionId: string, h = headers) => server.gql(DeleteModelVersionDocument, { versionId }, h);

it('deletes a FAILED upload and frees its number', async () => {
  const model = await f.model(publisher);
  const failed = await upload(model, '1.0.0', randomBytes(4096));
  expect(failed.status).toBe('FAILED');
  expect((await remove(failed.id)).data?.deleteModelVersion).toBe(true);
  expect(codeOf(await remove(failed.id))).toMatchObject({ code: 'NOT_FOUND' });
  const again = await upload(model, '1.0.0', ONNX);
  expect(again.status).toBe('READY');
});

it('deletes a READY version never run and not the default, with its file', async () => {
  const model = await f.model(publisher);
  const first = await upload(model, '1.0.0', ONNX);
  await server.gql(SetDefaultVersionDocument, { versionId: first.id }, headers);
  const spare = await upload(model, '1.1.0', OTHER_ONNX);
  expect(spare.status).toBe('READY');
  expect(await server.app.storage.exists(spare.storage_key)).toBe(true);
  expect((await remove(spare.id)).data?.deleteModelVersion).toBe(true);
  expect(await server.app.storage.exists(spare.storage_key)).toBe(false);

  // The default cannot go; once it has predictions, neither can it when no longer the default.
  expect(codeOf(await remove(first.id))).toMatchObject({ code: 'CONFLICT' });
  const consumer = await authHeaders(server.app, await f.user());
  const run = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }] },
    consumer,
  );
  expect(run.errors).toBeUndefined();
  const next = await upload(model, '2.0.0', OTHER_ONNX);
  await server.gql(SetDefaultVersionDocument, { versionId: next.id }, headers);
  expect(codeOf(await remove(first.id))).toMatchObject({ code: 'CONFLICT', predictions: 1 });
  // Someone else's version: refused whoever asks.
  const stranger = await authHeaders(server.app, await f.user({ role: Role.PUBLISHER }));
  expect(codeOf(await remove(next.id, stranger))).toMatchObject({ code: 'FORBIDDEN' });
  expect(codeOf(await remove('00000000-0000-4000-8000-000000000000'))).toMatchObject({ code: 'NOT_FOUND' });
});
