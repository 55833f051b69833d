import { AppError, ErrorCode } from '../shared/errors.js';

/**
 * Exact decimal helpers. Money travels as strings (PostgreSQL numeric(20,10) in, canonical
 * decimal strings out) and is added up with BigInt at 10 decimal places — never a float.
 */
export const MONEY_SCALE = 10;
const SCALE_FACTOR = 10n ** BigInt(MONEY_SCALE);
const DECIMAL = /^-?\d{1,10}(\.\d{1,10})?$/;

/** True for a plain decimal that fits numeric(20,10): up to 10 digits on each side. */
export function isDecimal(value: string): boolean {
  return DECIMAL.test(value);
}

/** Parses a decimal string into units of 10^-10. */
export function toUnits(value: string): bigint {
  if (!/^-?\d+(\.\d+)?$/.test(value)) throw new RangeError(`not a decimal: ${value}`);
  const negative = value.startsWith('-');
  const [whole, frac = ''] = value.replace('-', '').split('.');
  if (frac.length > MONEY_SCALE && /[1-9]/.test(frac.slice(MONEY_SCALE))) {
    throw new RangeError(`more than ${MONEY_SCALE} decimal places: ${value}`);
  }
  const units = BigInt(whole) * SCALE_FACTOR + BigInt(frac.slice(0, MONEY_SCALE).padEnd(MONEY_SCALE, '0'));
  return negative ? -units : units;
}

/** Formats units of 10^-10 as a decimal string with at least two decimals ("5.00", "0.0015"). */
export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / SCALE_FACTOR;
  let frac = (abs % SCALE_FACTOR).toString().padStart(MONEY_SCALE, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Canonical form of a stored decimal, e.g. "0.0015000000" becomes "0.0015". */
export function formatMoney(value: string): string {
  return fromUnits(toUnits(value));
}

/** Exact sum of decimal strings. */
export function addMoney(...values: string[]): string {
  return fromUnits(values.reduce((sum, v) => sum + toUnits(v), 0n));
}

/** Exact difference `a - b`. */
export function subtractMoney(a: string, b: string): string {
  return fromUnits(toUnits(a) - toUnits(b));
}

/**
 * `percent`% of `amount`, rounded half away from zero to the tenth decimal (the column scale):
 * the only place billing divides. E.g. percentOf("0.0015", "12.5") = "0.0001875".
 */
export function percentOf(amount: string, percent: string): string {
  const product = toUnits(amount) * toUnits(percent);
  const divisor = 100n * 10n ** BigInt(MONEY_SCALE);
  const negative = product < 0n;
  const abs = negative ? -product : product;
  const rounded = (abs + divisor / 2n) / divisor;
  return fromUnits(negative ? -rounded : rounded);
}

/**
 * A money amount a client sends (a price, a cap): trimmed, a plain non-negative decimal with at
 * most 10 decimals, and at most `max`. Refused with BAD_USER_INPUT naming the field and the bound,
 * so that no amount a column cannot hold (or a sum of them cannot) gets in.
 */
export function parseMoneyInput(value: string, options: { field: string; max: string }): string {
  const v = value.trim();
  if (!isDecimal(v) || v.startsWith('-')) {
    throw new AppError(
      ErrorCode.BAD_USER_INPUT,
      `${options.field} must be a non-negative decimal string with at most 10 decimals, e.g. "0.0015"`,
      { field: options.field },
    );
  }
  if (toUnits(v) > toUnits(options.max)) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, `${options.field} must be at most ${formatMoney(options.max)}`, {
      field: options.field,
      max: formatMoney(options.max),
    });
  }
  return v;
}

/** Comparison of two decimal strings: -1, 0 or 1. */
export function compareMoney(a: string, b: string): number {
  const d = toUnits(a) - toUnits(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
