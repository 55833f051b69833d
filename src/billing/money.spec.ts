import { formatMoney, fromUnits, isDecimal, toUnits } from './money.js';

describe('money', () => {
  it('formats stored decimals canonically', () => {
    expect(formatMoney('0.0015000000')).toBe('0.0015');
    expect(formatMoney('5')).toBe('5.00');
    expect(formatMoney('12.5000000000')).toBe('12.50');
    expect(formatMoney('-0.1')).toBe('-0.10');
  });

  it('adds exactly where floats would not', () => {
    const sum = Array.from({ length: 1000 }, () => toUnits('0.0001')).reduce((acc, u) => acc + u, 0n);
    expect(fromUnits(sum)).toBe('0.10');
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(fromUnits(toUnits('0.1') + toUnits('0.2'))).toBe('0.30');
  });

  it('validates what numeric(20,10) can hold', () => {
    expect(isDecimal('0.0015')).toBe(true);
    expect(isDecimal('1e-3')).toBe(false);
    expect(isDecimal('12345678901')).toBe(false);
    expect(isDecimal('1.12345678901')).toBe(false);
    expect(() => toUnits('abc')).toThrow(RangeError);
  });
});
