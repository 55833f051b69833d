import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * docker-compose.yml and the Dockerfile read the way Docker reads them, for tests that hold them
 * to the code: compose's anchors and `<<` merges, its `${VAR}` interpolation, the Dockerfile's
 * ENV lines per stage.
 */
export type ComposeService = {
  build?: { context: string; target?: string };
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  profiles?: string[];
};

export type ComposeFile = { services: Record<string, ComposeService> };

export function readCompose(path = 'docker-compose.yml'): ComposeFile {
  return parse(readFileSync(path, 'utf8'), { merge: true }) as ComposeFile;
}

/** The services built from this repository (the app's image), by name. */
export function appServices(compose: ComposeFile): [string, ComposeService][] {
  return Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
}

/**
 * Compose's interpolation (https://docs.docker.com/reference/compose-file/interpolation/):
 * `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`.
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const v = env[name];
      const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
      if (op?.endsWith('-')) return unset ? (arg ?? '') : v!;
      if (op?.endsWith('?')) {
        if (unset) throw new Error(`compose: ${name} is required: ${arg ?? ''}`);
        return v!;
      }
      return v ?? '';
    },
  );
}

/** A service's environment as its container sees it, interpolated from `hostEnv`. */
export function serviceEnvironment(service: ComposeService, hostEnv: Record<string, string | undefined>) {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), hostEnv)]),
  );
}

/** ENV variables the Dockerfile sets, per stage (`FROM … AS name`), stages inheriting their base. */
export function dockerfileEnv(path = 'Dockerfile'): Record<string, Record<string, string>> {
  // Continuation lines joined, comments dropped.
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Record<string, Record<string, string>> = {};
  let current: Record<string, string> = {};
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { ...(stages[from[1]] ?? {}) };
      if (from[2]) stages[from[2]] = current;
      continue;
    }
    const env = /^ENV\s+(.*)$/i.exec(line);
    if (env) {
      for (const [, k, v] of env[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
        current[k] = v.replace(/^"|"$/g, '');
      }
    }
  }
  return stages;
}
