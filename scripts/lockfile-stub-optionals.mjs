#!/usr/bin/env node
// The npm registry this project's machines reach carries only the linux-x64 builds of packages
// with per-platform binaries (@swc/core-*, @unrs/resolver-binding-*, msgpackr-extract-*), so
// `npm install` cannot write lock entries for the other platforms, and `npm ci` then refuses the
// lock ("Missing: @swc/core-darwin-arm64@ from lock file"). This adds a version-only, optional
// entry for every such platform package; `npm ci` skips optional packages it cannot fetch, and on
// a machine with the full public registry they resolve as usual. Run it after `npm install`
// changes the lock: `node scripts/lockfile-stub-optionals.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (pkgs[nested] || pkgs[hoisted]) continue;
    pkgs[hoisted] = { version: range.replace(/^[\^~=]/, ''), optional: true, ...(meta.dev ? { dev: true } : {}) };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: ${added} optional platform entries stubbed`);
