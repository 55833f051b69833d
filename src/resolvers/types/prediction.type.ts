import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PredictionMode, PredictionStatus } from '../../entities/enums.js';

registerEnumType(PredictionStatus, {
  name: 'PredictionStatus',
  description: 'QUEUED and RUNNING for jobs; every prediction ends SUCCEEDED, FAILED or CANCELED.',
});
registerEnumType(PredictionMode, { name: 'PredictionMode', description: 'SYNC (`predict`) or ASYNC (a queued job).' });

@ObjectType('PredictionError')
export class PredictionErrorType {
  @Field({ description: 'Stable code, e.g. MODEL_ERROR, TIMEOUT, WORKER_DIED, OVERLOADED.' })
  code!: string;

  @Field()
  message!: string;
}

@ObjectType('Prediction', { description: 'One run of a model for a consumer, and what it cost.' })
export class PredictionType {
  @Field(() => ID)
  id!: string;

  @Field(() => PredictionStatus)
  status!: PredictionStatus;

  @Field(() => PredictionMode)
  mode!: PredictionMode;

  @Field(() => String, { nullable: true, description: 'Where it ran, e.g. cpu or webgpu:0.' })
  device?: string | null;

  @Field(() => Int, { nullable: true, description: 'How many requests shared its onnxruntime run (dynamic batching).' })
  batchSize?: number | null;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt?: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt?: Date | null;

  @Field(() => Date, {
    nullable: true,
    description:
      'When its tensors were deleted (PREDICTION_DATA_RETENTION_HOURS after it ended, or deletePredictionData); `outputs` is null from then on. Its cost and usage stay.',
  })
  dataRemovedAt?: Date | null;

  @Field(() => Float, { nullable: true })
  queueTimeMs?: number | null;

  @Field(() => Float, { nullable: true })
  inferenceTimeMs?: number | null;
}
