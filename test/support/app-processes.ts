import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';

/**
 * Real `src/main.ts` (API) and `src/worker.ts` processes for multi-process tests and benches,
 * started the way an operator starts them (config from the environment only). Each resolves once
 * its JSON ready line is logged; `stop()` sends SIGTERM and SIGKILLs after a grace period, and
 * `stopAll()` does so for every process still alive, so an afterAll never leaves one behind.
 */
export type Log = Record<string, unknown>;

export type AppProcess = {
  role: 'api' | 'worker';
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` for an API process; '' for a worker. */
  origin: string;
  logs: Log[];
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crash, no cleanup of any kind. */
  kill(): Promise<void>;
};

const started = new Set<AppProcess>();

/** Environment every spawned process shares; `env` values win. The Jest worker's own is not inherited. */
function processEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return {
    ...base,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    RATE_LIMIT_ENABLED: 'false',
    SEED_ON_START: 'false',
    ...env,
  };
}

/** What to run: by default the TypeScript entry point under SWC, with processEnv's defaults. */
type SpawnSpec = { command: string; args: string[]; cwd?: string; env: NodeJS.ProcessEnv };

function sourceSpec(role: 'api' | 'worker', env: Record<string, string>): SpawnSpec {
  const entry = role === 'api' ? 'src/main.ts' : 'src/worker.ts';
  return {
    command: process.execPath,
    args: ['--import', '@swc-node/register/esm-register', entry],
    env: processEnv(env),
  };
}

function spawnApp(role: 'api' | 'worker', spec: SpawnSpec, timeoutMs = 90_000): Promise<AppProcess> {
  const entry = [spec.command, ...spec.args].join(' ');
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Log[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const proc: AppProcess = {
    role,
    child,
    origin: '',
    logs,
    exited,
    async stop(graceMs = 15_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  started.add(proc);
  void exited.then(() => started.delete(proc));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry}: no ready line in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited early with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entryLog: Log;
      try {
        entryLog = JSON.parse(line) as Log;
      } catch {
        return;
      }
      logs.push(entryLog);
      if (logs.length > 5000) logs.splice(0, 1000);
      const apiReady = role === 'api' && typeof entryLog.url === 'string' && typeof entryLog.startupMs === 'number';
      const workerReady = role === 'worker' && entryLog.role === 'worker' && entryLog.msg === 'worker ready';
      if (apiReady || workerReady) {
        clearTimeout(timer);
        if (apiReady) proc.origin = new URL(entryLog.url as string).origin.replace('localhost', '127.0.0.1');
        resolve(proc);
      }
    });
  });
}

/** `src/main.ts` with this environment (give it DATABASE_URL, REDIS_URL, prefixes, storage…). */
export const startApiProcess = (env: Record<string, string>) => spawnApp('api', sourceSpec('api', env));

/** `src/worker.ts` with this environment (needs DATABASE_URL and REDIS_URL). */
export const startWorkerProcess = (env: Record<string, string>) => spawnApp('worker', sourceSpec('worker', env));

/**
 * Any command that ends up running an API or a worker (the built `dist/` entry points, a compose
 * service's command line), exactly with `env`: none of processEnv's test defaults are added.
 */
export const startProcessAs = (role: 'api' | 'worker', spec: SpawnSpec, timeoutMs?: number) =>
  spawnApp(role, spec, timeoutMs);

/** Stops every process started here that is still running (SIGTERM, then SIGKILL). */
export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...started].map((p) => p.stop(graceMs)));
}

/** Deletes every Redis key under these prefixes (a test's queues); refuses an empty prefix. */
export async function deleteRedisKeys(redisUrl: string, prefixes: string[]): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  let deleted = 0;
  try {
    for (const prefix of prefixes) {
      if (!prefix.startsWith('test-') && !prefix.startsWith('bench-')) {
        throw new Error(`refusing to delete Redis keys under ${prefix}`);
      }
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) deleted += await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
