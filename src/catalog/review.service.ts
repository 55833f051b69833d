import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { PredictionStatus, Role } from '../entities/enums.js';
import { Model } from '../entities/model.entity.js';
import { Review } from '../entities/review.entity.js';
import { badInput, notFound, notPermitted } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import { CatalogGeneration } from './catalog-generation.js';
import { requireRole, requireUser } from '../auth/access.js';
import { conflict, UUID, violatedUnique } from './catalog.errors.js';

export type ReviewInput = { rating?: number | null; title?: string | null; body?: string | null };

type ReviewRow = { id: string; model_id: string; author_id: string; rating: number; hidden: boolean };

/**
 * Reviews: one per user per model, helpful votes, the publisher's reply, moderation. The model's
 * rating aggregates (ratingCount, ratingSum over visible reviews) change in the same transaction
 * as the review, by atomic SQL increments: concurrent reviews never lose an update.
 */
export class ReviewService {
  // Bumped after each committed change, so cached catalog reads never outlive it.
  constructor(private readonly generation: CatalogGeneration = new CatalogGeneration()) {}

  async create(ctx: ServiceContext, modelId: string, input: ReviewInput): Promise<Review> {
    const caller = requireUser(ctx.caller);
    const clean = cleanReview(input, true);
    if (!UUID.test(modelId)) throw notFound('Model');
    const model = await ctx.em.findOne(Model, { id: modelId, deletedAt: null });
    if (!model) throw notFound('Model');
    if (model.owner.id === caller.userId) throw notPermitted('You cannot review your own model');
    const id = randomUUID();
    try {
      await ctx.em.transactional(async (em) => {
        const [used] = await em.execute<{ ok: boolean }[]>(
          'select exists(select 1 from predictions where user_id = ? and model_id = ? and status = ?) as ok',
          [caller.userId, model.id, PredictionStatus.SUCCEEDED],
        );
        const now = new Date();
        await em.execute(
          `insert into reviews (id, model_id, author_id, rating, title, body, verified_usage, helpful_count, hidden, created_at, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, 0, false, ?, ?)`,
          [id, model.id, caller.userId, clean.rating, clean.title ?? '', clean.body ?? '', !!used?.ok, now, now],
        );
        await adjustAggregates(em, model.id, 1, clean.rating!);
      });
      this.generation.bump();
    } catch (err) {
      if (violatedUnique(err) === 'reviews_model_author_unique') {
        throw conflict('You have already reviewed this model; update your review instead');
      }
      throw err;
    }
    return this.reload(ctx, id);
  }

  /** The author edits their review; a rating change moves the aggregates by the difference. */
  async update(ctx: ServiceContext, reviewId: string, input: ReviewInput): Promise<Review> {
    const caller = requireUser(ctx.caller);
    const clean = cleanReview(input, false);
    await ctx.em.transactional(async (em) => {
      const old = await lockReview(em, reviewId);
      if (old.author_id !== caller.userId) throw notPermitted('Only the author can edit a review');
      const sets: string[] = ['updated_at = ?'];
      const params: unknown[] = [new Date()];
      for (const [column, value] of [
        ['rating', clean.rating],
        ['title', clean.title],
        ['body', clean.body],
      ] as const) {
        if (value !== undefined) {
          sets.push(`${column} = ?`);
          params.push(value);
        }
      }
      await em.execute(`update reviews set ${sets.join(', ')} where id = ?`, [...params, reviewId]);
      if (clean.rating !== undefined && !old.hidden && clean.rating !== old.rating) {
        await adjustAggregates(em, old.model_id, 0, clean.rating - old.rating);
      }
    });
    this.generation.bump();
    return this.reload(ctx, reviewId);
  }

  /** The author (or an admin) deletes a review; its votes go with it (ON DELETE CASCADE). */
  async delete(ctx: ServiceContext, reviewId: string): Promise<boolean> {
    const caller = requireUser(ctx.caller);
    await ctx.em.transactional(async (em) => {
      const old = await lockReview(em, reviewId);
      if (old.author_id !== caller.userId && caller.role !== Role.ADMIN) {
        throw notPermitted('Only the author can delete a review');
      }
      await em.execute('delete from reviews where id = ?', [reviewId]);
      if (!old.hidden) await adjustAggregates(em, old.model_id, -1, -old.rating);
    });
    this.generation.bump();
    return true;
  }

  /** One helpful vote per user, never on one's own review; voting twice changes nothing. */
  async markHelpful(ctx: ServiceContext, reviewId: string): Promise<Review> {
    const caller = requireUser(ctx.caller);
    await ctx.em.transactional(async (em) => {
      const review = await lockReview(em, reviewId);
      if (review.hidden) throw notFound('Review');
      if (review.author_id === caller.userId) throw notPermitted('You cannot mark your own review helpful');
      const inserted = await em.execute<{ id: string }[]>(
        `insert into review_votes (id, review_id, user_id, created_at) values (?, ?, ?, ?)
         on conflict on constraint review_votes_review_user_unique do nothing returning id`,
        [randomUUID(), reviewId, caller.userId, new Date()],
      );
      if (inserted.length) {
        await em.execute('update reviews set helpful_count = helpful_count + 1 where id = ?', [reviewId]);
      }
    });
    this.generation.bump();
    return this.reload(ctx, reviewId);
  }

  /** The model's owner answers a review (replacing an earlier answer). */
  async reply(ctx: ServiceContext, reviewId: string, body: string): Promise<Review> {
    const caller = requireUser(ctx.caller);
    const text = body.trim();
    if (!text) throw badInput('The reply must not be empty', { field: 'body' });
    if (text.length > 5000) throw badInput('The reply must be at most 5000 characters', { field: 'body' });
    const review = await this.reload(ctx, reviewId);
    const model = await ctx.em.findOneOrFail(Model, { id: review.model.id });
    if (model.owner.id !== caller.userId) throw notPermitted("Only the model's owner can reply to its reviews");
    review.publisherReply = text;
    review.publisherReplyAt = new Date();
    await ctx.em.flush();
    this.generation.bump();
    return review;
  }

  /** Admins hide (or restore) a review; hidden ones leave the list and the aggregates. */
  async moderate(ctx: ServiceContext, reviewId: string, hidden: boolean): Promise<Review> {
    requireRole(ctx.caller, [Role.ADMIN]);
    await ctx.em.transactional(async (em) => {
      const old = await lockReview(em, reviewId);
      if (old.hidden === hidden) return;
      await em.execute('update reviews set hidden = ?, updated_at = ? where id = ?', [hidden, new Date(), reviewId]);
      await adjustAggregates(em, old.model_id, hidden ? -1 : 1, hidden ? -old.rating : old.rating);
    });
    this.generation.bump();
    return this.reload(ctx, reviewId);
  }

  private async reload(ctx: ServiceContext, reviewId: string): Promise<Review> {
    if (!UUID.test(reviewId)) throw notFound('Review');
    const review = await ctx.em.findOne(Review, { id: reviewId }, { refresh: true });
    if (!review) throw notFound('Review');
    return review;
  }
}

/** The review row, locked until the transaction ends (so concurrent edits see each other's result). */
async function lockReview(em: EntityManager, reviewId: string): Promise<ReviewRow> {
  if (!UUID.test(reviewId)) throw notFound('Review');
  const [row] = await em.execute<ReviewRow[]>(
    'select id, model_id, author_id, rating, hidden from reviews where id = ? for update',
    [reviewId],
  );
  if (!row) throw notFound('Review');
  return row;
}

/** Atomic increments: no read-modify-write, so concurrent reviews of one model all count. */
async function adjustAggregates(em: EntityManager, modelId: string, countDelta: number, sumDelta: number) {
  await em.execute('update models set rating_count = rating_count + ?, rating_sum = rating_sum + ? where id = ?', [
    countDelta,
    sumDelta,
    modelId,
  ]);
}

function cleanReview(input: ReviewInput, creating: boolean): { rating?: number; title?: string; body?: string } {
  const out: { rating?: number; title?: string; body?: string } = {};
  if (input.rating != null) {
    if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5) {
      throw badInput('rating must be a whole number from 1 to 5', { field: 'rating' });
    }
    out.rating = input.rating;
  } else if (creating) throw badInput('rating is required', { field: 'rating' });
  if (input.title != null) {
    out.title = input.title.trim();
    if (out.title.length > 200) throw badInput('title must be at most 200 characters', { field: 'title' });
  }
  if (input.body != null) {
    out.body = input.body.trim();
    if (out.body.length > 10_000) throw badInput('body must be at most 10000 characters', { field: 'body' });
  }
  return out;
}
