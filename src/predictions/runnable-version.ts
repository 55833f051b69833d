import type { EntityManager } from '@mikro-orm/postgresql';
import { ModelVersionStatus } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import { Model } from '../entities/model.entity.js';
import type { PoolVersion } from '../inference/inference-pool.js';
import { notFound } from '../shared/errors.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { predictionErrors } from './prediction.errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const statusOf = (v: ModelVersion) => v.status as ModelVersionStatus;

/**
 * The version a prediction runs on: the pinned one (READY, or DEPRECATED — pinning is how a
 * client keeps running a deprecated version), or the model's default (READY only).
 *
 * @throws AppError NOT_FOUND (model, version), BAD_USER_INPUT (not runnable, with a reason).
 */
export async function resolveRunnableVersion(
  em: EntityManager,
  modelId: string,
  pinned: string | null,
): Promise<{ model: Model; version: ModelVersion }> {
  if (!UUID.test(modelId)) throw notFound('Model');
  const model = await em.findOne(Model, { id: modelId, deletedAt: null }, { populate: ['defaultVersion'] });
  if (!model) throw notFound('Model');
  let version: ModelVersion | null;
  if (pinned !== null) {
    version = await em.findOne(ModelVersion, { model: model.id, version: pinned });
    if (!version) throw notFound(`Version ${pinned} of this model`);
    const status = statusOf(version);
    if (status !== ModelVersionStatus.READY && status !== ModelVersionStatus.DEPRECATED) {
      throw predictionErrors.versionNotReady(version.version, status);
    }
  } else {
    version = model.defaultVersion ?? null;
    if (!version) throw predictionErrors.noDefaultVersion();
    const status = statusOf(version);
    if (status === ModelVersionStatus.DEPRECATED) throw predictionErrors.defaultDeprecated(version.version);
    if (status !== ModelVersionStatus.READY) throw predictionErrors.versionNotReady(version.version, status);
  }
  return { model, version };
}

/** Storage paths per version id, resolved once (cheap locally, not free for remote stores). */
export class VersionPaths {
  private readonly paths = new Map<string, string>();

  constructor(private readonly storage: ModelStorage) {}

  async poolVersion(v: ModelVersion): Promise<PoolVersion> {
    let path = this.paths.get(v.id);
    if (!path) {
      path = await this.storage.localPath(v.storageKey);
      this.paths.set(v.id, path);
    }
    return { id: v.id, path, sizeBytes: v.sizeBytes, inputs: v.inputs, outputs: v.outputs, batching: v.batching };
  }
}
