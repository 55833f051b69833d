// The import rules `npm run arch:check` enforces, shown to fail on trees that break them: an
// upward import, a cycle, an oversized file and a module in no layer.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function check(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'mm-arch-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'scripts/check-architecture.ts', '--root', root],
    { encoding: 'utf8' },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

it('passes a tree that keeps the rules', () => {
  const r = check({
    'src/shared/ids.ts': 'export const x = 1;\n',
    'src/db/database.ts': "import { x } from '../shared/ids.js';\nexport const y = x;\n",
    'src/http/server.ts': "import { y } from '../db/database.js';\nexport const z = y;\n",
  });
  expect(r.out).toContain('no cycles, no upward imports');
  expect(r.status).toBe(0);
});

it('names an upward import, a cycle and a file over 400 lines', () => {
  const r = check({
    'src/shared/ids.ts': "import { z } from '../http/server.js';\nexport const x = z;\n",
    'src/http/server.ts': "import { y } from '../catalog/a.js';\nexport const z = y;\n",
    'src/catalog/a.ts': "import { b } from './b.js';\nexport const y = b;\n",
    'src/catalog/b.ts': "import { y } from './a.js';\nexport const b = 1;\nexport const c = y;\n",
    'src/catalog/long.ts': 'export const n = 1;\n'.repeat(401),
  });
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/upward import: src\/shared\/ids\.ts \(foundation\) imports src\/http\/server\.ts \(edge\)/);
  expect(r.out).toMatch(/import cycle: .*src\/catalog\/a\.ts ↔ src\/catalog\/b\.ts/);
  expect(r.out).toMatch(/too long: src\/catalog\/long\.ts has 402 lines/);
});

it('refuses a module that belongs to no layer', () => {
  const r = check({ 'src/somewhere/new.ts': 'export const x = 1;\n' });
  expect(r.status).not.toBe(0);
  expect(r.out).toContain('src/somewhere/new.ts: in no layer');
});
