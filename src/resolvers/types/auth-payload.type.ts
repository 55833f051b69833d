import { Field, InputType, ObjectType } from 'type-graphql';
import { Role } from './enums.js';
import { UserType } from './user.type.js';

@ObjectType('AuthPayload', {
  description: 'A session: a short-lived access token and the refresh token that renews it.',
})
export class AuthPayloadType {
  @Field({ description: 'Send as `Authorization: Bearer <accessToken>`.' })
  accessToken!: string;

  @Field({ description: 'Opaque; exchange it with `refreshToken` (each one works once).' })
  refreshToken!: string;

  @Field({ description: 'When the access token expires.' })
  expiresAt!: Date;

  @Field(() => UserType)
  user!: UserType;
}

@InputType('RegisterInput')
export class RegisterInput {
  @Field()
  email!: string;

  @Field({ description: 'At least 10 characters, not a common password, not the email.' })
  password!: string;

  @Field()
  displayName!: string;

  @Field(() => Role, { nullable: true, description: 'CONSUMER (default) or PUBLISHER; ADMIN is never self-assigned.' })
  role?: Role | null;
}
