import { Field, InputType, Int } from 'type-graphql';
import { JSONScalar } from './json.scalar.js';

@InputType('TensorInput', {
  description:
    'One input tensor. Give exactly one of `data` (a flat row-major JSON array) and `b64` (the raw little-endian bytes, base64).',
})
export class TensorInput {
  @Field({ description: "The model input's name, as in the version's `inputs`." })
  name!: string;

  @Field({ description: 'float32, float64, int32, int64, uint8, int8, bool or string; must match the signature.' })
  dtype!: string;

  @Field(() => [Int], { description: 'Every dimension, including symbolic ones bound to their value (e.g. [8, 16]).' })
  shape!: number[];

  @Field(() => JSONScalar, {
    nullable: true,
    description:
      'Flat row-major elements: numbers (floats may also be "NaN", "Infinity", "-Infinity"), int64 as numbers or decimal strings, bool as true/false, strings.',
  })
  data?: unknown;

  @Field(() => String, {
    nullable: true,
    description: 'Base64 of the raw little-endian bytes (not for string tensors).',
  })
  b64?: string | null;
}
