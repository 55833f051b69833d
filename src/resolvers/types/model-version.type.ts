import { Field, Float, ID, ObjectType } from 'type-graphql';
import { ModelVersionStatus } from './enums.js';
import { TensorSpec } from './tensor-spec.type.js';
import { connectionOf } from './connection.js';

@ObjectType('ModelVersion')
export class ModelVersionType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Semantic version, e.g. 1.2.0.' })
  version!: string;

  @Field(() => ModelVersionStatus)
  status!: ModelVersionStatus;

  @Field(() => String, { nullable: true, description: 'Why validation failed, when status is FAILED.' })
  statusReason!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why validation failed, as a stable code, when status is FAILED: NOT_ONNX, CORRUPT, UNSUPPORTED_IR_VERSION, UNSUPPORTED_OPSET, UNSUPPORTED_OPERATOR, INVALID_GRAPH, UNSUPPORTED_IO, MODEL_TOO_EXPENSIVE (loading it and running it once on its smallest inputs took more time or memory than allowed; statusReason says what was measured), RUNTIME_CRASH, UNKNOWN.',
  })
  statusCode!: string | null;

  @Field(() => Float, { description: 'File size in bytes.' })
  sizeBytes!: number;

  @Field()
  sha256!: string;

  @Field(() => [TensorSpec])
  inputs!: TensorSpec[];

  @Field(() => [TensorSpec])
  outputs!: TensorSpec[];

  @Field(() => String, { nullable: true })
  changelog!: string | null;

  @Field()
  createdAt!: Date;
}

export const ModelVersionConnection = connectionOf(ModelVersionType, 'ModelVersion');
