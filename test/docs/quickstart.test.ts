import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The README's Quickstart, as a newcomer follows it: `npm start` (the real script, on the embedded
 * default, in a fresh data folder), then every other shell block of the section, in order, in one
 * bash session, exactly as written but for the port (a free one instead of 4000, also given to
 * examples/follow-prediction.mjs as MM_URL). A block that
 * stops working fails here, so the Quickstart cannot rot.
 */
const START = 'npm install && npm start';

function quickstartBlocks(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = /^## Quickstart\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README has no "## Quickstart" section');
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```/gm)].map((m) => m[1].trim());
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dataDir = mkdtempSync(join(tmpdir(), 'mm-quickstart-'));
let server: ChildProcess | undefined;

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it('runs every shell block of the README Quickstart against `npm start`', async () => {
  const blocks = quickstartBlocks();
  expect(blocks[0]).toBe(START);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    DATA_DIR: dataDir,
  };
  // Its own process group, so that the whole npm → launcher → server chain gets the signal.
  server = spawn('npm', ['start'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start: not ready in 120 s; stderr: ${stderr}`)), 120_000);
    server!.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${stderr}`)));
    createInterface({ input: server!.stdout! }).on('line', (line) => {
      if (line.includes('"startupMs"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

  const script = ['set -euo pipefail', ...blocks.slice(1)].join('\n').replaceAll('localhost:4000', `localhost:${port}`);
  // The example script's own default is localhost:4000 too: the same port, moved the same way.
  const run = spawnSync('bash', ['-c', script], {
    env: { ...env, MM_URL: `http://localhost:${port}/graphql` },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`exit ${run.status}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  expect(run.stdout).not.toContain('"errors"');
  // The catalog, the synchronous prediction (versicolor), the job followed to its end, the usage
  // of both, and the uploaded version.
  expect(run.stdout).toContain('"slug":"iris-species"');
  expect(run.stdout).toMatch(/"name":"label","shape":\[1\],"data":\["1"\]/);
  expect(run.stdout).toMatch(/\+\s*\d+ ms {2}SUCCEEDED/);
  expect(run.stdout).toContain('label [1] = ["1"]');
  expect(run.stdout).toMatch(/"usage":\{"requests":2,/);
  expect(run.stdout).toMatch(/"defaultVersion":\{"status":"READY","inputs":\[\{"name":"x"/);
}, 300_000);
