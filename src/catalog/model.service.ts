import { Model } from '../entities/model.entity.js';
import { Role } from '../entities/enums.js';
import { badInput, notFound } from '../shared/errors.js';
import { pageSize, type Page } from '../shared/pagination.js';
import type { ServiceContext } from '../shared/service-context.js';
import { listModels, type ModelFilterInput, type ModelOrderName } from './model-list.query.js';
import { UUID } from '../shared/ids.js';

/** The catalog's read side: finding one model and browsing the public list. */
export class ModelService {
  constructor(private readonly options: { maxPageSize: number }) {}

  /**
   * One model by id or slug (exactly one of them). A deleted model is NOT_FOUND except for its
   * owner and admins, who can still read (and are still billed for) it.
   */
  async get(ctx: ServiceContext, by: { id?: string | null; slug?: string | null }): Promise<Model> {
    if ((by.id == null) === (by.slug == null)) throw badInput('Give exactly one of `id` or `slug`');
    if (by.id != null && !UUID.test(by.id)) throw notFound('Model');
    const model = await ctx.em.findOne(Model, by.id != null ? { id: by.id } : { slug: by.slug! });
    if (!model) throw notFound('Model');
    if (model.deletedAt && !this.canSeeDeleted(ctx, model)) throw notFound('Model');
    return model;
  }

  async list(
    ctx: ServiceContext,
    args: {
      filter?: ModelFilterInput | null;
      orderBy?: ModelOrderName | null;
      first?: number | null;
      after?: string | null;
    },
  ): Promise<Page<Model>> {
    return listModels(ctx.em, {
      filter: args.filter ?? {},
      orderBy: args.orderBy ?? null,
      limit: pageSize(args.first, this.options.maxPageSize),
      after: args.after ?? null,
    });
  }

  private canSeeDeleted(ctx: ServiceContext, model: Model): boolean {
    const c = ctx.caller;
    return c.kind === 'user' && (c.role === Role.ADMIN || c.userId === model.owner.id);
  }
}
