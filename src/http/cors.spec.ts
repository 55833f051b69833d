import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig } from '../config.js';
import { corsMiddleware, isOriginAllowed } from './cors.js';
import { corsPolicyFrom } from './cors.config.js';

const PROD_KEYS = { NODE_ENV: 'production', JWT_SECRET: `k1:${'s'.repeat(43)}` };

describe('CORS_ORIGINS', () => {
  it('allows localhost origins on any port by default in development, none in production', () => {
    const dev = loadConfig({}).cors;
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'https://localhost', 'http://[::1]:8080']) {
      expect(isOriginAllowed(dev, origin)).toBe(true);
    }
    for (const origin of ['http://localhost.evil.example', 'https://app.example.com', 'null', 'file://']) {
      expect(isOriginAllowed(dev, origin)).toBe(false);
    }
    const prod = loadConfig(PROD_KEYS).cors;
    expect(isOriginAllowed(prod, 'http://localhost:5173')).toBe(false);
    expect(isOriginAllowed(prod, 'https://app.example.com')).toBe(false);
  });

  it('takes exact origins, which replace the localhost default', () => {
    const policy = loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).cors;
    expect(isOriginAllowed(policy, 'https://app.example.com')).toBe(true);
    expect(isOriginAllowed(policy, 'http://localhost:5173')).toBe(true);
    expect(isOriginAllowed(policy, 'http://localhost:5174')).toBe(false);
    expect(isOriginAllowed(policy, 'https://app.example.com.evil.example')).toBe(false);
    expect(isOriginAllowed(policy, 'http://app.example.com')).toBe(false);
  });

  it('allows any origin only when set to *', () => {
    const policy = loadConfig({ ...PROD_KEYS, CORS_ORIGINS: '*' }).cors;
    expect(policy.anyOrigin).toBe(true);
    expect(isOriginAllowed(policy, 'https://anything.example')).toBe(true);
  });

  it('refuses values that could never match, naming the variable', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/' })).toThrow(
      /CORS_ORIGINS: "https:\/\/app.example.com\/" is not an exact origin: write it as https:\/\/app.example.com/,
    );
    expect(() => loadConfig({ CORS_ORIGINS: 'app.example.com' })).toThrow(
      /CORS_ORIGINS: "app.example.com" is not an origin/,
    );
    expect(() => loadConfig({ CORS_ORIGINS: 'https://App.Example.com' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'ftp://files.example.com' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: '*, https://app.example.com' })).toThrow(
      /CORS_ORIGINS: "\*" allows every origin/,
    );
  });

  it('parses the same way the config does', () => {
    expect(corsPolicyFrom(undefined, 'test')).toEqual({ anyOrigin: false, origins: [], localhost: true });
    expect(corsPolicyFrom('https://a.example,https://b.example:8443', 'production')).toEqual({
      anyOrigin: false,
      origins: ['https://a.example', 'https://b.example:8443'],
      localhost: false,
    });
  });
});

describe('corsMiddleware', () => {
  async function answer(
    policy: ReturnType<typeof corsPolicyFrom>,
    init: RequestInit & { headers: Record<string, string> },
  ) {
    const app = express();
    app.use(corsMiddleware(policy, ['GET', 'POST']));
    app.post('/', (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      return await fetch(`http://127.0.0.1:${port}/`, init);
    } finally {
      server.close();
    }
  }

  it('with *, grants every origin with a literal * and never credentials', async () => {
    const policy = corsPolicyFrom('*', 'production');
    const res = await answer(policy, { method: 'POST', headers: { origin: 'https://anything.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    // The same answer for every origin: nothing for a cache to key on.
    expect(res.headers.get('vary')).toBeNull();
    const pre = await answer(policy, {
      method: 'OPTIONS',
      headers: { origin: 'https://anything.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('in production with nothing listed, grants no origin', async () => {
    const policy = corsPolicyFrom(undefined, 'production');
    const pre = await answer(policy, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });
});
