import { Field, ObjectType } from 'type-graphql';
import { TensorOutput } from './tensor-output.type.js';

@ObjectType({
  description:
    "One input or output of a model's signature, read from the ONNX file, with what its publisher says about it (updateVersionMetadata).",
})
export class TensorSpec {
  @Field()
  name!: string;

  @Field({ description: 'onnxruntime element type, e.g. float32, int64, bool, string.' })
  dtype!: string;

  @Field(() => [String], { description: 'Dimensions: numbers as strings, symbolic ones by name, unknown as "?".' })
  shape!: string[];

  @Field(() => String, { nullable: true, description: 'What it holds, in its publisher’s words.' })
  description?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Inputs: how to prepare it (layout, normalization, value range).',
  })
  preprocessing?: string | null;

  @Field(() => TensorOutput, { nullable: true, description: 'Inputs: a valid example, ready to send.' })
  example?: TensorOutput | null;

  @Field(() => [String], {
    nullable: true,
    description: 'Outputs: class names, in order of the last dimension (so logits map to names).',
  })
  labels?: string[] | null;
}
