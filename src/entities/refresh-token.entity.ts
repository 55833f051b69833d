import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns.js';
import { User } from './user.entity.js';

const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User).index(),
    /** Every token issued from one login shares a family: reuse of a rotated token revokes it all. */
    family: p.uuid().index(),
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    /** Set when this token was exchanged for a new one (rotation). */
    replacedById: p.uuid().nullable(),
    createdAt: createdAt(),
  },
});

export class RefreshToken extends RefreshTokenSchema.class {}
RefreshTokenSchema.setClass(RefreshToken);
