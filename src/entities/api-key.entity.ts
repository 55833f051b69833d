import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns.js';
import { User } from './user.entity.js';

const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: uuidPrimaryKey(),
    user: () => p.manyToOne(User).index(),
    name: p.string().length(100),
    /** The visible start of the key (`aimpk_` + a few characters), shown in listings. */
    prefix: p.string().length(16),
    /** SHA-256 (hex) of the whole secret: the key itself is never stored. */
    keyHash: p.string().length(64).unique(),
    scopes: p.array().default([]),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    /** The key this one replaced through rotation, if any. */
    rotatedFromId: p.uuid().nullable(),
    createdAt: createdAt(),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
