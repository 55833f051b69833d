import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BatchPredictionStatus } from '../../entities/enums.js';
import { Money } from './money.type.js';
import { OutputEncoding } from './tensor-output.type.js';

registerEnumType(BatchPredictionStatus, {
  name: 'BatchPredictionStatus',
  description:
    'QUEUED until its rows are being made, RUNNING while they run; COMPLETED once every row ended (some may have FAILED, or been SKIPPED by the spending cap), FAILED when no row could be made, CANCELED by cancelBatchPrediction.',
});

@InputType('CreateBatchPredictionInput', { description: 'What every row of a batch file runs on.' })
export class CreateBatchPredictionInput {
  @Field(() => ID)
  modelId!: string;

  @Field(() => String, { nullable: true, description: 'A version such as "1.2.0"; absent: the default version.' })
  version?: string | null;

  @Field(() => OutputEncoding, { nullable: true, defaultValue: OutputEncoding.JSON })
  outputEncoding?: OutputEncoding | null;

  @Field(() => [String], { nullable: true, description: 'Only these outputs, by name, are kept (absent: all).' })
  outputs?: string[] | null;
}

@ObjectType('BatchPrediction', {
  description:
    'A JSONL file of inputs run as one queued prediction per line: progress as counts, cost so far, and a results file once every row ended.',
})
export class BatchPredictionType {
  @Field(() => ID)
  id!: string;

  @Field(() => BatchPredictionStatus)
  status!: BatchPredictionStatus;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  versionId!: string;

  @Field(() => Int, { description: 'Rows (non-blank lines) in the file.' })
  totalRows!: number;

  @Field(() => Int, { description: 'Rows waiting to run (including rows not yet made into predictions).' })
  queued!: number;

  @Field(() => Int)
  running!: number;

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  canceled!: number;

  @Field(() => Int, { description: 'Rows never run because the spending cap stopped the batch (see errorCode).' })
  skipped!: number;

  @Field(() => Money, { description: 'What the rows that ran cost so far.' })
  cost!: Money;

  @Field(() => Int, { nullable: true, description: 'Seconds until every row ends at the pace so far.' })
  etaSeconds?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Where to GET the results (JSONL, one line per row in file order, with the API key or token) once every row ended; null before.',
  })
  resultsUrl?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why rows stopped being made: QUOTA_EXCEEDED, CANCELED, BATCH_FAILED.',
  })
  errorCode?: string | null;

  @Field(() => String, { nullable: true })
  errorMessage?: string | null;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt?: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt?: Date | null;
}
