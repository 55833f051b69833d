import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { startApiProcess, stopAll } from '../support/app-processes.js';

/** PGlite is one process per data folder: a second one on the same files would corrupt them. */
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mm-lock-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it('refuses a second embedded database on the same folder, and frees it on stop', async () => {
  const dir = tempDir();
  const first = await startEmbeddedPostgres(dir);
  await expect(startEmbeddedPostgres(dir)).rejects.toThrow(DataDirInUseError);
  await first.stop();
  expect(existsSync(join(dir, 'server.lock'))).toBe(false);
  const again = await startEmbeddedPostgres(dir);
  await again.stop();
});

it('takes over a lock left by a process that died', async () => {
  const dir = tempDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, 'server.lock'), dead.stdout);
  const db = await startEmbeddedPostgres(dir);
  await db.stop();
});

it('a second `npm start` on the same DATA_DIR exits 1 with a message saying what to do', async () => {
  const dir = tempDir();
  const running = await startApiProcess({ DATA_DIR: dir, NODE_ENV: 'development', SEED_ON_START: 'false' });
  const second = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
  expect(code).toBe(1);
  expect(stderr).toContain(`is in use by process ${running.child.pid}`);
  expect(stderr).toContain('another DATA_DIR');
  expect(stderr).not.toMatch(/\n\s+at /);
}, 120_000);
