import { spawn } from 'node:child_process';
import { join } from 'node:path';

export type LoadResult = { rps: number; p50Ms: number; p99Ms: number; ok: number; failed: number };

export type LoadOptions = {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
};

const GENERATOR = join(import.meta.dirname, 'load-generator.mjs');

/**
 * A bounded load run against a loopback URL: `connections` autocannon clients in a closed loop
 * for `seconds`, POSTing the same body, from a child process (load-generator.mjs). In the bench's
 * own process the generator competed with the server for one event loop: a bare Apollo server
 * scored 1,787 req/s that way and 4,712 req/s loaded from another process. Loopback only (the
 * workplace forbids other targets).
 */
export function load(options: LoadOptions): Promise<LoadResult> {
  const host = new URL(options.url).hostname;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    return Promise.reject(new Error(`load target must be loopback: ${host}`));
  }
  return runChild<LoadResult>(GENERATOR, options);
}

const CLIENT = join(import.meta.dirname, 'sequential-client.mjs');

/**
 * One client's latencies (ms) for `n` requests in a row, after `warmup` unmeasured ones, measured
 * from a child process (sequential-client.mjs), as a client on another machine would see them.
 */
export function timeRequests(options: {
  url: string;
  body: string;
  headers: Record<string, string>;
  n: number;
  warmup: number;
}): Promise<number[]> {
  return runChild<number[]>(CLIENT, options);
}

function runChild<T>(script: string, options: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${err.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        reject(new Error(`${script} printed no result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

/** Median of a sample (the middle of repeated, alternating rounds). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
