import { Field, InputType } from 'type-graphql';
import { TensorInput } from './tensor-input.input.js';

@InputType('InputMetadataInput', { description: 'What one input is and how to prepare it.' })
export class InputMetadataInput {
  @Field({ description: "The input's name, as in the version's `inputs`." })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the input holds (at most 2,000 characters).' })
  description?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'How to prepare it: layout, normalization, value range (at most 2,000 characters).',
  })
  preprocessing?: string | null;

  @Field(() => TensorInput, {
    nullable: true,
    description: 'A valid input for this version (checked like a prediction’s; at most 64 KiB). Its `name` is ignored.',
  })
  example?: TensorInput | null;
}

@InputType('OutputMetadataInput', { description: 'What one output is.' })
export class OutputMetadataInput {
  @Field({ description: "The output's name, as in the version's `outputs`." })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What the output holds (at most 2,000 characters).' })
  description?: string | null;

  @Field(() => [String], {
    nullable: true,
    description:
      'Class names, in order, for an output whose last dimension indexes classes (as many as that dimension when it is fixed).',
  })
  labels?: string[] | null;
}

@InputType('VersionMetadataInput', {
  description: "A version's description of its inputs and outputs; replaces what was set before.",
})
export class VersionMetadataInput {
  @Field(() => [InputMetadataInput], { nullable: true })
  inputs?: InputMetadataInput[] | null;

  @Field(() => [OutputMetadataInput], { nullable: true })
  outputs?: OutputMetadataInput[] | null;
}
