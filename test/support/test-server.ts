import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { createTestDatabase } from './test-database.js';

export type GraphQLResponse<T> = {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
};

export type TestServer = {
  app: App;
  url: string;
  origin: string;
  /** POSTs an operation; returns the body, the status and how many SQL statements it took. */
  gql<TData, TVars extends Record<string, unknown> = Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVars> | DocumentNode | string,
    variables?: TVars,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<TData> & { status: number; sqlStatements: number }>;
  close(): Promise<void>;
};

/** A real server on a random loopback port, over this test file's own database. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<TestServer> {
  const db = await createTestDatabase();
  const storage = mkdtempSync(join(tmpdir(), 'mm-models-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: db.dataDir,
    MODEL_STORAGE_DIR: storage,
    MIGRATE_ON_START: 'true',
    SEED_ON_START: 'false',
    // Every test client comes from 127.0.0.1: suites that test rate limits turn them back on.
    RATE_LIMIT_ENABLED: 'false',
    // Suites upload versions back to back from one publisher; the bound's own test sets it low.
    INFERENCE_VALIDATIONS_PER_USER: '1000',
    // Worker processes only for the test files that predict; one is enough for them.
    INFERENCE_START: 'lazy',
    INFERENCE_WORKERS: '1',
    // The catalog response cache would let a read skip execution (and its SQL): suites that
    // count statements or write then read must see real execution. Its own tests turn it on.
    CATALOG_CACHE_TTL_MS: '0',
    // Billing suites close the months they seed themselves; the schedule has its own test.
    BILLING_AUTO_CLOSE: 'false',
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    ...env,
  });
  const app = await createApp(config, { logger: options.logger ?? createLogger(config.logLevel) });
  // Queued predictions run in the test server's own process (in-process queue, RUN_JOBS default).
  app.startJobs();
  let running: RunningServer;
  try {
    running = await startServer(app, { port: 0, host: '127.0.0.1' });
  } catch (err) {
    await app.close();
    throw err;
  }
  const origin = `http://127.0.0.1:${running.port}`;
  return {
    app,
    url: running.url,
    origin,
    async gql(document, variables, headers = {}) {
      const query = typeof document === 'string' ? document : print(document);
      const res = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GraphQLResponse<never>;
      return { ...body, status: res.status, sqlStatements: Number(res.headers.get('x-sql-statements') ?? NaN) };
    },
    async close() {
      await running.close();
      await app.close();
      await db.drop();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
