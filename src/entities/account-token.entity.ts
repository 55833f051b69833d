import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns.js';
import { AccountTokenPurpose } from './enums.js';
import { User } from './user.entity.js';

/**
 * A single-use token mailed to an account's address (email verification, password reset), kept
 * as its SHA-256 only: the database never holds what the link carries. Used once (`usedAt`, set
 * by a conditional update) and only before `expiresAt`.
 */
const AccountTokenSchema = defineEntity({
  name: 'AccountToken',
  tableName: 'account_tokens',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User).index().deleteRule('cascade'),
    purpose: p.enum(() => AccountTokenPurpose),
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    createdAt: createdAt(),
  },
});

export class AccountToken extends AccountTokenSchema.class {}
AccountTokenSchema.setClass(AccountToken);
