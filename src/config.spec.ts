import { ConfigError, loadConfig, redactConfig, SECRET_KEYS } from './config.js';

describe('loadConfig', () => {
  it('uses the embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.modelStorageDir).toBe('.data/models');
    expect(c.introspection).toBe(true);
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a URL/);
  });

  it('turns introspection off in production unless asked for', () => {
    const keys = { JWT_SECRET: `k1:${'s'.repeat(43)}` };
    expect(loadConfig({ NODE_ENV: 'production', ...keys }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', ...keys }).introspection).toBe(true);
  });

  it('opens /metrics only outside production without METRICS_TOKEN or METRICS_PORT, and never prints the token', () => {
    const keys = { JWT_SECRET: `k1:${'s'.repeat(43)}` };
    expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined, open: true });
    expect(loadConfig({ NODE_ENV: 'production', ...keys }).metrics.open).toBe(false);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    const c = loadConfig({ METRICS_TOKEN: 'a-metrics-token-long-enough' });
    expect(c.metrics).toMatchObject({ token: 'a-metrics-token-long-enough', open: false });
    expect(JSON.stringify(redactConfig(c))).not.toContain('a-metrics-token-long-enough');
  });

  it('masks passwords when printed', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:secret@db:5432/x' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('secret');
  });

  it('lists the variables marked secret where they are defined, and prints none of their values', () => {
    expect([...SECRET_KEYS].sort()).toEqual(
      [
        'DATABASE_URL',
        'JWT_PRIVATE_KEYS',
        'JWT_SECRET',
        'METRICS_TOKEN',
        'OTEL_EXPORTER_OTLP_HEADERS',
        'REDIS_URL',
        'S3_ACCESS_KEY_ID',
        'S3_SECRET_ACCESS_KEY',
        'SMTP_URL',
        'STRIPE_SECRET_KEY',
        'STRIPE_WEBHOOK_SECRET',
      ].sort(),
    );
    const values: Record<string, string> = {
      DATABASE_URL: 'postgres://u:pw-database-secret@db:5432/x',
      REDIS_URL: 'redis://:pw-redis-secret@cache:6379',
      JWT_PRIVATE_KEYS: '{"keys":["jwk-secret-material"]}',
      JWT_SECRET: `k1:${'hmac-secret-'.repeat(4)}`,
      STRIPE_SECRET_KEY: 'sk_test_stripe-secret-key',
      STRIPE_WEBHOOK_SECRET: 'whsec_stripe-webhook-secret',
      METRICS_TOKEN: 'metrics-token-secret-value',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer otlp-secret-token',
      S3_ACCESS_KEY_ID: 's3-key-id-secret',
      S3_SECRET_ACCESS_KEY: 's3-access-key-secret',
      SMTP_URL: 'smtp://mailer:smtp-password-secret@mail.example:587',
    };
    expect(Object.keys(values).sort()).toEqual([...SECRET_KEYS].sort());
    // With S3 storage on, so that its credentials are in the config to be masked.
    const printed = JSON.stringify(
      redactConfig(loadConfig({ ...values, MODEL_STORAGE: 's3', S3_BUCKET: 'mm-bucket' })),
    );
    for (const marker of [
      'pw-database-secret',
      'pw-redis-secret',
      'jwk-secret-material',
      'hmac-secret-',
      'stripe-secret-key',
      'stripe-webhook-secret',
      'metrics-token-secret-value',
      'otlp-secret-token',
      's3-key-id-secret',
      's3-access-key-secret',
      'smtp-password-secret',
    ]) {
      expect(printed).not.toContain(marker);
    }
  });

  it('traces only when an exporter or an OTLP endpoint is named, and never when the SDK is disabled', () => {
    const tracing = (env: Record<string, string>) => loadConfig(env).tracing;
    expect(tracing({}).enabled).toBe(false);
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({
      enabled: true,
      exporters: ['otlp'],
      endpoint: 'http://collector:4318',
    });
    expect(tracing({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ enabled: true, exporters: ['console'] });
    expect(tracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled).toBe(false);
    expect(tracing({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled).toBe(false);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it('refuses several API processes without PostgreSQL and Redis to share', () => {
    expect(() => loadConfig({ API_PROCESSES: '2' })).toThrow(/API_PROCESSES: more than one API process needs/);
    expect(() => loadConfig({ API_PROCESSES: '2', DATABASE_URL: 'postgres://db/x' })).toThrow(/API_PROCESSES/);
    const c = loadConfig({ API_PROCESSES: '2', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' });
    expect(c.apiProcesses).toBe(2);
    expect(() => loadConfig({ API_PROCESSES: '0' })).toThrow(/API_PROCESSES/);
  });
});
