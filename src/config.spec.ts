import { ConfigError, loadConfig, redactConfig } from './config.js';

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

  it('masks passwords when printed', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:secret@db:5432/x' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('secret');
  });
});
