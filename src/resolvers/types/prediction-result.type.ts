import { Field, Float, ObjectType } from 'type-graphql';
import { PredictionType } from './prediction.type.js';
import { TensorOutput } from './tensor-output.type.js';

@ObjectType('PredictionResult', { description: "A synchronous prediction's outputs and its record." })
export class PredictionResult {
  @Field(() => [TensorOutput])
  outputs!: TensorOutput[];

  @Field(() => Float, { description: "onnxruntime's run time (for the whole batch when requests were batched)." })
  inferenceTimeMs!: number;

  @Field(() => PredictionType)
  prediction!: PredictionType;
}
