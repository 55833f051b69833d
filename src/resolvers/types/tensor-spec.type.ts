import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: "One input or output of a model's signature, read from the ONNX file." })
export class TensorSpec {
  @Field()
  name!: string;

  @Field({ description: 'onnxruntime element type, e.g. float32, int64, bool, string.' })
  dtype!: string;

  @Field(() => [String], { description: 'Dimensions: numbers as strings, symbolic ones by name, unknown as "?".' })
  shape!: string[];
}
