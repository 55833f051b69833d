import type { EntityManager } from '@mikro-orm/postgresql';
import { FINAL_PREDICTION_STATUSES, PredictionStatus } from '../entities/enums.js';
import { Prediction } from '../entities/prediction.entity.js';
import type { PredictionJobDeps, WebhookEventName } from './prediction-job.types.js';

export const isFinal = (s: PredictionStatus) => FINAL_PREDICTION_STATUSES.includes(s);
export const statusOf = (p: Pick<Prediction, 'status'>) => p.status as PredictionStatus;

/**
 * How a queued prediction changes state, for the API side (cancel) and the runner alike. Every
 * change is a conditional UPDATE from the states it expects, so a cancel racing a worker, a
 * retried job or a second worker after a stall can never bill twice or bring a final job back;
 * its event is published after the commit, and a final one queues the job's webhook.
 */
export class PredictionTransitions {
  constructor(private readonly deps: Pick<PredictionJobDeps, 'metering' | 'publish' | 'webhook' | 'logger'>) {}

  async finishWithout(
    em: EntityManager,
    p: Prediction,
    status: PredictionStatus,
    code: string,
    message: string,
    from: PredictionStatus[] = [PredictionStatus.QUEUED, PredictionStatus.RUNNING],
  ) {
    const changed = await this.transition(em, p.id, from, {
      status,
      errorCode: code,
      errorMessage: message,
      completedAt: new Date(),
      inputs: null,
    });
    if (!changed) return;
    await em.refresh(p);
    await this.afterFinal(p);
  }

  /**
   * UPDATE … WHERE status IN (from): true when this call made the change. A change to FAILED or
   * CANCELED gives back what the job held against its consumer's spending cap, in the same
   * transaction: exactly once, with the change that ended it.
   */
  async transition(
    em: EntityManager,
    id: string,
    from: PredictionStatus[],
    set: Partial<
      Pick<
        Prediction,
        'status' | 'errorCode' | 'errorMessage' | 'completedAt' | 'startedAt' | 'queueTimeMs' | 'attempts'
      >
    > & {
      inputs?: null;
    },
  ): Promise<boolean> {
    const update = async (tx: EntityManager) =>
      (await tx.nativeUpdate(Prediction, { id, status: { $in: from } }, { ...set, updatedAt: new Date() })) > 0;
    if (set.status !== PredictionStatus.FAILED && set.status !== PredictionStatus.CANCELED) return update(em);
    return em.transactional(async (tx) => {
      const changed = await update(tx);
      if (changed) await this.deps.metering.release(tx, id);
      return changed;
    });
  }

  async afterFinal(p: Prediction): Promise<void> {
    await this.publish(p);
    if (p.webhookUrl) await this.sendWebhook(p, 'completed');
  }

  async publish(p: Prediction): Promise<void> {
    try {
      await this.deps.publish({
        predictionId: p.id,
        userId: p.user.id,
        status: statusOf(p),
        at: new Date().toISOString(),
        ...(p.batch ? { batchId: p.batch.id } : {}),
      });
    } catch (err) {
      // The row is the truth; a lost event is seen on the next query.
      this.deps.logger.warn({ err, predictionId: p.id }, 'could not publish a prediction event');
    }
  }

  async sendWebhook(p: Prediction, event: WebhookEventName): Promise<void> {
    if (!this.deps.webhook || !p.webhookUrl) return;
    try {
      await this.deps.webhook(p.user.id, p.webhookUrl, `prediction.${event}`, `${p.id}.${event}`, {
        id: p.id,
        status: p.status,
        modelId: p.model.id,
        versionId: p.version.id,
        error: p.errorCode ? { code: p.errorCode, message: p.errorMessage } : null,
        createdAt: p.createdAt.toISOString(),
        startedAt: p.startedAt?.toISOString() ?? null,
        completedAt: p.completedAt?.toISOString() ?? null,
      });
    } catch (err) {
      this.deps.logger.warn({ err, predictionId: p.id }, 'could not queue a webhook');
    }
  }
}
