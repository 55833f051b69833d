import { Field, ID, ObjectType } from 'type-graphql';
import { Role } from './enums.js';

@ObjectType('User', { description: "A marketplace account's public face." })
export class UserType {
  @Field(() => ID)
  id!: string;

  @Field()
  displayName!: string;

  @Field(() => Role)
  role!: Role;

  @Field()
  createdAt!: Date;
}
