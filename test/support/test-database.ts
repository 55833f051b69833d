import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Each test file gets its own database (Vendure's e2e harness does the same): a fresh database
 * on the PostgreSQL at DATABASE_URL, dropped afterwards; without DATABASE_URL an in-memory PGlite.
 * Refuses to run outside NODE_ENV=test, since it creates and drops databases.
 */
export async function createTestDatabase(): Promise<{ databaseUrl?: string; dataDir: string; drop(): Promise<void> }> {
  if (process.env.NODE_ENV !== 'test') throw new Error('test databases are only made with NODE_ENV=test');
  const base = process.env.DATABASE_URL;
  if (!base) return { dataDir: `memory://${randomUUID()}`, drop: async () => {} };
  const name = `mm_test_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir: `memory://${name}`,
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
