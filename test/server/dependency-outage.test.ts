// A replica whose database or Redis becomes unreachable (found by the dependency-fault suite,
// test/chaos/dependency-faults.chaos.test.ts): requests are answered SERVICE_UNAVAILABLE with
// `retryable: true` — before the fix they were masked as INTERNAL_SERVER_ERROR, which clients do
// not retry — and /health/ready says 503 for Redis as for the database (it ignored Redis); both
// come back by themselves. The services are reached through TCP proxies that the test cuts, so
// the machine's PostgreSQL and Redis, which other tests share, are never stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { SandboxModelValidator } from '../../src/catalog/model-validator.js';
import { ModelVersionStatus, Role } from '../../src/entities/enums.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { ctxFor, fixtureFile } from '../publishing/publishing-helpers.js';
import { Factory } from '../support/factories.js';
import { createTestDatabase } from '../support/test-database.js';
import { deleteRedisKeys } from '../support/app-processes.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) process.stdout.write('[dependency-outage] needs DATABASE_URL and REDIS_URL: skipped\n');
const withServices = databaseUrl && redisUrl ? describe : describe.skip;

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

withServices('a dependency outage', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let app: App;
  let server: RunningServer;
  let origin: string;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const pgTarget = new URL(db.databaseUrl!);
    const redisTarget = new URL(redisUrl!);
    pgProxy = await startTcpProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
    redisProxy = await startTcpProxy({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) });
    const proxied = new URL(db.databaseUrl!);
    proxied.host = `127.0.0.1:${pgProxy.port}`;
    dir = mkdtempSync(join(tmpdir(), 'mm-outage-'));
    app = await createApp(
      loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.OUTAGE_LOG ?? 'silent',
        DATABASE_URL: proxied.toString(),
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        DATA_DIR: dir,
        MIGRATE_ON_START: 'true',
        SEED_ON_START: 'false',
        RATE_LIMIT_ENABLED: 'false',
        INFERENCE_START: 'lazy',
        INFERENCE_WORKERS: '1',
        CATALOG_CACHE_TTL_MS: '0',
        PUBSUB_PREFIX: `test-outage-${process.pid}:`,
        QUEUE_PREFIX: `test-outage-${process.pid}-queue`,
      }),
    );
    server = await startServer(app, { port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${server.port}`;
  }, 60_000);

  afterAll(async () => {
    await pgProxy?.restore();
    await redisProxy?.restore();
    await server?.close();
    await app?.close();
    await pgProxy?.close();
    await redisProxy?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // The catalog generation, rate-limit buckets and queue keys this app wrote to the shared Redis.
    if (redisUrl) await deleteRedisKeys(redisUrl, [`test-outage-${process.pid}`]);
  }, 30_000);

  const query = async () => {
    const res = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ models(first: 1) { totalCount } }' }),
      signal: AbortSignal.timeout(10_000),
    });
    return (await res.json()) as Body;
  };
  const ready = async () => {
    const res = await fetch(`${origin}/health/ready`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean }> } };
  };
  const until = async (check: () => Promise<boolean>, what: string) => {
    const end = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('answers SERVICE_UNAVAILABLE (retryable) while the database is unreachable, and recovers', async () => {
    expect((await query()).errors).toBeUndefined();
    await pgProxy.cut();
    const down = await query();
    expect(down.errors?.[0]?.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      retryable: true,
      requestId: expect.any(String) as unknown,
    });
    expect(JSON.stringify(down)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|Connection terminated/);
    const probe = await ready();
    expect(probe.status).toBe(503);
    expect(probe.body.checks.database?.ok).toBe(false);

    await pgProxy.restore();
    await until(async () => (await query()).errors === undefined, 'queries to succeed again');
    expect((await ready()).status).toBe(200);
  });

  // Before the fix the status write failed once and was only logged: the version stayed
  // PROCESSING until some process restarted and took it up again.
  it('writes the outcome of a validation that finished during the outage once the database is back', async () => {
    const f = new Factory(app);
    const publisher = await f.user({ role: Role.PUBLISHER });
    const model = await f.model(publisher);
    // Validation is held until the database is unreachable, then finishes.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Kept to be put back, and called with each instance's own `this` below.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const validate = SandboxModelValidator.prototype.validate;
    SandboxModelValidator.prototype.validate = async function (this: SandboxModelValidator, path) {
      await held;
      return validate.call(this, path);
    };
    try {
      const v = await app.services.versions.upload(ctxFor(app, publisher), {
        modelId: model.id,
        version: '1.0.0',
        file: fixtureFile('elementwise.onnx'),
      });
      await pgProxy.cut();
      release();
      await new Promise((r) => setTimeout(r, 1500));
      await pgProxy.restore();
      await app.services.versions.whenValidated(v.id);
      const row = await app.db.orm.em.fork().findOneOrFail(ModelVersion, { id: v.id });
      expect(row.status).toBe(ModelVersionStatus.READY);
    } finally {
      SandboxModelValidator.prototype.validate = validate;
      release();
      await pgProxy.restore();
    }
  });

  it('is not ready while Redis is unreachable, and ready again once it is back', async () => {
    expect((await ready()).status).toBe(200);
    await redisProxy.cut();
    await until(async () => (await ready()).status === 503, 'readiness to go false');
    expect((await ready()).body.checks.redis?.ok).toBe(false);
    await redisProxy.restore();
    await until(async () => (await ready()).status === 200, 'readiness to come back');
    expect((await ready()).body.checks.redis).toEqual({ ok: true });
  });
});
