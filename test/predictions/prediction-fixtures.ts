import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { App } from '../../src/app.js';
import { ModelVersionStatus } from '../../src/entities/enums.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { Model } from '../../src/entities/model.entity.js';
import { readModelSignature } from '../../src/inference/model-signature.js';
import { ensureTestModel, TEST_MODELS, TEST_MODELS_DIR, type TestModelName } from '../../src/inference/test-models.js';
import type { BatchingJson } from '../../src/entities/model-version.entity.js';

/**
 * The same model with a `doc_string` (ModelProto field 6) appended, so each version has its own
 * bytes and checksum (versions of one model must differ), as src/catalog/seed.ts does.
 */
function withDocString(bytes: Uint8Array, text: string): Uint8Array {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([bytes, Buffer.from([(6 << 3) | 2, payload.length]), payload]);
}

/**
 * A version row for one of the test models, with its file in the app's model storage the way an
 * upload leaves it (as src/catalog/seed.ts stores the demo models): READY and the default unless
 * the test says otherwise.
 */
export async function storedVersion(
  app: App,
  model: Model,
  name: TestModelName,
  overrides: Partial<{
    version: string;
    status: ModelVersionStatus;
    makeDefault: boolean;
    batching: BatchingJson;
  }> = {},
): Promise<ModelVersion> {
  const file = TEST_MODELS[name].large
    ? await ensureTestModel(name, join(tmpdir(), 'mm-test-models'))
    : join(TEST_MODELS_DIR, TEST_MODELS[name].fileName);
  const id = randomUUID();
  const storageKey = `models/${model.id}/${id}.onnx`;
  const stored = await app.storage.putBytes(storageKey, withDocString(await readFile(file), id));
  const signature = await readModelSignature(await app.storage.localPath(storageKey));
  const version = overrides.version ?? `1.0.${Math.floor(Math.random() * 1e6)}`;
  const [major, minor, patch] = version.split('-')[0].split('.').map(Number) as [number, number, number];
  const em = app.db.orm.em.fork();
  const v = em.create(ModelVersion, {
    id,
    model: em.getReference(Model, model.id),
    version,
    major,
    minor,
    patch,
    prerelease: null,
    status: overrides.status ?? ModelVersionStatus.READY,
    sizeBytes: stored.sizeBytes,
    sha256: stored.sha256,
    storageKey,
    inputs: signature.inputs,
    outputs: signature.outputs,
    batching: overrides.batching ?? null,
    readyAt: new Date(),
  });
  await em.flush();
  if (overrides.makeDefault ?? true) await em.nativeUpdate(Model, { id: model.id }, { defaultVersion: v.id });
  return v;
}
