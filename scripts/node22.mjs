#!/usr/bin/env node
// Runs `node <args>` under Node >= 22.17 (MikroORM 7, jose 6 and Apollo Server 5 need it).
// The machines this project runs on ship Node 20, so when the current Node is older we fetch
// Node 22 from the npm registry into .tools/ once (the `node` package carries the binary) and
// re-run there. Everything else (npm scripts, CI) goes through this one launcher.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
const recentEnough = major > 22 || (major === 22 && minor >= 17);

let nodeBin = process.execPath;
if (!recentEnough) {
  nodeBin = join(root, '.tools/node_modules/node/bin/node');
  if (!existsSync(nodeBin)) {
    process.stderr.write(`Node ${process.versions.node} is older than 22.17: installing Node 22 into .tools/ …\n`);
    const r = spawnSync(
      'npm',
      ['i', '--silent', '--no-audit', '--no-fund', '--prefix', join(root, '.tools'), 'node@22'],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0 || !existsSync(nodeBin)) {
      process.stderr.write('Could not install Node 22 from the npm registry; install Node >= 22.17 and retry.\n');
      process.exit(1);
    }
  }
}

const child = spawn(nodeBin, process.argv.slice(2), {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${dirname(nodeBin)}:${process.env.PATH ?? ''}` },
});
// Forward termination so `npm start` + Ctrl-C / SIGTERM reaches the server's graceful shutdown.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
