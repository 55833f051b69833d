import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deleteRedisKeys, startProcessAs, stopAll, type AppProcess } from '../support/app-processes.js';
import { createTestDatabase } from '../support/test-database.js';
import { readCompose, serviceEnvironment, dockerfileEnv, type ComposeService } from './deployment-files.js';
import { assembleImage, importedPackages, type ImageLayout } from './image-layout.js';

/**
 * `docker compose up` without a Docker engine: the image assembled and built as the Dockerfile
 * says (test/deploy/image-layout.ts), then the api and worker services' own command lines run in
 * it, with the environment compose gives them (the Dockerfile's ENV, then the service's
 * `environment`, interpolated from a host environment that holds only what the README tells an
 * operator to export). Only what points at compose's own network and volumes is replaced: the
 * PostgreSQL and Redis URLs (this machine's, a fresh database and key prefix), the shared models
 * volume (one folder for both), and the port. Then the README's compose commands (seed, promote),
 * a sync prediction on the API and a queued one that only the worker can run (RUN_JOBS=false on
 * the API), and SIGTERM as compose sends it to each service.
 */
const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
if (!redisUrl || !databaseUrl) {
  process.stdout.write('[compose-stack] needs DATABASE_URL and REDIS_URL: compose stack test skipped\n');
}
const withServices = redisUrl && databaseUrl ? describe : describe.skip;

const README = readFileSync('README.md', 'utf8');
/** What the README tells an operator to export before `docker compose up`. */
const HOST_ENV = { JWT_SECRET: `k1:${randomBytes(32).toString('base64')}` };

type Gql<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** `docker compose exec api …` lines of the README, in order. */
function readmeComposeExecs(): string[][] {
  return [...README.matchAll(/^\s*docker compose exec api (.+)$/gm)].map((m) => m[1].trim().split(/\s+/));
}

function gracePeriodMs(service: ComposeService & { stop_grace_period?: string }): number {
  const m = /^(\d+)s$/.exec(service.stop_grace_period ?? '10s');
  return Number(m?.[1] ?? 10) * 1000;
}

withServices('the compose stack, from the built image', () => {
  let image: ImageLayout;
  let drop: () => Promise<void>;
  let api: AppProcess;
  let worker: AppProcess;
  const prefix = `test-compose-${randomUUID().slice(0, 8)}`;
  const volume = mkdtempSync(join(tmpdir(), 'mm-compose-models-'));
  const compose = readCompose();
  const services = compose.services as Record<string, ComposeService & { stop_grace_period?: string }>;
  let envFor: (name: string) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    image = assembleImage('runtime');
    const db = await createTestDatabase();
    drop = () => db.drop();
    const runtimeEnv = dockerfileEnv().runtime;
    envFor = (name) => {
      const env = { ...runtimeEnv, ...serviceEnvironment(services[name], HOST_ENV) };
      // compose's network and volumes, mapped onto this machine:
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      expect(env.MODEL_STORAGE_DIR).toBe('/data/models');
      return {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME,
        ...env,
        DATABASE_URL: db.databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        PUBSUB_PREFIX: `${prefix}:`,
        MODEL_STORAGE_DIR: volume,
        DATA_DIR: volume,
        PORT: '0',
        HOST: '127.0.0.1',
      };
    };
    const [apiCmd, ...apiArgs] = services.api.command as string[];
    api = await startProcessAs('api', { command: apiCmd, args: apiArgs, cwd: image.appDir, env: envFor('api') });
    const [workerCmd, ...workerArgs] = services.worker.command as string[];
    worker = await startProcessAs('worker', {
      command: workerCmd,
      args: workerArgs,
      cwd: image.appDir,
      env: envFor('worker'),
    });
  }, 240_000);

  afterAll(async () => {
    await stopAll();
    await drop?.();
    if (redisUrl) await deleteRedisKeys(redisUrl, [prefix]);
    rmSync(volume, { recursive: true, force: true });
    if (image) rmSync(dirname(image.appDir), { recursive: true, force: true });
  });

  it('builds with the image build config, and production code imports only runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const imported = importedPackages(join(image.appDir, 'dist'));
    const notInstalled = [...imported]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(([name, files]) => `${name} (${[...files].slice(0, 3).join(', ')})`);
    expect(notInstalled).toEqual([]);
    expect(imported.has('@apollo/server')).toBe(true);
  });

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const res = await fetch(`${api.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as Gql<T>;
  };
  const ok = async <T>(query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const body = await gql<T>(query, variables, token);
    if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };

  it("runs the README's compose commands, then a sync prediction on the API and a queued one on the worker", async () => {
    const email = `operator-${randomUUID().slice(0, 8)}@example.com`;
    const { register } = await ok<{ register: { accessToken: string } }>(
      'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
      { input: { email, displayName: 'Operator', password: 'a long enough passphrase' } },
    );
    const execs = readmeComposeExecs();
    expect(execs.map((argv) => argv.slice(0, 2).join(' '))).toEqual(
      expect.arrayContaining(['node dist/scripts/seed.js', 'node dist/scripts/promote.js']),
    );
    for (const argv of execs) {
      const emailAt = argv.indexOf('--email');
      if (emailAt >= 0) argv[emailAt + 1] = email;
      const [cmd, ...args] = argv;
      const run = spawnSync(cmd, args, { cwd: image.appDir, env: envFor('api'), encoding: 'utf8' });
      expect({ argv: argv.join(' '), status: run.status, stderr: run.stderr }).toEqual({
        argv: argv.join(' '),
        status: 0,
        stderr: '',
      });
    }
    // promote.js made the operator an admin: the API reads the role from the database.
    const { me } = await ok<{ me: { role: string } }>('{ me { role } }', {}, register.accessToken);
    expect(me.role).toBe('ADMIN');

    // The seeded catalog's Iris classifier, on the README's example flower (versicolor).
    const { model } = await ok<{ model: { id: string } }>('{ model(slug: "iris-species") { id } }');
    const runnable = model;
    const inputs = [{ name: 'features', dtype: 'float32', shape: [1, 4], data: [6.4, 3.2, 4.5, 1.5] }];
    const predicted = await ok<{ predict: { outputs: { name: string; data: unknown[] }[] } }>(
      'mutation($m: ID!, $i: [TensorInput!]!) { predict(modelId: $m, inputs: $i) { outputs { name data } } }',
      { m: runnable.id, i: inputs },
      register.accessToken,
    );
    expect(predicted.predict.outputs.find((o) => o.name === 'label')?.data).toEqual(['1']);
    const { createPrediction } = await ok<{ createPrediction: { id: string } }>(
      'mutation($input: CreatePredictionInput!) { createPrediction(input: $input) { id } }',
      { input: { modelId: runnable.id, inputs } },
      register.accessToken,
    );
    const end = Date.now() + 60_000;
    let status = 'QUEUED';
    while (status !== 'SUCCEEDED' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      const { prediction } = await ok<{ prediction: { status: string } }>(
        'query($id: ID!) { prediction(id: $id) { status } }',
        { id: createPrediction.id },
        register.accessToken,
      );
      status = prediction.status;
      if (['FAILED', 'CANCELED'].includes(status)) break;
    }
    expect(status).toBe('SUCCEEDED');
    // The worker ran it: the API runs no jobs under compose.
    expect(api.logs.find((l) => typeof l.startupMs === 'number')?.jobs).toBe('left to workers (RUN_JOBS=false)');
  }, 120_000);

  it('stops each service on the SIGTERM compose sends, within its stop_grace_period, with exit code 0', async () => {
    for (const [name, proc] of [
      ['worker', worker],
      ['api', api],
    ] as const) {
      const grace = gracePeriodMs(services[name]);
      const started = Date.now();
      // compose (through its init process) signals the service's command: for the API, `sh -c`.
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), grace);
      const code = await proc.exited;
      clearTimeout(timer);
      expect({ name, code, withinGrace: Date.now() - started < grace }).toEqual({ name, code: 0, withinGrace: true });
      expect(proc.logs.some((l) => l.msg === 'stopped')).toBe(true);
    }
  }, 150_000);
});
