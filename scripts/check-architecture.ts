// `npm run arch:check` (part of `npm run check`): the import rules of the README's Architecture
// section, checked over src/ — no import cycles, no import from a higher layer into a lower one,
// and no source file over 400 lines (data modules aside). Exits 1 naming every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// `--root <dir>` checks another tree (test/architecture/ feeds it broken ones).
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? process.argv[rootArg + 1] : join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'src');
const MAX_LINES = 400;

/**
 * Layers, lowest first. A module may import from its own layer and the ones below it, never
 * above: the edge (transports, GraphQL, entry points and the composition root) knows the
 * services; services know the infrastructure; the infrastructure knows neither.
 */
const LAYERS: { name: string; paths: string[] }[] = [
  {
    name: 'foundation',
    paths: ['src/shared/', 'src/entities/', 'src/observability/', 'src/config.ts', 'src/config.spec.ts'],
  },
  {
    name: 'infrastructure',
    paths: ['src/db/', 'src/jobs/', 'src/storage/', 'src/mail/', 'src/inference/', 'src/subscriptions/'],
  },
  {
    name: 'services',
    paths: ['src/auth/', 'src/catalog/', 'src/billing/', 'src/predictions/', 'src/webhooks/'],
  },
  {
    name: 'edge',
    paths: [
      'src/graphql/',
      'src/resolvers/',
      'src/http/',
      'src/composition/',
      'src/app.ts',
      'src/services.ts',
      'src/main.ts',
      'src/worker.ts',
    ],
  },
];

/**
 * Files the layer rule does not see: each layer's settings (`*.config.ts`, parsing env values
 * only) and src/config.ts, which assembles them all, read once at start.
 */
const CONFIG_FILES = /(?:\.config\.ts|\/src\/config\.ts)$/;

/**
 * Entities reference each other both ways (a model's default version, a version's model):
 * MikroORM's defineEntity resolves those relations lazily (`() => p.manyToOne(Model)`), so a
 * cycle among entity modules is the ORM's model of the data, not tangled code.
 */
const ENTITY_CYCLE = (component: string[]) => component.every((f) => rel(f).startsWith('src/entities/'));

function layerOf(file: string): number {
  const rel = relative(root, file).replaceAll('\\', '/');
  const i = LAYERS.findIndex((l) => l.paths.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
  if (i < 0) throw new Error(`${rel}: in no layer of scripts/check-architecture.ts`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a module (static, dynamic and type-only alike), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(m[1]);
  }
  for (const m of text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) out.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(m[1]);
  return out.map((spec) => normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
}

const files = sourceFiles(SRC);
const known = new Set(files);
const graph = new Map<string, string[]>();
for (const f of files)
  graph.set(
    f,
    importsOf(f).filter((t) => known.has(t)),
  );

const problems: string[] = [];
const rel = (f: string) => relative(root, f);

// Every module in a layer: a new folder must be placed before it can be judged.
const placed = files.filter((f) => {
  if (LAYERS.some((l) => l.paths.some((p) => (p.endsWith('/') ? rel(f).startsWith(p) : rel(f) === p)))) return true;
  problems.push(`${rel(f)}: in no layer of scripts/check-architecture.ts`);
  return false;
});
const placedSet = new Set(placed);

// Upward imports.
for (const [from, targets] of graph) {
  if (!placedSet.has(from)) continue;
  if (CONFIG_FILES.test(from)) continue;
  for (const to of targets) {
    if (CONFIG_FILES.test(to) || !placedSet.has(to)) continue;
    const a = layerOf(from);
    const b = layerOf(to);
    if (b > a) problems.push(`upward import: ${rel(from)} (${LAYERS[a].name}) imports ${rel(to)} (${LAYERS[b].name})`);
  }
}

// Cycles: strongly connected components with more than one module, or a module importing itself.
let index = 0;
const indices = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
function strongConnect(v: string): void {
  indices.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!indices.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
  }
  if (low.get(v) === indices.get(v)) {
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if ((component.length > 1 || graph.get(v)?.includes(v)) && !ENTITY_CYCLE(component)) {
      problems.push(`import cycle: ${component.map(rel).sort().join(' ↔ ')}`);
    }
  }
}
for (const f of files) if (!indices.has(f)) strongConnect(f);

// Size: a file over the limit holds two things (data modules are data).
for (const f of files) {
  if (f.endsWith('.data.ts') || f.endsWith('.spec.ts')) continue;
  const lines = readFileSync(f, 'utf8').split('\n').length;
  if (lines > MAX_LINES) problems.push(`too long: ${rel(f)} has ${lines} lines (at most ${MAX_LINES})`);
}

if (problems.length) {
  process.stderr.write(`architecture: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(
  `architecture: ${files.length} modules, no cycles, no upward imports, none over ${MAX_LINES} lines\n`,
);
