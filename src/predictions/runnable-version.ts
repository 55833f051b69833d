import type { EntityManager } from '@mikro-orm/postgresql';
import { ModelVersionStatus } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import { Model } from '../entities/model.entity.js';
import type { PoolVersion } from '../inference/inference-pool.js';
import { notFound } from '../shared/errors.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { CatalogGeneration } from '../catalog/catalog-generation.js';
import { predictionErrors } from './prediction.errors.js';
import { UUID } from '../shared/ids.js';
import { shareInFlight } from '../shared/in-flight.js';

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

type Resolved = { model: Model; version: ModelVersion };

/**
 * `resolveRunnableVersion` remembered per process, for the synchronous `predict` path where its
 * one or two queries were a large share of the request. Safe because:
 * - entries carry the catalog generation (src/catalog/catalog-generation.ts) that every model and
 *   version write bumps after its commit (delete, default change, deprecation, validation), so a
 *   write in this process is seen by the next prediction, another replica's within the Redis poll;
 * - the TTL bounds anything else (a row changed by hand);
 * - only successes are kept: a NOT_FOUND or not-runnable answer is asked again every time;
 * - what the path reads from them are the version's file and signature and the model's id: the
 *   price a request is billed at is read from the database when it is accepted
 *   (Metering.accept), never from this cache.
 * Entries are loaded through a fork of their own, so the cached entities never sit in (or are
 * flushed with) a request's unit of work; the path only reads them and passes their ids on.
 */
export class RunnableVersionCache {
  private readonly entries = new Map<string, Resolved & { generation: string; expires: number }>();
  private readonly reads = new Map<string, Promise<Resolved>>();

  constructor(
    private readonly generation: CatalogGeneration,
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {
    generation.onBump(() => this.entries.clear());
  }

  async resolve(em: EntityManager, modelId: string, pinned: string | null): Promise<Resolved> {
    if (this.ttlMs <= 0 || !this.generation.usable()) return resolveRunnableVersion(em, modelId, pinned);
    const key = `${modelId}\n${pinned ?? ''}`;
    const now = Date.now();
    const current = this.generation.current();
    const hit = this.entries.get(key);
    if (hit && hit.generation === current && hit.expires > now) return hit;
    if (hit) this.entries.delete(key);
    // One read per key and generation at a time: when an entry expires under load, the requests
    // that arrive before the read returns wait for it instead of each sending their own; one
    // arriving after a catalog write starts a read of its own.
    return shareInFlight(this.reads, `${key}\n${current}`, () =>
      // The generation is taken before the read: a write committed meanwhile makes this entry stale at once.
      resolveRunnableVersion(em.fork({ clear: true }), modelId, pinned).then((resolved) => {
        if (this.generation.current() === current) {
          if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
          this.entries.set(key, { ...resolved, generation: current, expires: now + this.ttlMs });
        }
        return resolved;
      }),
    );
  }
}

/**
 * Versions by id for the job worker, kept for `ttlMs`: what a job reads from its version — the
 * file, the input and output signature, the batching settings — is fixed at upload, so a stale
 * entry cannot run the wrong thing; the TTL only bounds memory for versions no longer used.
 * Loaded through a fork of their own (never a job's unit of work); concurrent misses share one read.
 */
export class VersionsById {
  private readonly entries = new Map<string, { version: ModelVersion; expires: number }>();
  private readonly reads = new Map<string, Promise<ModelVersion>>();

  constructor(
    private readonly fork: () => EntityManager,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 500,
  ) {}

  async get(id: string): Promise<ModelVersion> {
    const hit = this.entries.get(id);
    if (hit && hit.expires > Date.now()) return hit.version;
    return shareInFlight(this.reads, id, async () => {
      const version = await this.fork().findOneOrFail(ModelVersion, id);
      this.entries.delete(id);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { version, expires: Date.now() + this.ttlMs });
      return version;
    });
  }
}
