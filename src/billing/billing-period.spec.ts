import { AppError } from '../shared/errors.js';
import { nextPeriodStart, parsePeriodStart, periodEndOf, periodStartOf } from './billing-period.js';

describe('billing periods (UTC calendar months)', () => {
  it('finds the month of an instant in UTC, not local time', () => {
    expect(periodStartOf(new Date('2026-03-31T23:59:59.999Z'))).toBe('2026-03-01');
    expect(periodStartOf(new Date('2026-04-01T00:00:00Z'))).toBe('2026-04-01');
    expect(periodStartOf(new Date('2026-03-31T23:30:00-02:00'))).toBe('2026-04-01');
  });

  it('steps months across years and ends them on their last day', () => {
    expect(nextPeriodStart('2026-12-01')).toBe('2027-01-01');
    expect(periodEndOf('2026-02-01')).toBe('2026-02-28');
    expect(periodEndOf('2028-02-01')).toBe('2028-02-29');
    expect(periodEndOf('2026-12-01')).toBe('2026-12-31');
  });

  it('accepts only 00:00 UTC on the first of a month', () => {
    expect(parsePeriodStart('2026-05-01T00:00:00Z')).toBe('2026-05-01');
    for (const bad of ['2026-05-02T00:00:00Z', '2026-05-01T00:00:01Z', 'not a date']) {
      expect(() => parsePeriodStart(bad)).toThrow(AppError);
    }
  });
});
