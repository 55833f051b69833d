import { loadConfig, redactConfig } from '../config.js';

describe('billing config', () => {
  const base = { NODE_ENV: 'test' as const };

  it('defaults to local invoices, a 20% fee and the overdue block on', () => {
    const c = loadConfig(base);
    expect(c.billing).toEqual({
      stripe: undefined,
      stripeWebhookSecret: undefined,
      daysUntilDue: 30,
      blockOverdue: true,
      platformFeePercent: '20',
      maxPricePerRequest: '1000',
      maxSpendingCap: '1000000',
      stripeWebhookToleranceSeconds: 300,
      autoClose: { enabled: true, delayMs: 3_600_000, checkMs: 900_000 },
    });
  });

  it('points Stripe at another host and keeps its secrets out of logs', () => {
    const c = loadConfig({
      ...base,
      STRIPE_SECRET_KEY: 'sk_test_abc',
      STRIPE_WEBHOOK_SECRET: 'whsec_xyz',
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: '12111',
      STRIPE_API_PROTOCOL: 'http',
    });
    expect(c.billing.stripe).toEqual({ secretKey: 'sk_test_abc', host: '127.0.0.1', port: 12111, protocol: 'http' });
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('sk_test_abc');
    expect(printed).not.toContain('whsec_xyz');
  });

  it('refuses a fee that is not an exact decimal from 0 to 100, naming the variable', () => {
    for (const bad of ['abc', '101', '-1', '1e1', '12.12345678901']) {
      expect(() => loadConfig({ ...base, PLATFORM_FEE_PERCENT: bad })).toThrow(/PLATFORM_FEE_PERCENT/);
    }
    expect(loadConfig({ ...base, PLATFORM_FEE_PERCENT: '12.5' }).billing.platformFeePercent).toBe('12.5');
  });

  it('bounds the money limits to what a money column holds, naming the variable', () => {
    for (const [name, bad] of [
      ['PRICE_PER_REQUEST_MAX', '0'],
      ['PRICE_PER_REQUEST_MAX', '99999999999'],
      ['SPENDING_CAP_MAX', '-5'],
      ['SPENDING_CAP_MAX', '1e9'],
    ] as const) {
      expect(() => loadConfig({ ...base, [name]: bad })).toThrow(new RegExp(name));
    }
    expect(loadConfig({ ...base, PRICE_PER_REQUEST_MAX: '0.5' }).billing.maxPricePerRequest).toBe('0.5');
  });
});
