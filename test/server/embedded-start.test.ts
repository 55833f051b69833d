import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_MODELS } from '../../src/catalog/seed-data.js';

/**
 * The README's first command, as a user runs it: the real entry point on the embedded default
 * (no DATABASE_URL), in a fresh data folder. It must migrate, seed, serve the catalog, stop
 * cleanly on SIGTERM, and keep its data across a restart without seeding twice.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'mm-embedded-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

type Started = { child: ChildProcess; url: string; startupMs: number; logs: Record<string, unknown>[] };

async function start(): Promise<Started> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 90 s; stderr: ${stderr}`)), 90_000);
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return reject(new Error(`log line is not JSON: ${line}`));
      }
      logs.push(entry);
      if (typeof entry.url === 'string' && typeof entry.startupMs === 'number') {
        clearTimeout(timer);
        resolve({ child, url: entry.url, startupMs: entry.startupMs, logs });
      }
    });
  });
}

async function stop(s: Started): Promise<number | null> {
  s.child.removeAllListeners('exit');
  return new Promise((resolve) => {
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

async function catalog(url: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query:
        '{ models(first: 50, orderBy: TOP_RATED) { totalCount edges { node { slug defaultVersion { version status inputs { name } } reviews { totalCount } } } } }',
    }),
  });
  return (await res.json()) as {
    data: {
      models: {
        totalCount: number;
        edges: { node: { slug: string; defaultVersion: { status: string } | null; reviews: { totalCount: number } } }[];
      };
    };
  };
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

/**
 * A consumer's first minutes on the embedded default: sign up, run a seeded model synchronously
 * and as a queued job (the in-process queue), both metered — the prepared statements of the
 * prediction path (src/db/prepared-statement.ts) run against PGlite here.
 */
async function predictAsNewConsumer(url: string) {
  const { register } = await gql<{ register: { accessToken: string } }>(
    url,
    'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
    {
      input: {
        email: `embedded-${Date.now()}@example.com`,
        displayName: 'Embedded',
        password: 'a long enough passphrase',
      },
    },
  );
  const token = register.accessToken;
  const { model } = await gql<{ model: { id: string } }>(url, '{ model(slug: "affine-relu") { id } }');
  const inputs = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] }];
  const { predict } = await gql<{
    predict: { outputs: { data: number[] }[]; prediction: { status: string; cost: { amount: string } } };
  }>(
    url,
    'mutation($m: ID!, $i: [TensorInput!]!) { predict(modelId: $m, inputs: $i) { outputs { data } prediction { status cost { amount } } } }',
    { m: model.id, i: inputs },
    token,
  );
  expect(predict.outputs[0].data).toEqual([0, 1, 3, 5]);
  // Within the model's free allowance: billed, at zero.
  expect([predict.prediction.status, Number(predict.prediction.cost.amount)]).toEqual(['SUCCEEDED', 0]);
  const { createPrediction } = await gql<{ createPrediction: { id: string } }>(
    url,
    'mutation($input: CreatePredictionInput!) { createPrediction(input: $input) { id } }',
    { input: { modelId: model.id, inputs } },
    token,
  );
  const end = Date.now() + 30_000;
  for (;;) {
    const { prediction } = await gql<{ prediction: { status: string; outputs: { data: number[] }[] | null } }>(
      url,
      'query($id: ID!) { prediction(id: $id) { status outputs { data } } }',
      { id: createPrediction.id },
      token,
    );
    if (prediction.status === 'SUCCEEDED') {
      expect(prediction.outputs?.[0].data).toEqual([0, 1, 3, 5]);
      break;
    }
    if (Date.now() > end || ['FAILED', 'CANCELED'].includes(prediction.status))
      throw new Error(`queued prediction ended ${prediction.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const { usage } = await gql<{ usage: { requests: number; amount: { amount: string } } }>(
    url,
    '{ usage { requests amount { amount } } }',
    {},
    token,
  );
  expect([usage.requests, Number(usage.amount.amount)]).toEqual([2, 0]);
}

it('starts on the embedded default, seeds the demo catalog once, and keeps it across restarts', async () => {
  const first = await start();
  try {
    expect(first.logs.some((l) => l.msg === 'demo catalog seeded')).toBe(true);
    const body = await catalog(first.url);
    expect(body.data.models.totalCount).toBe(DEMO_MODELS.length);
    for (const { node } of body.data.models.edges) expect(node.defaultVersion?.status).toBe('READY');
    // The demo catalog invents no reviews.
    expect(body.data.models.edges.reduce((n, e) => n + e.node.reviews.totalCount, 0)).toBe(0);
    process.stdout.write(`[startup] embedded default, first start (migrate + seed): ${first.startupMs} ms\n`);
  } finally {
    expect(await stop(first)).toBe(0);
  }

  const second = await start();
  try {
    expect(second.logs.some((l) => l.msg === 'demo catalog seeded')).toBe(false);
    expect((await catalog(second.url)).data.models.totalCount).toBe(DEMO_MODELS.length);
    const ready = await fetch(second.url.replace('/graphql', '/health/ready'));
    expect(ready.status).toBe(200);
    process.stdout.write(`[startup] embedded default, restart: ${second.startupMs} ms\n`);
    await predictAsNewConsumer(second.url);
  } finally {
    expect(await stop(second)).toBe(0);
  }
}, 240_000);
