#!/usr/bin/env node
// Bundles the GraphiQL playground (playground/) from npm packages into playground/dist/, so the
// server serves it itself and the page works offline: no CDN (the API's users may sit behind a
// firewall, and CI has no network). Runs on `npm install` (the `prepare` script) and from
// `npm start` when the bundle is missing. `--if-missing` skips the build when it exists.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'playground/dist');
if (process.argv.includes('--if-missing') && existsSync(join(out, 'main.js'))) process.exit(0);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // A production install (`npm ci --omit=dev`) has no bundler: the Dockerfile builds the bundle
  // in its build stage instead, and the server answers 503 for the playground if it is absent.
  process.stderr.write('build-playground: esbuild is not installed (production install?); skipped\n');
  process.exit(0);
}

mkdirSync(out, { recursive: true });
const started = Date.now();
await esbuild.build({
  entryPoints: [join(root, 'playground/main.tsx')],
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.css': 'css', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file' },
  logLevel: 'warning',
});
copyFileSync(join(root, 'playground/index.html'), join(out, 'index.html'));
process.stdout.write(`build-playground: playground/dist built in ${Date.now() - started} ms\n`);
