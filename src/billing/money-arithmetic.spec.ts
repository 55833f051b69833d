import { addMoney, compareMoney, percentOf, subtractMoney } from './money.js';

describe('money arithmetic', () => {
  it('adds and subtracts exactly', () => {
    expect(addMoney('0.1', '0.2')).toBe('0.30');
    expect(addMoney()).toBe('0.00');
    expect(subtractMoney('1', '0.0000000001')).toBe('0.9999999999');
  });

  it('takes a percentage rounding half away from zero at the tenth decimal', () => {
    expect(percentOf('0.0015', '12.5')).toBe('0.0001875');
    expect(percentOf('100', '20')).toBe('20.00');
    // 0.0000000001 * 50% = 0.00000000005 -> rounds up to 0.0000000001
    expect(percentOf('0.0000000001', '50')).toBe('0.0000000001');
    expect(percentOf('0.0000000001', '49')).toBe('0.00');
    expect(percentOf('-0.0000000001', '50')).toBe('-0.0000000001');
  });

  it('compares', () => {
    expect(compareMoney('0.10', '0.1')).toBe(0);
    expect(compareMoney('0.09', '0.1')).toBe(-1);
    expect(compareMoney('2', '0.1')).toBe(1);
  });
});
