import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AccessTokenService } from '../../src/auth/access-token.service.js';
import { defaultAuthSettings } from '../../src/auth/auth.config.js';
import { JwtKeySet } from '../../src/auth/jwt-key-set.js';
import { loadConfig } from '../../src/config.js';
import { Role } from '../../src/entities/enums.js';
import { tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let userId: string;

beforeAll(async () => {
  server = await startTestServer();
  userId = (await new Factory(server.app).user({ role: Role.CONSUMER })).id;
}, 120_000);
afterAll(async () => server?.close());

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwtConfig = () => defaultAuthSettings().auth.jwt;

async function me(token: string) {
  return server.gql<{ me: { id: string } }>('{ me { id role } }', {}, { authorization: `Bearer ${token}` });
}

async function serverSigned(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const { signing } = await server.app.services.auth.tokens.keys();
  const cfg = server.app.config.auth.jwt;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'CONSUMER', ...claims })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt', ...header })
    .setIssuer((claims.iss as string) ?? cfg.issuer)
    .setAudience((claims.aud as string) ?? cfg.audience)
    .setSubject(userId)
    .setIssuedAt((claims.iat as number) ?? now)
    .setExpirationTime((claims.exp as number) ?? now + 300)
    .sign(signing.signKey);
}

describe('access tokens presented over HTTP', () => {
  it('accepts a genuine token', async () => {
    const res = await me(
      await server.app.services.auth.tokens.issue({ id: userId, role: Role.CONSUMER }).then((t) => t.token),
    );
    expect(res.data?.me.id).toBe(userId);
  });

  const cases: [string, () => Promise<string>, string][] = [
    [
      'alg: none',
      async () => {
        const { signing } = await server.app.services.auth.tokens.keys();
        const cfg = server.app.config.auth.jwt;
        const exp = Math.floor(Date.now() / 1000) + 300;
        return `${b64({ alg: 'none', typ: 'at+jwt', kid: signing.kid })}.${b64({ sub: userId, role: 'ADMIN', iss: cfg.issuer, aud: cfg.audience, iat: exp - 300, exp })}.`;
      },
      'INVALID_TOKEN',
    ],
    [
      'signed with another key under the same kid',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA');
        const { signing } = await server.app.services.auth.tokens.keys();
        const cfg = server.app.config.auth.jwt;
        return new SignJWT({ role: 'ADMIN' })
          .setProtectedHeader({ alg: 'EdDSA', kid: signing.kid, typ: 'at+jwt' })
          .setIssuer(cfg.issuer)
          .setAudience(cfg.audience)
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      },
      'INVALID_TOKEN',
    ],
    [
      'HS256 keyed with the public key (algorithm confusion)',
      async () => {
        const { signing } = await server.app.services.auth.tokens.keys();
        const pub = JSON.stringify(await exportJWK(signing.key));
        const cfg = server.app.config.auth.jwt;
        return new SignJWT({ role: 'ADMIN' })
          .setProtectedHeader({ alg: 'HS256', kid: signing.kid, typ: 'at+jwt' })
          .setIssuer(cfg.issuer)
          .setAudience(cfg.audience)
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(pub));
      },
      'INVALID_TOKEN',
    ],
    [
      'expired',
      async () =>
        (
          await server.app.services.auth.tokens.issue(
            { id: userId, role: Role.CONSUMER },
            new Date(Date.now() - 3_600_000),
          )
        ).token,
      'TOKEN_EXPIRED',
    ],
    ['for another audience', () => serverSigned({ aud: 'some-other-api' }), 'INVALID_TOKEN'],
    ['from another issuer', () => serverSigned({ iss: 'https://evil.example' }), 'INVALID_TOKEN'],
    ['of another type (typ: JWT)', () => serverSigned({}, { typ: 'JWT' }), 'INVALID_TOKEN'],
    ['with an unknown kid', () => serverSigned({}, { kid: 'retired-long-ago' }), 'INVALID_TOKEN'],
    ['with a role that does not exist', () => serverSigned({ role: 'ROOT' }), 'INVALID_TOKEN'],
    [
      'with its payload edited (role: ADMIN)',
      async () => {
        const [h, p, s] = (await tokenFor(server.app, { id: userId, role: Role.CONSUMER } as never)).split('.');
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
        return `${h}.${b64({ ...payload, role: 'ADMIN' })}.${s}`;
      },
      'INVALID_TOKEN',
    ],
  ];

  it.each(cases)('refuses a token %s', async (_name, make, why) => {
    const res = await me(await make());
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: why });
    expect(res.data ?? null).toBeNull();
  });
});

describe('signing keys', () => {
  const secret = (c: string) => c.repeat(40);

  it('rotates without logging anyone out: old tokens verify while the old key stays in the set', async () => {
    const before = new AccessTokenService(jwtConfig(), () =>
      JwtKeySet.load({ ...jwtConfig(), secrets: `old:${secret('a')}` }, { dataDir: 'memory://x', env: 'test' }),
    );
    const oldToken = (await before.issue({ id: userId, role: Role.CONSUMER })).token;
    const during = new AccessTokenService(jwtConfig(), () =>
      JwtKeySet.load(
        { ...jwtConfig(), secrets: `new:${secret('b')},old:${secret('a')}`, activeKid: 'new' },
        { dataDir: 'memory://x', env: 'test' },
      ),
    );
    await expect(during.verify(oldToken)).resolves.toMatchObject({ userId });
    const newToken = (await during.issue({ id: userId, role: Role.CONSUMER })).token;
    expect((JSON.parse(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid).toBe(
      'new',
    );
    const after = new AccessTokenService(jwtConfig(), () =>
      JwtKeySet.load({ ...jwtConfig(), secrets: `new:${secret('b')}` }, { dataDir: 'memory://x', env: 'test' }),
    );
    await expect(after.verify(newToken)).resolves.toMatchObject({ userId });
    await expect(after.verify(oldToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('takes a JWK set of private keys, signing with the active one', async () => {
    const jwk = async (kid: string) => ({
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
      kid,
      alg: 'ES256',
    });
    const keys = JSON.stringify({ keys: [await jwk('k1'), await jwk('k2')] });
    const set = await JwtKeySet.load(
      { ...jwtConfig(), privateKeys: keys, activeKid: 'k2' },
      { dataDir: 'memory://x', env: 'production' },
    );
    expect(set.signing.kid).toBe('k2');
    expect(set.kids).toEqual(['k1', 'k2']);
  });

  it('refuses weak HMAC secrets', async () => {
    await expect(
      JwtKeySet.load({ ...jwtConfig(), secrets: 'k:short' }, { dataDir: 'memory://x', env: 'test' }),
    ).rejects.toThrow(/32 bytes/);
  });

  it('fails closed in production: no configured key, no start', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_PRIVATE_KEYS/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: `k1:${secret('z')}` })).not.toThrow();
  });

  it('outside production, generates a key once and keeps it under DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-keys-'));
    try {
      const a = await JwtKeySet.load(jwtConfig(), { dataDir: dir, env: 'development' });
      const b = await JwtKeySet.load(jwtConfig(), { dataDir: dir, env: 'development' });
      expect(b.signing.kid).toBe(a.signing.kid);
      const file = join(dir, 'jwt-signing-key.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
