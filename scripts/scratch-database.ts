// A throw-away database for scripts that must compare entities with migrations: a fresh database
// on the PostgreSQL at DATABASE_URL when set, else an in-memory PGlite.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';

export async function withScratchDatabase<T>(fn: (clientUrl: string) => Promise<T>): Promise<T> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const embedded = await startEmbeddedPostgres('memory://scratch');
    try {
      return await fn(embedded.clientUrl);
    } finally {
      await embedded.stop();
    }
  }
  const name = `scratch_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    try {
      return await fn(url.toString());
    } finally {
      await admin.query(`drop database if exists "${name}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}
