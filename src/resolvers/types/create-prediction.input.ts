import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { MAX_WAIT_SECONDS } from '../../predictions/prediction-job.types.js';
import { TensorInput } from './tensor-input.input.js';
import { OutputEncoding } from './tensor-output.type.js';

@InputType('CreatePredictionInput', { description: 'A prediction to run as a queued job.' })
export class CreatePredictionInput {
  @Field(() => ID)
  modelId!: string;

  @Field(() => String, { nullable: true, description: 'A version such as "1.2.0"; absent: the default version.' })
  version?: string | null;

  @Field(() => [TensorInput])
  inputs!: TensorInput[];

  @Field(() => OutputEncoding, { nullable: true, defaultValue: OutputEncoding.JSON })
  outputEncoding?: OutputEncoding | null;

  @Field(() => [String], {
    nullable: true,
    description:
      'Only these outputs, by name, are returned (absent: all of them); the others never leave the inference worker.',
  })
  outputs?: string[] | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Gets a POST (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) when the job ends, and on the events in `webhookEvents`.',
  })
  webhookUrl?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: 'Extra webhook events: "started". "completed" is always sent.',
  })
  webhookEvents?: string[] | null;

  @Field(() => String, {
    nullable: true,
    description: 'Retrying with the same key (yours, up to 200 characters) returns the same job instead of a new one.',
  })
  idempotencyKey?: string | null;

  @Field(() => Float, {
    nullable: true,
    description: `Seconds (up to ${MAX_WAIT_SECONDS}) to wait before answering: the finished job if it ends by then, otherwise the job as it is (QUEUED or RUNNING).`,
  })
  wait?: number | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Not started by then: CANCELED (DEADLINE_EXCEEDED). Still running then: stopped and CANCELED.',
  })
  deadline?: Date | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Delete its inputs and outputs this many seconds after it ends (within a minute), if sooner than the deployment and the model would; `dataExpiresAt` says when.',
  })
  dataRetentionSeconds?: number | null;
}
