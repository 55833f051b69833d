import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, money, updatedAt, uuidPrimaryKey } from './columns.js';
import { Role } from './enums.js';

const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: uuidPrimaryKey(),
    /** Normalised (trimmed, lower-cased) before it is stored; unique. */
    email: p.string().length(320).unique(),
    /** When the owner proved the address is theirs (a link mailed to it); null: not yet. */
    emailVerifiedAt: p.datetime().nullable(),
    passwordHash: p.string().length(255).lazy(),
    displayName: p.string().length(100),
    role: p.enum(() => Role),
    /** Standard Webhooks `whsec_` secret for this user's prediction webhooks (rotatable). */
    webhookSecret: p.string().length(100).nullable().lazy(),
    stripeCustomerId: p.string().length(255).nullable().unique(),
    /** Optional monthly spending cap for a consumer, exact decimal. */
    monthlySpendCap: money().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Soft delete: an account that is closed keeps its invoices and usage. */
    deletedAt: p.datetime().nullable(),
  },
});

export class User extends UserSchema.class {}
UserSchema.setClass(User);
