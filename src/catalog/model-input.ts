import { parseMoneyInput } from '../billing/money.js';
import { badInput } from '../shared/errors.js';

/** What a publisher sets on a model (create: all required but the defaults; update: any subset). */
export type ModelInput = {
  slug?: string | null;
  name?: string | null;
  description?: string | null;
  tags?: string[] | null;
  task?: string | null;
  framework?: string | null;
  license?: string | null;
  /** Exact decimal string, e.g. "0.0015". */
  pricePerRequest?: string | null;
  freeRequestsPerMonth?: number | null;
  /** 1…87,600: predictions' tensors are kept at most this long; 0: no bound of the model's own. */
  dataRetentionHours?: number | null;
};

export type CleanModelInput = {
  slug?: string;
  name?: string;
  description?: string;
  tags?: string[];
  task?: string;
  framework?: string;
  license?: string;
  pricePerRequest?: string;
  freeRequestsPerMonth?: number;
  /** null: the model sets no bound (the deployment's retention applies). */
  dataRetentionHours?: number | null;
};

/** Free requests per consumer per month a model may give: far below what a counter can hold. */
export const MAX_FREE_REQUESTS_PER_MONTH = 1_000_000_000;

/** The bounds a model input is checked against (PRICE_PER_REQUEST_MAX). */
export type ModelInputLimits = { maxPricePerRequest: string };

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/;
const WORD = /^[a-z0-9][a-z0-9.+_-]*$/;
const MAX_TAGS = 20;

function text(field: string, value: string, max: number, min = 1): string {
  const v = value.trim();
  if (v.length < min) throw badInput(`${field} must not be empty`, { field });
  if (v.length > max) throw badInput(`${field} must be at most ${max} characters`, { field });
  return v;
}

function word(field: string, value: string, max: number): string {
  const v = text(field, value, max).toLowerCase();
  if (!WORD.test(v)) {
    throw badInput(`${field} may hold lower-case letters, digits and . + _ - (got "${value}")`, { field });
  }
  return v;
}

/**
 * Validates and normalises a model input (no mass assignment: only these fields pass). Fields
 * left out (or null) stay out; `null` never clears a required column.
 */
export function cleanModelInput(input: ModelInput, limits: ModelInputLimits): CleanModelInput {
  const out: CleanModelInput = {};
  if (input.slug != null) {
    const slug = input.slug.trim();
    if (!SLUG.test(slug)) {
      throw badInput('slug must be 1-100 lower-case letters, digits and dashes, not starting or ending with a dash', {
        field: 'slug',
      });
    }
    out.slug = slug;
  }
  if (input.name != null) out.name = text('name', input.name, 200);
  if (input.description != null) out.description = text('description', input.description, 10_000, 0);
  if (input.tags != null) {
    if (input.tags.length > MAX_TAGS) throw badInput(`at most ${MAX_TAGS} tags`, { field: 'tags' });
    out.tags = [...new Set(input.tags.map((t) => word('tags', t, 32)))];
  }
  if (input.task != null) out.task = word('task', input.task, 64);
  if (input.framework != null) out.framework = word('framework', input.framework, 32);
  if (input.license != null) out.license = text('license', input.license, 64);
  if (input.pricePerRequest != null) {
    out.pricePerRequest = parseMoneyInput(input.pricePerRequest, {
      field: 'pricePerRequest',
      max: limits.maxPricePerRequest,
    });
  }
  if (input.freeRequestsPerMonth != null) {
    const n = input.freeRequestsPerMonth;
    if (!Number.isInteger(n) || n < 0 || n > MAX_FREE_REQUESTS_PER_MONTH) {
      throw badInput('freeRequestsPerMonth must be an integer from 0 to 1,000,000,000', {
        field: 'freeRequestsPerMonth',
        max: MAX_FREE_REQUESTS_PER_MONTH,
      });
    }
    out.freeRequestsPerMonth = n;
  }
  if (input.dataRetentionHours != null) {
    const h = input.dataRetentionHours;
    if (!Number.isInteger(h) || h < 0 || h > 87_600) {
      throw badInput('dataRetentionHours must be a whole number from 1 to 87,600 (0 removes the bound)', {
        field: 'dataRetentionHours',
      });
    }
    out.dataRetentionHours = h === 0 ? null : h;
  }
  return out;
}
