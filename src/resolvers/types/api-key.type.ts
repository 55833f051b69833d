import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType('ApiKey', { description: 'An API key; its secret is shown only when it is created or rotated.' })
export class ApiKeyType {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'The first characters of the secret (`aimpk_…`), to tell keys apart.' })
  prefix!: string;

  @Field(() => [String], { description: '`models:read`, `models:write`, `predict`, `billing:read`.' })
  scopes!: string[];

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Updated at most about once a minute.' })
  lastUsedAt?: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt?: Date | null;

  @Field(() => ID, { nullable: true, description: 'The key this one replaced by rotation.' })
  rotatedFromId?: string | null;

  @Field()
  createdAt!: Date;
}

@ObjectType('CreatedApiKey')
export class CreatedApiKeyType {
  @Field(() => ApiKeyType)
  apiKey!: ApiKeyType;

  @Field({ description: 'The whole key (`aimpk_` + 32 characters): shown this once, store it now.' })
  secret!: string;
}

@InputType('CreateApiKeyInput')
export class CreateApiKeyInput {
  @Field()
  name!: string;

  @Field(() => [String], { description: 'Any of `models:read`, `models:write`, `predict`, `billing:read`.' })
  scopes!: string[];

  @Field(() => Int, { nullable: true, description: 'Days until the key expires; never when absent.' })
  expiresInDays?: number | null;
}
