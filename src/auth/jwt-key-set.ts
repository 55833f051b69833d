import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { AuthConfig } from './auth.config.js';

/** Algorithms accepted at all; each key is further pinned to its own `alg`. Never `none`. */
const ASYMMETRIC_ALGS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
export const ALLOWED_ALGS = [...ASYMMETRIC_ALGS, ...HMAC_ALGS];

/** Fields of a private JWK that a verification (public) key must not carry. */
const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

type Key = Awaited<ReturnType<typeof importJWK>>;
export type VerificationKey = { kid: string; alg: string; key: Key };

/**
 * The signing keys for access JWTs. One key signs (the first, or JWT_ACTIVE_KID); every key in
 * the set verifies, so a key can be rotated without logging anyone out: add the new key, make it
 * active, and drop the old one once the longest access-token lifetime has passed.
 */
export class JwtKeySet {
  /** Use `JwtKeySet.load`. */
  constructor(
    readonly signing: VerificationKey & { signKey: Key },
    private readonly verifiers: Map<string, VerificationKey>,
    /** Where the keys came from, for the start-up log (never the keys themselves). */
    readonly source: string,
  ) {}

  get kids(): string[] {
    return [...this.verifiers.keys()];
  }

  /** The verification key named by a token's `kid`, only if its `alg` matches the key's own. */
  verificationKey(kid: string | undefined, alg: string | undefined): VerificationKey | undefined {
    if (!kid || !alg) return undefined;
    const key = this.verifiers.get(kid);
    return key && key.alg === alg ? key : undefined;
  }

  /**
   * From JWT_PRIVATE_KEYS (a JWK set) or JWT_SECRET (`kid:secret` pairs). With neither, outside
   * production only (config refuses to start production without one): a generated Ed25519 key,
   * kept at `<dataDir>/jwt-signing-key.json` so restarts don't log everyone out, or in memory when
   * the data dir is `memory://…`.
   */
  static async load(jwt: AuthConfig['jwt'], options: { dataDir: string; env: string }): Promise<JwtKeySet> {
    if (jwt.privateKeys)
      return fromJwks(parseJwks(jwt.privateKeys, 'JWT_PRIVATE_KEYS'), jwt.activeKid, 'JWT_PRIVATE_KEYS');
    if (jwt.secrets) return fromSecrets(jwt.secrets, jwt.activeKid);
    if (options.env === 'production') throw new Error('JWT_PRIVATE_KEYS or JWT_SECRET must be set in production');
    if (options.dataDir.startsWith('memory://')) {
      return fromJwks({ keys: [await generateJwk()] }, undefined, 'generated (in memory)');
    }
    const file = join(options.dataDir, 'jwt-signing-key.json');
    let jwks: { keys: JWK[] };
    try {
      jwks = parseJwks(await readFile(file, 'utf8'), file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      jwks = { keys: [await generateJwk()] };
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' }).catch(
        async (e: unknown) => {
          // Another process started at the same moment and wrote one first: use theirs.
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          jwks = parseJwks(await readFile(file, 'utf8'), file);
        },
      );
      await chmod(file, 0o600).catch(() => {});
    }
    return fromJwks(jwks, undefined, file);
  }
}

async function generateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `dev-${randomUUID().slice(0, 8)}`, alg: 'EdDSA', use: 'sig' };
}

function parseJwks(text: string, name: string): { keys: JWK[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${name}: not valid JSON (expected a JWK set, {"keys":[…]})`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${name}: expected a JWK set with at least one key`);
  return { keys: keys as JWK[] };
}

function inferAlg(jwk: JWK): string | undefined {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''];
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

async function fromJwks(jwks: { keys: JWK[] }, activeKid: string | undefined, source: string): Promise<JwtKeySet> {
  const verifiers = new Map<string, VerificationKey>();
  let signing: (VerificationKey & { signKey: Key }) | undefined;
  for (const [i, jwk] of jwks.keys.entries()) {
    const alg = inferAlg(jwk);
    if (!jwk.kid) throw new Error(`${source}: key ${i} has no "kid"`);
    if (!alg || !ASYMMETRIC_ALGS.includes(alg)) throw new Error(`${source}: key ${jwk.kid} has an unsupported alg`);
    if (verifiers.has(jwk.kid)) throw new Error(`${source}: duplicate kid ${jwk.kid}`);
    const publicJwk: JWK = { ...jwk };
    for (const f of PRIVATE_JWK_FIELDS) delete publicJwk[f];
    const verifyKey = await importJWK(publicJwk, alg);
    verifiers.set(jwk.kid, { kid: jwk.kid, alg, key: verifyKey });
    // A public-only entry verifies tokens from a retired key but can never sign.
    if (jwk.d && !signing && (activeKid === undefined || activeKid === jwk.kid)) {
      signing = { kid: jwk.kid, alg, key: verifyKey, signKey: await importJWK(jwk, alg) };
    }
  }
  if (!signing) throw new Error(`${source}: no private key${activeKid ? ` with kid ${activeKid}` : ''} to sign with`);
  return new JwtKeySet(signing, verifiers, source);
}

async function fromSecrets(list: string, activeKid: string | undefined): Promise<JwtKeySet> {
  const verifiers = new Map<string, VerificationKey>();
  let signing: (VerificationKey & { signKey: Key }) | undefined;
  for (const pair of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = pair.indexOf(':');
    const kid = pair.slice(0, at);
    const secret = pair.slice(at + 1);
    if (at < 1 || !secret) throw new Error('JWT_SECRET: expected kid:secret pairs separated by commas');
    if (Buffer.byteLength(secret) < 32) throw new Error(`JWT_SECRET: the secret for ${kid} is shorter than 32 bytes`);
    if (verifiers.has(kid)) throw new Error(`JWT_SECRET: duplicate kid ${kid}`);
    const key = new TextEncoder().encode(secret);
    verifiers.set(kid, { kid, alg: 'HS256', key });
    if (!signing && (activeKid === undefined || activeKid === kid)) signing = { kid, alg: 'HS256', key, signKey: key };
  }
  if (!signing) throw new Error(`JWT_SECRET: no secret${activeKid ? ` with kid ${activeKid}` : ''} to sign with`);
  return new JwtKeySet(signing, verifiers, 'JWT_SECRET');
}
