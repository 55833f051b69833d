import type { z } from 'zod';

const SECRETS = new WeakSet<z.ZodType>();

/**
 * Marks an environment variable's schema as a secret where the variable is defined, so the list
 * of secrets (src/config.ts SECRET_KEYS: what redaction and the chart's Secret must cover) cannot
 * drift from the definitions. Wrap the outermost schema (after `.optional()`).
 */
export function secret<T extends z.ZodType>(schema: T): T {
  SECRETS.add(schema);
  return schema;
}

export const isSecret = (schema: z.ZodType): boolean => SECRETS.has(schema);
