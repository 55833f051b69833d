import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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

it('starts on the embedded default, seeds the demo catalog once, and keeps it across restarts', async () => {
  const first = await start();
  try {
    expect(first.logs.some((l) => l.msg === 'demo catalog seeded')).toBe(true);
    const body = await catalog(first.url);
    expect(body.data.models.totalCount).toBe(6);
    for (const { node } of body.data.models.edges) expect(node.defaultVersion?.status).toBe('READY');
    expect(body.data.models.edges.reduce((n, e) => n + e.node.reviews.totalCount, 0)).toBe(13);
    process.stdout.write(`[startup] embedded default, first start (migrate + seed): ${first.startupMs} ms\n`);
  } finally {
    expect(await stop(first)).toBe(0);
  }

  const second = await start();
  try {
    expect(second.logs.some((l) => l.msg === 'demo catalog seeded')).toBe(false);
    expect((await catalog(second.url)).data.models.totalCount).toBe(6);
    const ready = await fetch(second.url.replace('/graphql', '/health/ready'));
    expect(ready.status).toBe(200);
    process.stdout.write(`[startup] embedded default, restart: ${second.startupMs} ms\n`);
  } finally {
    expect(await stop(second)).toBe(0);
  }
}, 240_000);
