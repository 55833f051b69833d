import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { App } from '../../src/app.js';
import { ModelVersionStatus, Role } from '../../src/entities/enums.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { Model } from '../../src/entities/model.entity.js';
import { Review } from '../../src/entities/review.entity.js';
import { User } from '../../src/entities/user.entity.js';

/**
 * Rows for catalog tests, written straight through the ORM (the write side has its own tests).
 * Each helper takes overrides so a test states only what it is about.
 */
export class Factory {
  private seq = 0;
  private clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(private readonly app: App) {}

  em(): EntityManager {
    return this.app.db.orm.em.fork();
  }

  /** Strictly increasing creation times, so NEWEST ordering is deterministic. */
  private nextTime(): Date {
    this.clock += 60_000;
    return new Date(this.clock);
  }

  async user(overrides: Partial<{ email: string; displayName: string; role: Role }> = {}): Promise<User> {
    const em = this.em();
    const n = ++this.seq;
    const user = em.create(User, {
      email: overrides.email ?? `user${n}-${randomUUID().slice(0, 8)}@example.test`,
      passwordHash: 'not-a-real-hash',
      displayName: overrides.displayName ?? `User ${n}`,
      role: overrides.role ?? Role.CONSUMER,
    });
    await em.flush();
    return user;
  }

  async model(
    owner: User,
    overrides: Partial<{
      name: string;
      slug: string;
      description: string;
      tags: string[];
      task: string;
      framework: string;
      pricePerRequest: string;
      predictionCount: number;
      deleted: boolean;
    }> = {},
  ): Promise<Model> {
    const em = this.em();
    const n = ++this.seq;
    const createdAt = this.nextTime();
    const model = em.create(Model, {
      owner: em.getReference(User, owner.id),
      slug: overrides.slug ?? `model-${n}-${randomUUID().slice(0, 8)}`,
      name: overrides.name ?? `Model ${n}`,
      description: overrides.description ?? 'A test model.',
      tags: overrides.tags ?? [],
      task: overrides.task ?? 'regression',
      framework: overrides.framework ?? 'onnx',
      pricePerRequest: overrides.pricePerRequest ?? '0.001',
      predictionCount: overrides.predictionCount ?? 0,
      deletedAt: overrides.deleted ? new Date() : null,
      createdAt,
      updatedAt: createdAt,
    });
    await em.flush();
    return model;
  }

  async version(
    model: Model,
    overrides: Partial<{ version: string; status: ModelVersionStatus; makeDefault: boolean }> = {},
  ): Promise<ModelVersion> {
    const em = this.em();
    const version = overrides.version ?? `1.0.${++this.seq}`;
    const [major, minor, patch] = version.split('-')[0].split('.').map(Number) as [number, number, number];
    const createdAt = this.nextTime();
    const v = em.create(ModelVersion, {
      model: em.getReference(Model, model.id),
      version,
      major,
      minor,
      patch,
      prerelease: version.includes('-') ? version.split('-')[1] : null,
      status: overrides.status ?? ModelVersionStatus.READY,
      sizeBytes: 1234,
      sha256: randomBytes(32).toString('hex'),
      storageKey: `models/${model.id}/${randomUUID()}.onnx`,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', '4'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', '4'] }],
      createdAt,
      updatedAt: createdAt,
    });
    await em.flush();
    if (overrides.makeDefault ?? true) {
      await em.nativeUpdate(Model, { id: model.id }, { defaultVersion: v.id });
    }
    return v;
  }

  /** A review, with the model's rating aggregates kept right (as the review service will). */
  async review(
    model: Model,
    author: User,
    rating: number,
    overrides: Partial<{ hidden: boolean; helpfulCount: number }> = {},
  ) {
    const em = this.em();
    const createdAt = this.nextTime();
    const review = em.create(Review, {
      model: em.getReference(Model, model.id),
      author: em.getReference(User, author.id),
      rating,
      title: `${rating} stars`,
      body: 'Review body',
      hidden: overrides.hidden ?? false,
      helpfulCount: overrides.helpfulCount ?? 0,
      createdAt,
      updatedAt: createdAt,
    });
    await em.flush();
    if (!review.hidden) {
      await em.execute('update models set rating_count = rating_count + 1, rating_sum = rating_sum + ? where id = ?', [
        rating,
        model.id,
      ]);
    }
    return review;
  }
}
