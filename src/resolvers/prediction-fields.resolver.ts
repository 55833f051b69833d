import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { Money } from './types/money.type.js';
import { ModelVersionType } from './types/model-version.type.js';
import { ModelType } from './types/model.type.js';
import { PredictionErrorType, PredictionType } from './types/prediction.type.js';
import type { PredictionFields } from '../predictions/prediction-fields.js';

@Resolver(() => PredictionType)
export class PredictionFieldsResolver {
  @FieldResolver(() => ModelType)
  model(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.model.load(p.model.id);
  }

  @FieldResolver(() => ModelVersionType)
  version(@Root() p: PredictionFields, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.version.load(p.version.id);
  }

  @FieldResolver(() => PredictionErrorType, { nullable: true })
  error(@Root() p: PredictionFields): PredictionErrorType | null {
    return p.errorCode ? { code: p.errorCode, message: p.errorMessage ?? '' } : null;
  }

  @FieldResolver(() => Money, {
    nullable: true,
    description: 'What it cost (0 within the free allowance); null unless SUCCEEDED.',
  })
  cost(@Root() p: PredictionFields): Money | null {
    return p.cost === null || p.cost === undefined ? null : { amount: p.cost, currency: p.currency };
  }
}
