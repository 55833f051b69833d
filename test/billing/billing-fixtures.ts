import type { EntityManager } from '@mikro-orm/postgresql';
import type { App } from '../../src/app.js';
import { PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import type { ModelVersion } from '../../src/entities/model-version.entity.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import { User } from '../../src/entities/user.entity.js';
import type { Metering } from '../../src/billing/metering.types.js';
import { Factory } from '../support/factories.js';

/**
 * Rows for billing tests: a priced model with a free allowance, and succeeded predictions
 * metered the way the job worker does it (status and usage in one statement).
 */
export class BillingFixtures {
  readonly factory: Factory;

  constructor(private readonly app: App) {
    this.factory = new Factory(app);
  }

  em(): EntityManager {
    return this.app.db.orm.em.fork();
  }

  consumer(): Promise<User> {
    return this.factory.user({ role: Role.CONSUMER });
  }

  publisher(): Promise<User> {
    return this.factory.user({ role: Role.PUBLISHER });
  }

  async pricedModel(
    owner: User,
    pricing: { pricePerRequest: string; freeRequestsPerMonth: number },
  ): Promise<{ model: Model; version: ModelVersion }> {
    const model = await this.factory.model(owner, { pricePerRequest: pricing.pricePerRequest });
    await this.em().nativeUpdate(Model, { id: model.id }, { freeRequestsPerMonth: pricing.freeRequestsPerMonth });
    const version = await this.factory.version(model);
    return { model, version };
  }

  async setPrice(model: Model, pricePerRequest: string): Promise<void> {
    await this.em().nativeUpdate(Model, { id: model.id }, { pricePerRequest });
  }

  async setSpendCap(user: User, cap: string | null): Promise<void> {
    await this.em().nativeUpdate(User, { id: user.id }, { monthlySpendCap: cap });
  }

  /** A prediction row, RUNNING, committed (as the worker sees it before the result). */
  async runningPrediction(consumer: User, model: Model, version: ModelVersion): Promise<Prediction> {
    const em = this.em();
    const prediction = em.create(Prediction, {
      user: em.getReference(User, consumer.id),
      model: em.getReference(Model, model.id),
      version: version,
      mode: PredictionMode.ASYNC,
      status: PredictionStatus.RUNNING,
      startedAt: new Date(),
      inputs: null,
      outputs: null,
    });
    await em.flush();
    return prediction;
  }

  /**
   * Completes a RUNNING prediction SUCCEEDED and meters it, in one statement, as the job worker
   * does (Metering.completeSucceeded); a prediction no longer RUNNING is left as it is. Returns the
   * row and its usage record as stored.
   */
  async succeed(metering: Metering, predictionId: string, completedAt = new Date()) {
    await metering.completeSucceeded(this.em(), [
      { id: predictionId, outputs: null, device: 'cpu', batchSize: 1, completedAt, inferenceTimeMs: 3 },
    ]);
    const em = this.em();
    const prediction = await em.findOneOrFail(Prediction, predictionId);
    const record = await em.findOneOrFail(UsageRecord, { prediction: predictionId });
    return { prediction, record };
  }

  /** A prediction created and metered at `completedAt`. */
  async meteredPrediction(
    metering: Metering,
    consumer: User,
    model: Model,
    version: ModelVersion,
    completedAt = new Date(),
  ) {
    const p = await this.runningPrediction(consumer, model, version);
    return this.succeed(metering, p.id, completedAt);
  }
}
