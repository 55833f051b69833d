import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './json.scalar.js';

export enum OutputEncoding {
  JSON = 'JSON',
  B64 = 'B64',
}
registerEnumType(OutputEncoding, {
  name: 'OutputEncoding',
  description:
    'JSON: `data` as a flat array. B64: `b64` holds the raw little-endian bytes (string tensors stay in `data`).',
});

@ObjectType('TensorOutput', { description: 'One output tensor: `data` or `b64`, as the request asked.' })
export class TensorOutput {
  @Field()
  name!: string;

  @Field()
  dtype!: string;

  @Field(() => [Int])
  shape!: number[];

  @Field(() => JSONScalar, {
    nullable: true,
    description:
      'Flat row-major elements; int64 as decimal strings, non-finite floats as "NaN"/"Infinity"/"-Infinity".',
  })
  data?: unknown[] | null;

  @Field(() => String, { nullable: true })
  b64?: string | null;
}
