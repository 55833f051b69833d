import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type S3Server = {
  endpoint: string;
  bucket: string;
  /** The variables that point a process at this server (MODEL_STORAGE=s3 and the S3_* ones). */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
};

/** Starts s3rver (test/support/s3rver-main.mjs) with one empty bucket; `close` stops and deletes it. */
export async function startS3Server(bucket = 'mm-test'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'mm-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [new URL('./s3rver-main.mjs', import.meta.url).pathname, dir, bucket],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: (extra = {}) => ({
      MODEL_STORAGE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      // s3rver's fixed credentials; it checks every request's SigV4 signature against them.
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      ...extra,
    }),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
