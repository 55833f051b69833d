import { randomUUID } from 'node:crypto';
import { ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ModelVersionStatus } from '../entities/enums.js';
import { ModelVersion } from '../entities/model-version.entity.js';
import { Model } from '../entities/model.entity.js';
import { AppError, badInput, ErrorCode, notFound } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import { filterEvents, type EventBus } from '../subscriptions/event-bus.js';
import type { TopicPayloads } from '../subscriptions/topics.js';
import { isAdmin, requireUser } from '../auth/access.js';
import { requireVerifiedEmail } from '../auth/verified-email.js';
import { conflict, UUID, violatedUnique } from './catalog.errors.js';
import { storeUpload, type UploadedFile } from './store-upload.js';
import type { CatalogGeneration } from './catalog-generation.js';
import type { ModelWriteService } from './model-write.service.js';
import type { VersionValidation } from './version-validation.js';
import { checkVersionMetadata, type VersionMetadataInput } from './version-metadata.js';
import { compareSemver, formatSemver, parseSemver, type SemVer } from './semver.js';

type ExistingVersion = SemVer & { version: string; sha256: string };

export type VersionServiceDeps = {
  storage: ModelStorage;
  events: EventBus;
  logger: Logger;
  uploadMaxBytes: number;
  /** EMAIL_VERIFICATION=required: uploads wait for a confirmed address. */
  requireVerifiedEmail?: boolean;
  /** Versions a publisher may have PROCESSING at once (INFERENCE_VALIDATIONS_PER_USER); absent: no bound. */
  validationsPerUser?: number;
};

/**
 * Model versions: upload (stream to storage while hashing, then validate off the request path:
 * version-validation.ts), default version and deprecation. Status changes are published after their transaction commits.
 */
export class VersionService {
  constructor(
    private readonly deps: VersionServiceDeps,
    private readonly models: ModelWriteService,
    private readonly validation: VersionValidation,
    // Bumped after each committed change, so cached catalog reads never outlive it.
    private readonly generation: CatalogGeneration,
  ) {}

  /**
   * Stores a new version and returns it PROCESSING; validation continues in the background
   * (see `whenValidated`). The version must be greater (semver) than every existing version of
   * the model and its bytes new to it; two concurrent uploads of one version: one wins, the
   * other gets CONFLICT.
   */
  async upload(
    ctx: ServiceContext,
    input: { modelId: string; version: string; file: UploadedFile | Promise<UploadedFile>; changelog?: string | null },
  ): Promise<ModelVersion> {
    const model = await this.models.manageable(ctx, input.modelId);
    await requireVerifiedEmail(ctx.em, requireUser(ctx.caller).userId, this.deps.requireVerifiedEmail ?? false);
    if (model.deletedAt) throw badInput('This model is deleted; restore it before uploading');
    const semver = parseSemver(input.version.trim());
    const changelog = input.changelog?.trim() || null;
    if (changelog && changelog.length > 10_000) throw badInput('changelog must be at most 10000 characters');
    // Cheap early refusals, before any byte is stored; repeated under the row locks below.
    checkIncreases(semver, await existingVersions(ctx.em, model.id));
    await this.checkValidationsInFlight(ctx.em, model.owner.id);

    const id = randomUUID();
    const storageKey = `models/${model.id}/${id}.onnx`;
    const stored = await storeUpload(this.deps.storage, storageKey, input.file, this.deps.uploadMaxBytes);
    try {
      const version = await ctx.em.transactional(async (em) => {
        // Serialises uploads per model, and per publisher: the checks below see every committed version.
        await em.execute('select id from models where id = ? for update', [model.id]);
        await em.execute('select id from users where id = ? for update', [model.owner.id]);
        await this.checkValidationsInFlight(em, model.owner.id);
        const existing = await existingVersions(em, model.id);
        checkIncreases(semver, existing);
        const same = existing.find((v) => v.sha256 === stored.sha256);
        if (same) throw conflict(`This file was already uploaded as version ${same.version}`, { field: 'file' });
        const row = em.create(ModelVersion, {
          id,
          model: em.getReference(Model, model.id),
          version: formatSemver(semver),
          ...semver,
          status: ModelVersionStatus.PROCESSING,
          sizeBytes: stored.sizeBytes,
          sha256: stored.sha256,
          storageKey,
          changelog,
          // Filled in by validation; set here so the PROCESSING row reads whole before a reload.
          inputs: [],
          outputs: [],
        });
        await em.flush();
        return row;
      });
      // A PROCESSING version shows in its owner's (uncached) reads; bumped anyway so that no
      // cached read mentions a version count that is already wrong.
      this.generation.bump();
      await this.publish(version);
      this.validation.start(version.id, model.id, storageKey);
      return version;
    } catch (err) {
      await this.deps.storage.delete(storageKey);
      const constraint = violatedUnique(err);
      if (constraint === 'model_versions_model_version_unique') {
        throw conflict(`Version ${formatSemver(semver)} already exists for this model`, { field: 'version' });
      }
      if (constraint === 'model_versions_model_sha256_unique') {
        throw conflict('This file was already uploaded to this model', { field: 'file' });
      }
      throw err;
    }
  }

  /**
   * A publisher's uploads being validated are bounded (INFERENCE_VALIDATIONS_PER_USER): each
   * costs a sandbox process for up to the admission budget. Counted in the database, so the
   * bound holds across API keys and replicas.
   */
  private async checkValidationsInFlight(em: EntityManager, ownerId: string): Promise<void> {
    const limit = this.deps.validationsPerUser;
    if (limit === undefined) return;
    const [{ n }] = await em.execute<{ n: number }[]>(
      `select count(*)::int as n from model_versions v join models m on m.id = v.model_id
       where m.owner_id = ? and v.status = ?`,
      [ownerId, ModelVersionStatus.PROCESSING],
    );
    if (n >= limit) {
      throw new AppError(
        ErrorCode.RATE_LIMITED,
        `${n} of this publisher's uploads are still being validated, the most at once; upload again when one is READY or FAILED`,
        { reason: 'VALIDATIONS_IN_FLIGHT', inFlight: n, limit, retryable: true },
      );
    }
  }

  /** Resolves once the version's background validation has finished (at once if none runs). */
  whenValidated(versionId: string): Promise<void> {
    return this.validation.whenValidated(versionId);
  }

  /** Makes a READY version the model's default; setting an older one is a rollback. */
  async setDefault(ctx: ServiceContext, versionId: string): Promise<ModelVersion> {
    const version = await this.manageableVersion(ctx, versionId);
    if (statusOf(version) !== ModelVersionStatus.READY) {
      throw badInput(`Only a READY version can be the default (this one is ${version.status})`);
    }
    const model = await ctx.em.findOneOrFail(Model, { id: version.model.id });
    model.defaultVersion = version;
    await ctx.em.flush();
    this.generation.bump();
    return version;
  }

  /**
   * Sets what the publisher says about a version's inputs and outputs (version-metadata.ts
   * checks it against the signature), replacing what was there. Needs the signature: READY or
   * DEPRECATED versions only.
   */
  async updateMetadata(ctx: ServiceContext, versionId: string, input: VersionMetadataInput): Promise<ModelVersion> {
    const version = await this.manageableVersion(ctx, versionId);
    const status = statusOf(version);
    if (status !== ModelVersionStatus.READY && status !== ModelVersionStatus.DEPRECATED) {
      throw badInput(`Only a validated version can be described (this one is ${version.status})`);
    }
    version.metadata = checkVersionMetadata(input, version);
    await ctx.em.flush();
    this.generation.bump();
    return version;
  }

  /**
   * Marks a version DEPRECATED: predictions already made keep working and clients that pin it
   * may still use it; the inference engine refuses new unpinned predictions on it. Idempotent.
   */
  async deprecate(ctx: ServiceContext, versionId: string): Promise<ModelVersion> {
    const version = await this.manageableVersion(ctx, versionId);
    if (statusOf(version) === ModelVersionStatus.DEPRECATED) return version;
    if (statusOf(version) !== ModelVersionStatus.READY) {
      throw badInput(`Only a READY version can be deprecated (this one is ${version.status})`);
    }
    version.status = ModelVersionStatus.DEPRECATED;
    version.deprecatedAt = new Date();
    await ctx.em.flush();
    this.generation.bump();
    await this.publish(version);
    return version;
  }

  /**
   * Deletes a version nothing depends on — a FAILED upload, or a READY one never run and not the
   * default — and its file (after the commit), which frees its number for a new upload. One that
   * has predictions is CONFLICT: deprecate it instead (its records and bills point at it).
   * @throws AppError NOT_FOUND, FORBIDDEN, CONFLICT (validating, the default, or used)
   */
  async remove(ctx: ServiceContext, versionId: string): Promise<boolean> {
    const version = await this.manageableVersion(ctx, versionId);
    if (statusOf(version) === ModelVersionStatus.PROCESSING) {
      throw conflict('This version is still being validated: delete it once it is READY or FAILED');
    }
    try {
      await ctx.em.transactional(async (tx) => {
        // Serialises with uploads and default changes of the model (they lock the same row).
        const [model] = await tx.execute<{ default_version_id: string | null }[]>(
          'select default_version_id from models where id = ? for update',
          [version.model.id],
        );
        if (model?.default_version_id === version.id) {
          throw conflict('This is the default version: make another one the default first');
        }
        const [used] = await tx.execute<{ n: number }[]>(
          `select (select count(*) from predictions where version_id = ?)::int
             + (select count(*) from batch_predictions where version_id = ?)::int as n`,
          [version.id, version.id],
        );
        if (used.n > 0) {
          throw conflict(`This version has ${used.n} predictions: deprecate it instead`, { predictions: used.n });
        }
        await tx.execute('delete from model_versions where id = ?', [version.id]);
      });
    } catch (err) {
      // A prediction made on it meanwhile: the foreign key refuses the delete.
      if (err instanceof ForeignKeyConstraintViolationException) {
        throw conflict('This version has predictions: deprecate it instead');
      }
      throw err;
    }
    ctx.em.getUnitOfWork().unsetIdentity(version);
    this.generation.bump();
    await this.deps.storage.delete(version.storageKey).catch((err: unknown) => {
      this.deps.logger.warn({ err, versionId }, 'a deleted version’s file could not be removed');
    });
    return true;
  }

  /**
   * Status changes of a model's versions, for the `modelVersionStatusChanged` subscription.
   * Owners and admins see every status; anyone else only READY versions of a public model.
   */
  async statusEvents(
    ctx: ServiceContext,
    modelId: string,
  ): Promise<AsyncIterableIterator<TopicPayloads['MODEL_VERSION_STATUS_CHANGED']>> {
    if (!UUID.test(modelId)) throw notFound('Model');
    const model = await ctx.em.fork().findOne(Model, { id: modelId });
    const c = ctx.caller;
    const manager = !!model && c.kind === 'user' && (c.userId === model.owner.id || isAdmin(c));
    if (!model || (model.deletedAt && !manager)) throw notFound('Model');
    const events = this.deps.events.subscribe('MODEL_VERSION_STATUS_CHANGED', model.id);
    return manager ? events : filterEvents(events, (e) => e.status === ModelVersionStatus.READY);
  }

  /**
   * A status event's version, read fresh: one subscription lives for many events, so neither the
   * operation's identity map nor its loaders may answer (they would replay the first state).
   */
  async eventVersion(em: EntityManager, event: TopicPayloads['MODEL_VERSION_STATUS_CHANGED']): Promise<ModelVersion> {
    const version = await em.fork().findOne(ModelVersion, { id: event.versionId });
    if (!version) throw notFound('Model version');
    return version;
  }

  private async manageableVersion(ctx: ServiceContext, versionId: string): Promise<ModelVersion> {
    requireUser(ctx.caller);
    if (!UUID.test(versionId)) throw notFound('Model version');
    const version = await ctx.em.findOne(ModelVersion, { id: versionId });
    if (!version) throw notFound('Model version');
    await this.models.manageable(ctx, version.model.id);
    return version;
  }

  private async publish(version: ModelVersion): Promise<void> {
    try {
      await this.deps.events.publish('MODEL_VERSION_STATUS_CHANGED', version.model.id, {
        modelId: version.model.id,
        versionId: version.id,
        status: version.status,
        at: (version.updatedAt ?? new Date()).toISOString(),
      });
    } catch (err) {
      // The change is committed; a lost notification must not fail the mutation.
      this.deps.logger.warn({ err, versionId: version.id }, 'could not publish a version status change');
    }
  }
}

// defineEntity types an enum property as its values' union; compare through the enum itself.
const statusOf = (version: ModelVersion) => version.status as ModelVersionStatus;

async function existingVersions(em: EntityManager, modelId: string): Promise<ExistingVersion[]> {
  return em.execute<ExistingVersion[]>(
    'select version, major, minor, patch, prerelease, sha256 from model_versions where model_id = ?',
    [modelId],
  );
}

function checkIncreases(next: SemVer, existing: ExistingVersion[]): void {
  let highest: ExistingVersion | undefined;
  for (const v of existing) if (!highest || compareSemver(v, highest) > 0) highest = v;
  if (existing.some((v) => compareSemver(v, next) === 0)) {
    throw conflict(`Version ${formatSemver(next)} already exists for this model`, { field: 'version' });
  }
  if (highest && compareSemver(next, highest) < 0) {
    throw badInput(`Version ${formatSemver(next)} must be greater than the latest version, ${highest.version}`, {
      field: 'version',
      latest: highest.version,
    });
  }
}
