import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Inference time of succeeded predictions (interpolated percentiles).' })
export class LatencyPercentiles {
  @Field(() => Float, { nullable: true })
  p50!: number | null;

  @Field(() => Float, { nullable: true })
  p95!: number | null;

  @Field(() => Float, { nullable: true })
  p99!: number | null;
}

@ObjectType()
export class DailyAnalytics {
  @Field({ description: 'UTC day, `YYYY-MM-DD`.' })
  day!: string;

  @Field(() => Int)
  predictions!: number;

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  failed!: number;
}

@ObjectType()
export class RecentError {
  @Field(() => ID)
  predictionId!: string;

  @Field(() => String, { nullable: true })
  code!: string | null;

  @Field(() => String, { nullable: true })
  message!: string | null;

  @Field()
  at!: Date;
}

@ObjectType({ description: "A model's operational figures over `[periodStart, periodEnd)` (owner or admin)." })
export class ModelAnalytics {
  @Field(() => ID)
  modelId!: string;

  @Field()
  periodStart!: Date;

  @Field()
  periodEnd!: Date;

  @Field(() => Int, { description: 'Predictions created in the range, any status.' })
  predictions!: number;

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Float, { nullable: true, description: 'succeeded / (succeeded + failed); null when none finished.' })
  successRate!: number | null;

  @Field(() => LatencyPercentiles)
  latencyMs!: LatencyPercentiles;

  @Field(() => [DailyAnalytics])
  daily!: DailyAnalytics[];

  @Field(() => [RecentError], { description: 'The latest failed predictions (at most 10).' })
  recentErrors!: RecentError[];
}
