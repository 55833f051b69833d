import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';

/**
 * The Docker image, assembled without a Docker engine (none runs on the development and CI
 * machines): the build stage gets exactly the files the Dockerfile COPYs from the build context
 * (after .dockerignore) and runs its build command; the runtime folder gets what the runtime stage
 * copies, so a file the image lacks (a script importing test/, say) fails here as it would there.
 * Dependencies are the repository's node_modules, linked: installing them would need the network.
 */
type Copy = { from?: string; sources: string[]; dest: string };
type Stage = { name: string; base: string; copies: Copy[]; runs: string[] };

export function dockerStages(path = 'Dockerfile'): Map<string, Stage> {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { name: from[2] ?? from[1], base: from[1], copies: [], runs: [] };
      stages.set(current.name, current);
      continue;
    }
    if (!current) continue;
    const copy = /^COPY\s+(.*)$/i.exec(line);
    if (copy) {
      const words = copy[1].split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const fromFlag = flags.find((f) => f.startsWith('--from='));
      current.copies.push({
        from: fromFlag?.slice('--from='.length),
        sources: paths.slice(0, -1),
        dest: paths.at(-1)!,
      });
    }
    const run = /^RUN\s+(.*)$/i.exec(line);
    if (run) current.runs.push(run[1]);
  }
  return stages;
}

/** The chain of stages a stage builds on, oldest first. */
function chain(stages: Map<string, Stage>, name: string): Stage[] {
  const stage = stages.get(name);
  return stage ? [...chain(stages, stage.base), stage] : [];
}

function dockerignore(): (path: string) => boolean {
  const patterns = readFileSync('.dockerignore', 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const tests = patterns.map((p) => {
    const body = p.replace(/\/$/, '');
    const re = body
      .split('/')
      .map((seg) => (seg === '**' ? '(?:.*/)?' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')))
      .join('/')
      .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?');
    return new RegExp(`^${re}(?:/.*)?$`);
  });
  return (path) => tests.some((t) => t.test(path));
}

/** COPY from the build context into `root` (WORKDIR /app), Docker's way: a folder's contents, a file by name. */
function copyFromContext(copy: Copy, root: string, ignored: (path: string) => boolean): void {
  for (const source of copy.sources) {
    if (ignored(source)) throw new Error(`Dockerfile copies ${source}, which .dockerignore leaves out`);
    const dest = resolve(root, copy.dest);
    const target = copy.dest.endsWith('/') ? join(dest, basename(source)) : dest;
    if (statSync(source).isDirectory()) {
      cpSync(source, target, {
        recursive: true,
        filter: (src) => !ignored(relative(process.cwd(), src)),
      });
    } else {
      mkdirSync(dirname(target), { recursive: true });
      cpSync(source, target);
    }
  }
}

export type ImageLayout = {
  /** The build stage's /app after its build command. */
  buildDir: string;
  /** The runtime stage's /app: what `node dist/src/main.js` runs in. */
  appDir: string;
  buildOutput: string;
};

/** Assembles the build stage, runs its `npm run build`, then the runtime stage's /app. */
export function assembleImage(target = 'runtime'): ImageLayout {
  const stages = dockerStages();
  const ignored = dockerignore();
  const root = mkdtempSync(join(tmpdir(), 'mm-image-'));
  const buildDir = join(root, 'build');
  const appDir = join(root, 'app');
  mkdirSync(buildDir);
  mkdirSync(appDir);
  const nodeModules = resolve('node_modules');
  symlinkSync(nodeModules, join(buildDir, 'node_modules'), 'dir');
  let buildOutput = '';
  for (const stage of chain(stages, 'build')) {
    for (const copy of stage.copies) if (!copy.from) copyFromContext(copy, buildDir, ignored);
    for (const run of stage.runs.filter((r) => r.includes('npm run build'))) {
      const result = spawnSync('npm', ['run', 'build'], {
        cwd: buildDir,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      });
      buildOutput += `${result.stdout}${result.stderr}`;
      if (result.status !== 0) throw new Error(`the image's "${run}" failed:\n${buildOutput}`);
    }
  }
  for (const stage of chain(stages, target)) {
    for (const copy of stage.copies) {
      if (!copy.from) {
        copyFromContext(copy, appDir, ignored);
        continue;
      }
      for (const source of copy.sources) {
        const dest = resolve(appDir, copy.dest);
        const inStage = relative('/app', source);
        if (inStage === 'node_modules') {
          // prod-deps' node_modules: the repository's (dist-imports.test checks that production
          // code needs only `dependencies`).
          symlinkSync(nodeModules, dest, 'dir');
        } else if (copy.from === 'build') {
          cpSync(join(buildDir, inStage), dest, { recursive: true });
        } else if (existsSync(inStage)) {
          // Made by `npm ci` in the deps stage (the playground bundle): the local install made it too.
          cpSync(inStage, dest, { recursive: true });
        } else {
          throw new Error(`${source} from stage ${copy.from} is missing here: run npm install first`);
        }
      }
    }
  }
  return { buildDir, appDir, buildOutput };
}

/** Packages the built JavaScript imports (bare specifiers, node builtins left out), by file. */
export function importedPackages(dir: string): Map<string, Set<string>> {
  const builtins = new Set(builtinModules);
  const found = new Map<string, Set<string>>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const text = readFileSync(path, 'utf8');
        // Statements only (tsc puts them at line starts): SQL in a string says `from "table"` too.
        const specs = text.matchAll(
          /^(?:import|export)\b[^'";]*?\bfrom\s+['"]([^'"\n]+)['"]|^import\s+['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/gm,
        );
        for (const [, fromSpec, bareSpec, dynamicSpec] of specs) {
          const spec = fromSpec ?? bareSpec ?? dynamicSpec;
          if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue;
          const parts = spec.split('/');
          const pkg = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
          if (builtins.has(pkg)) continue;
          if (!found.has(pkg)) found.set(pkg, new Set());
          found.get(pkg)!.add(relative(dir, path));
        }
      }
    }
  };
  walk(dir);
  return found;
}
