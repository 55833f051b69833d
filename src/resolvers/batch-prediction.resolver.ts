import type { GraphQLSchema } from 'graphql';
import type { FileUpload } from 'graphql-upload-ts';
import {
  Arg,
  Authorized,
  Ctx,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { ApiKeyScope } from '../entities/enums.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { BatchPredictionService } from '../predictions/batch-prediction.service.js';
import type { BatchView } from '../predictions/batch-progress.js';
import { BatchPredictionType, CreateBatchPredictionInput } from './types/batch-prediction.type.js';
import { UploadScalar } from './types/upload.scalar.js';
import { schemaWiring } from './schema-wiring.js';

/** The download route of a batch's results (src/http/batch-results.routes.ts). */
export const batchResultsPath = (id: string) => `/batches/${id}/results.jsonl`;

export function batchType(v: BatchView): BatchPredictionType {
  return {
    ...v,
    cost: { amount: v.cost, currency: v.currency },
    resultsUrl: v.resultsReady ? batchResultsPath(v.id) : null,
  };
}

const wiring = schemaWiring<BatchPredictionService>('batch subscriptions');

export const registerBatchSubscriptions = (schema: GraphQLSchema, batches: BatchPredictionService) =>
  wiring.register(schema, batches);

/** Batch predictions from a JSONL file (src/predictions/batch-prediction.service.ts). */
@Resolver(() => BatchPredictionType)
export class BatchPredictionResolver {
  constructor(private readonly batches: BatchPredictionService) {}

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => BatchPredictionType, {
    description:
      'Runs every line of a JSONL file (`{"inputs":[…]}` per line, as createPrediction takes them) as a queued prediction, each metered once at the pricing accepted now. The file is checked whole first: a bad line refuses it, naming the line. GraphQL multipart request; send `apollo-require-preflight: true`.',
  })
  async createBatchPrediction(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => CreateBatchPredictionInput) input: CreateBatchPredictionInput,
    @Arg('file', () => UploadScalar) file: Promise<FileUpload>,
  ) {
    return batchType(await this.batches.create(ctx, { ...input, file }));
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Mutation(() => BatchPredictionType, {
    description:
      'Stops a batch: rows not yet started are CANCELED and never billed, running ones finish. A final batch comes back unchanged.',
  })
  async cancelBatchPrediction(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return batchType(await this.batches.cancel(ctx, id));
  }

  @Authorized(ApiKeyScope.PREDICT)
  @Query(() => BatchPredictionType, { description: 'One of your batch predictions, with its progress.' })
  async batchPrediction(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return batchType(await this.batches.view(ctx.em, await this.batches.get(ctx, id)));
  }

  // Checked by the service as it subscribes (the caller, the `predict` scope, the batch's owner).
  @Subscription(() => BatchPredictionType, {
    description:
      'One batch: its progress now, then as rows end (a few times a second at most); the stream ends once the batch is final and its results are written.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => {
      return wiring.get(info.schema).updates(context, String(args.id));
    },
  })
  batchPredictionUpdated(@Root() view: BatchView, @Arg('id', () => ID) _id: string): BatchPredictionType {
    return batchType(view);
  }
}
