import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sparePort, until } from './spare-port.js';

/**
 * A redis-server of the test's own on a spare port (never the machine's 6379, which other tests
 * use), that the test may stop and start again on the same port. `persistent: false` (the
 * default) keeps nothing across a restart: every queued BullMQ job is lost, which is what the
 * dependency-fault suite wants to prove the system survives (the database row is the record of
 * truth; the sweeper re-enqueues QUEUED rows the queue no longer holds). `persistent: true` runs
 * it as production should (append-only file, fsync on every write) in a temporary directory.
 */
export type RedisInstance = {
  port: number;
  url: string;
  /** Whether a process is running now. */
  readonly running: boolean;
  /** SIGTERM (a clean shutdown; with persistence off, it keeps nothing), resolves once gone. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
};

export async function startRedis(options: { persistent?: boolean } = {}): Promise<RedisInstance> {
  const port = await sparePort();
  const dir = mkdtempSync(join(tmpdir(), 'chaos-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const args = () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];

  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  const instance: RedisInstance = {
    port,
    url,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (instance.running) return;
      const c = spawn('redis-server', args(), { stdio: 'ignore' });
      child = c;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      await until(ping, `redis-server on port ${port}`, 15_000);
    },
    async stop() {
      if (!instance.running) return;
      child!.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (!instance.running) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async dispose() {
      await instance.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await instance.start();
  } catch (err) {
    await instance.dispose();
    throw err;
  }
  return instance;
}
