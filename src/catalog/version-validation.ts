import type { EntityManager } from '@mikro-orm/postgresql';
import { ModelVersionStatus } from '../entities/enums.js';
import { InvalidModelError } from '../inference/model-signature.js';
import { retryWhileUnavailable } from '../shared/dependency-errors.js';
import type { Logger } from '../shared/logger.js';
import type { ModelStorage } from '../storage/model-storage.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { CatalogGeneration } from './catalog-generation.js';
import { ValidationAbortedError, type ModelValidator } from './model-validator.js';

export type VersionValidationDeps = {
  /** A fresh EntityManager fork: validation outlives the request that uploaded the file. */
  fork: () => EntityManager;
  storage: ModelStorage;
  validator: ModelValidator;
  events: EventBus;
  logger: Logger;
  /** Bumped after each committed outcome, so cached catalog reads never outlive it. */
  generation: CatalogGeneration;
  /** Called after a version became READY (committed and published): the app warms it up. */
  onReady?: (versionId: string) => void;
};

/**
 * The validation pipeline of uploaded versions, off the request path: the file is loaded and run
 * once in a sandbox (model-validator.ts), the version becomes READY (the model's default if it
 * has none) or FAILED with a reason, and the change is published after its commit. Versions a
 * stopped process left PROCESSING are taken up again at start.
 */
export class VersionValidation {
  /** Background validations by version id, so tests and shutdown can wait for them. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly deps: VersionValidationDeps) {}

  /** Resolves once the version's background validation has finished (at once if none runs). */
  async whenValidated(versionId: string): Promise<void> {
    await this.running.get(versionId);
  }

  /**
   * Validates again every version left PROCESSING (a process that stopped mid-validation leaves
   * them so). Safe on several replicas at once: the status update only applies to a row still
   * PROCESSING, so a version is settled, and its event published, once. Returns how many it took up.
   */
  async resumeProcessing(): Promise<number> {
    const rows = await this.deps
      .fork()
      .execute<{ id: string; model_id: string; storage_key: string }[]>(
        'select id, model_id, storage_key from model_versions where status = ? order by created_at',
        [ModelVersionStatus.PROCESSING],
      );
    for (const row of rows) {
      if (!this.running.has(row.id)) this.start(row.id, row.model_id, row.storage_key);
    }
    return rows.length;
  }

  /** Waits for every running validation (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Validates a stored version in the background (its outcome is written and published). */
  start(versionId: string, modelId: string, storageKey: string): void {
    const run = this.validate(versionId, modelId, storageKey)
      .catch((err: unknown) => this.deps.logger.error({ err, versionId }, 'model validation bookkeeping failed'))
      .finally(() => this.running.delete(versionId));
    this.running.set(versionId, run);
  }

  private async validate(versionId: string, modelId: string, storageKey: string): Promise<void> {
    let outcome:
      | { status: ModelVersionStatus.READY; inputs: unknown; outputs: unknown }
      | { status: ModelVersionStatus.FAILED; reason: string; code: string };
    try {
      const signature = await this.deps.validator.validate(await this.deps.storage.localPath(storageKey));
      outcome = { status: ModelVersionStatus.READY, inputs: signature.inputs, outputs: signature.outputs };
    } catch (err) {
      // Shutting down: nothing was learnt about the file. It stays PROCESSING, and the next
      // start (resumeProcessing) validates it again.
      if (err instanceof ValidationAbortedError) return;
      if (err instanceof InvalidModelError) {
        outcome = { status: ModelVersionStatus.FAILED, reason: err.reason, code: err.code };
      } else {
        this.deps.logger.error({ err, versionId }, 'model validation crashed');
        outcome = {
          status: ModelVersionStatus.FAILED,
          code: 'UNKNOWN',
          reason:
            'validation could not finish (the model may be too large or crash the runtime); upload it again or contact support',
        };
      }
    }
    const at = new Date();
    // The database may be restarting: the outcome is written once it is back (else the version
    // would stay PROCESSING until a process restart took it up again; test/chaos/ found that).
    const write = () =>
      this.deps.fork().transactional(async (tx) => {
        const changed =
          outcome.status === ModelVersionStatus.READY
            ? await tx.execute(
                `update model_versions set status = ?, inputs = ?::jsonb, outputs = ?::jsonb, ready_at = ?, status_reason = null, status_code = null, updated_at = ?
               where id = ? and status = ?`,
                [
                  outcome.status,
                  JSON.stringify(outcome.inputs),
                  JSON.stringify(outcome.outputs),
                  at,
                  at,
                  versionId,
                  ModelVersionStatus.PROCESSING,
                ],
                'run',
              )
            : await tx.execute(
                'update model_versions set status = ?, status_reason = ?, status_code = ?, updated_at = ? where id = ? and status = ?',
                [outcome.status, outcome.reason, outcome.code, at, versionId, ModelVersionStatus.PROCESSING],
                'run',
              );
        if (outcome.status === ModelVersionStatus.READY) {
          // The first READY version becomes the default; later ones wait for setDefaultVersion.
          await tx.execute('update models set default_version_id = ? where id = ? and default_version_id is null', [
            versionId,
            modelId,
          ]);
        }
        return (changed as { affectedRows?: number }).affectedRows !== 0;
      });
    const updated = await retryWhileUnavailable(write);
    if (!updated) return;
    this.deps.generation.bump();
    if (outcome.status === ModelVersionStatus.FAILED) await this.deps.storage.delete(storageKey);
    await this.deps.events.publish('MODEL_VERSION_STATUS_CHANGED', modelId, {
      modelId,
      versionId,
      status: outcome.status,
      at: at.toISOString(),
    });
    if (outcome.status === ModelVersionStatus.READY) this.deps.onReady?.(versionId);
  }
}
