import { requireOwnerOrAdmin, requireRole, requireUser } from '../auth/access.js';
import { requireVerifiedEmail } from '../auth/verified-email.js';
import { ApiKeyScope, Role } from '../entities/enums.js';
import { Model } from '../entities/model.entity.js';
import { User } from '../entities/user.entity.js';
import { badInput, notFound } from '../shared/errors.js';
import type { ServiceContext } from '../shared/service-context.js';
import { conflict, UUID, violatedUnique } from './catalog.errors.js';
import { type CatalogGeneration } from './catalog-generation.js';
import { compareMoney } from '../billing/money.js';
import { cleanModelInput, type ModelInput, type ModelInputLimits } from './model-input.js';

/** The catalog's write side for models: create, edit, soft-delete. */
export class ModelWriteService {
  constructor(
    // Bumped after each committed change, so cached catalog reads never outlive it.
    private readonly generation: CatalogGeneration,
    private readonly limits: ModelInputLimits,
    /** EMAIL_VERIFICATION=required: publishing waits for a confirmed address. */
    private readonly policy: { requireVerifiedEmail: boolean } = { requireVerifiedEmail: false },
  ) {}

  /** Publishers (and admins) create models; the caller becomes the owner. */
  async create(ctx: ServiceContext, input: ModelInput): Promise<Model> {
    // API keys need `models:write` to change the catalog; sessions (no key) may.
    const caller = requireRole(ctx.caller, [Role.PUBLISHER, Role.ADMIN], { scope: ApiKeyScope.MODELS_WRITE });
    await requireVerifiedEmail(ctx.em, caller.userId, this.policy.requireVerifiedEmail);
    const clean = cleanModelInput(input, this.limits);
    for (const field of ['slug', 'name', 'task'] as const) {
      if (clean[field] === undefined) throw badInput(`${field} is required`, { field });
    }
    const model = ctx.em.create(Model, {
      owner: ctx.em.getReference(User, caller.userId),
      slug: clean.slug!,
      name: clean.name!,
      task: clean.task!,
      description: clean.description ?? '',
      tags: clean.tags ?? [],
      framework: clean.framework ?? 'onnx',
      license: clean.license ?? 'proprietary',
      pricePerRequest: clean.pricePerRequest ?? '0',
      freeRequestsPerMonth: clean.freeRequestsPerMonth ?? 0,
      dataRetentionHours: clean.dataRetentionHours ?? null,
    });
    await this.flush(ctx, model);
    return model;
  }

  /** Only the owner (or an admin) edits; a deleted model cannot be edited. */
  async update(ctx: ServiceContext, id: string, input: ModelInput): Promise<Model> {
    const model = await this.manageable(ctx, id);
    if (model.deletedAt) throw badInput('This model is deleted');
    const clean = cleanModelInput(input, this.limits);
    const repriced =
      (clean.pricePerRequest !== undefined && compareMoney(clean.pricePerRequest, model.pricePerRequest) !== 0) ||
      (clean.freeRequestsPerMonth !== undefined && clean.freeRequestsPerMonth !== model.freeRequestsPerMonth);
    ctx.em.assign(model, clean);
    // Requests accepted from now on are billed at the new pricing; earlier ones keep theirs.
    if (repriced) model.pricingEffectiveFrom = new Date();
    await this.flush(ctx, model);
    return model;
  }

  /**
   * Soft delete: the model leaves the catalog and search at once, while its owner (and admins)
   * can still read it, its invoices still name it, and running jobs finish. Idempotent.
   */
  async delete(ctx: ServiceContext, id: string): Promise<Model> {
    const model = await this.manageable(ctx, id);
    if (!model.deletedAt) {
      model.deletedAt = new Date();
      await ctx.em.flush();
      this.generation.bump();
    }
    return model;
  }

  /** Loads a model the caller may manage: NOT_FOUND if it doesn't exist, FORBIDDEN if not theirs. */
  async manageable(ctx: ServiceContext, id: string): Promise<Model> {
    requireUser(ctx.caller, { scope: ApiKeyScope.MODELS_WRITE });
    if (!UUID.test(id)) throw notFound('Model');
    const model = await ctx.em.findOne(Model, { id });
    if (!model) throw notFound('Model');
    // Someone else's deleted model does not exist for this caller.
    if (model.deletedAt && ctx.caller.kind === 'user' && ctx.caller.role !== Role.ADMIN) {
      if (ctx.caller.userId !== model.owner.id) throw notFound('Model');
    }
    requireOwnerOrAdmin(ctx.caller, model.owner.id);
    return model;
  }

  private async flush(ctx: ServiceContext, model: Model): Promise<void> {
    try {
      await ctx.em.flush();
      this.generation.bump();
    } catch (err) {
      if (violatedUnique(err) === 'models_slug_unique') {
        // The failed entity must leave the unit of work, or the next flush retries it.
        ctx.em.clear();
        throw conflict(`The slug "${model.slug}" is taken; choose another`, { field: 'slug' });
      }
      throw err;
    }
  }
}
