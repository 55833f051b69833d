import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';

/**
 * Column builders every entity shares, so that ids, times and money are typed one way:
 * UUID keys made by the application (known before the INSERT, which lets a service publish or
 * enqueue by id), `timestamptz` times (the connection runs in UTC), and money as
 * numeric(20,10) read back as an exact decimal string — never a float.
 */
export const uuidPrimaryKey = () =>
  p
    .uuid()
    .primary()
    .onCreate(() => randomUUID());

export const createdAt = () => p.datetime().onCreate(() => new Date());

export const updatedAt = () =>
  p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date());

/** Exact decimal stored as numeric(20,10): ten digits on each side of the point. */
export const money = () => p.decimal('string').precision(20).scale(10);

/**
 * A sum of `money` values (a month's spend, an invoice, a line): numeric(38,10), 28 digits before
 * the point. No count of requests (a bigint) times any price a `money` column holds can reach it,
 * so adding one more prediction to a sum can never overflow (a consumer's usage, however large,
 * must not fail everyone's metering or invoicing).
 */
export const moneySum = () => p.decimal('string').precision(38).scale(10);

/** ISO 4217 currency code. */
export const currency = () => p.string().length(3).default('USD');
