import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parse } from 'graphql';
import { Redis } from 'ioredis';
import { MemoryRateLimiter } from '../../src/auth/rate-limit/memory-rate-limiter.js';
import { classifyOperation } from '../../src/auth/rate-limit/rate-limit.policy.js';
import { RedisRateLimiter } from '../../src/auth/rate-limit/redis-rate-limiter.js';
import { takeTokens } from '../../src/auth/rate-limit/rate-limiter.js';
import { Role } from '../../src/entities/enums.js';
import { apiKeyFor, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { deleteRedisKeys } from '../support/app-processes.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) process.stdout.write('[rate-limit] no REDIS_URL: Redis-backed rate-limit tests skipped\n');
const withRedis = redisUrl ? describe : describe.skip;

describe('token bucket arithmetic', () => {
  const spec = { capacity: 10, windowSeconds: 10 }; // 1 token per second
  it('starts full, refuses when empty, refills continuously', () => {
    let state: { tokens: number; updatedMs: number } | undefined;
    for (let i = 0; i < 10; i++) {
      const r = takeTokens(state, spec, 1, 0);
      state = r.state;
      expect(r.decision).toMatchObject({ allowed: true, remaining: 9 - i });
    }
    const refused = takeTokens(state, spec, 1, 0);
    expect(refused.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1, resetSeconds: 10 });
    expect(takeTokens(refused.state, spec, 1, 1000).decision.allowed).toBe(true);
    expect(takeTokens(refused.state, spec, 3, 2500).decision).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(takeTokens(refused.state, spec, 1, 60_000).decision.remaining).toBe(9); // capped at capacity
  });
});

describe('operation classes', () => {
  const cls = (q: string, name?: string) => Object.fromEntries(classifyOperation(parse(q), name));
  it.each([
    ['{ models { totalCount } }', { query: 1 }],
    ['subscription { usageUpdated { requests } }', { query: 1 }],
    ['mutation { logout(refreshToken: "x") }', { mutation: 1 }],
    ['mutation { a: predict(x: 1) b: predict(x: 2) c: createPrediction(x: 1) }', { predict: 3 }],
    ['mutation { uploadModelVersion(x: 1) createModel(x: 1) }', { upload: 1, mutation: 1 }],
    ['mutation { login(email: "a", password: "b") { accessToken } }', { auth: 1 }],
    ['mutation { ...P } fragment P on Mutation { predict(x: 1) ... on Mutation { predict(x: 2) } }', { predict: 2 }],
  ])('%s', (q, expected) => {
    expect(cls(q)).toEqual(expected);
  });
  it('classifies the operation that runs', () => {
    expect(cls('query A { a } mutation B { predict(x: 1) }', 'B')).toEqual({ predict: 1 });
  });
});

describe('over HTTP (in-process buckets)', () => {
  let server: TestServer;
  let f: Factory;
  beforeAll(async () => {
    server = await startTestServer({
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_QUERY: '3/60',
      RATE_LIMIT_MUTATION: '2/60',
    });
    f = new Factory(server.app);
  }, 120_000);
  afterAll(async () => server?.close());

  const query = (headers: Record<string, string> = {}) =>
    fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

  it('counts down in RateLimit headers, then answers 429 RATE_LIMITED with retryAfter', async () => {
    const user = await f.user();
    const headers = await authHeaders(server.app, user);
    for (const remaining of ['2', '1', '0']) {
      const res = await query(headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      expect(res.headers.get('ratelimit-remaining')).toBe(remaining);
      expect(res.headers.get('ratelimit-policy')).toBe('3;w=60;name="query"');
    }
    const refused = await query(headers);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(20);
    const body = (await refused.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0].extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfter: 20,
      limitClass: 'query',
      requestId: refused.headers.get('x-request-id'),
    });
  });

  it('keeps separate buckets per user and per address for anonymous callers', async () => {
    const a = await f.user();
    const b = await f.user({ role: Role.PUBLISHER });
    const key = await apiKeyFor(server.app, b, ['models:read']);
    for (let i = 0; i < 3; i++) expect((await query(await authHeaders(server.app, a))).status).toBe(200);
    expect((await query(await authHeaders(server.app, a))).status).toBe(429);
    expect((await query(await authHeaders(server.app, b))).status).toBe(200);
    expect((await query({ 'x-api-key': key })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await query()).status).toBe(200);
    expect((await query()).status).toBe(429);
  });

  it('has a separate bucket per operation class', async () => {
    const user = await f.user();
    const headers = await authHeaders(server.app, user);
    for (let i = 0; i < 3; i++) await query(headers);
    expect((await query(headers)).status).toBe(429);
    const mutation = await server.gql('mutation { logout(refreshToken: "aimrt_x") }', {}, headers);
    expect(mutation.status).toBe(200);
    expect(mutation.data).toEqual({ logout: true });
  });
  it("buckets anonymous callers by the client's address", async () => {
    const seen: (string | undefined)[] = [];
    const policy = server.app.rateLimits;
    const original = policy.check.bind(policy);
    policy.check = async (caller, ip, classes) => {
      seen.push(ip);
      return original(caller, ip, classes);
    };
    try {
      await query(); // (this file's anonymous bucket is already empty: the address is what matters)
    } finally {
      policy.check = original;
    }
    expect(seen).toEqual([expect.stringMatching(/127\.0\.0\.1$/)]);
  });
});

withRedis('Redis buckets', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('is atomic under concurrency: exactly capacity requests win', async () => {
    const limiter = new RedisRateLimiter(redis, `test:${randomUUID()}:`);
    const spec = { capacity: 25, windowSeconds: 3600 };
    const results = await Promise.all(Array.from({ length: 100 }, () => limiter.consume('k', spec, 1)));
    expect(results.filter((r) => r.allowed).length).toBe(25);
    const refused = results.find((r) => !r.allowed)!;
    expect(refused.retryAfterSeconds).toBe(144);
  });

  it('agrees with the in-process implementation', async () => {
    const redisLimiter = new RedisRateLimiter(redis, `test:${randomUUID()}:`);
    const memory = new MemoryRateLimiter();
    const spec = { capacity: 3, windowSeconds: 60 };
    const seq = async (l: { consume: RedisRateLimiter['consume'] }) => {
      const out = [];
      for (let i = 0; i < 5; i++) out.push(await l.consume('k', spec, 1));
      return out.map((d) => [d.allowed, d.remaining, d.retryAfterSeconds]);
    };
    expect(await seq(redisLimiter)).toEqual(await seq(memory));
    await memory.close();
  });

  it('holds one limit across two server processes sharing the Redis', async () => {
    const prefix = `test-${randomUUID()}:`;
    const children: ChildProcess[] = [];
    const start = async () => {
      const child = spawn(
        process.execPath,
        ['--import', '@swc-node/register/esm-register', 'test/auth/fixtures/server-process.ts'],
        {
          env: {
            ...process.env,
            NODE_OPTIONS: '',
            NODE_ENV: 'test',
            LOG_LEVEL: 'silent',
            // `{ __typename }` touches no table: PostgreSQL when there is one (no PGlite start-up),
            // else an empty embedded database.
            DATABASE_URL: process.env.DATABASE_URL ?? '',
            DATA_DIR: `memory://${randomUUID()}`,
            MIGRATE_ON_START: process.env.DATABASE_URL ? 'false' : 'true',
            INFERENCE_START: 'lazy',
            SEED_ON_START: 'false',
            REDIS_URL: redisUrl,
            RATE_LIMIT_ENABLED: 'true',
            RATE_LIMIT_PREFIX: prefix,
            RATE_LIMIT_QUERY: '5/600',
            PUBSUB_PREFIX: prefix,
            // Its own queue keys too: BullMQ writes a meta key per queue that never expires.
            QUEUE_PREFIX: `${prefix}queue`,
          },
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
      });
      return `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/graphql`;
    };
    try {
      const [a, b] = await Promise.all([start(), start()]);
      const ask = (url: string) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"query":"{ __typename }"}',
        });
      const statuses = [];
      for (const url of [a, b, a, b, a, b, a]) statuses.push((await ask(url)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const last = await ask(b);
      expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      for (const child of children) child.stdin?.end();
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
      await deleteRedisKeys(redisUrl!, [prefix]);
    }
  }, 90_000);
});
