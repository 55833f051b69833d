// Runs once before the suite. Tells the reader which backing services the run talks to, so a
// run without DATABASE_URL / REDIS_URL says plainly that it used the embedded default.
export default function globalSetup(): void {
  const db = process.env.DATABASE_URL ? `PostgreSQL at ${new URL(process.env.DATABASE_URL).host}` : 'embedded PGlite';
  const redis = process.env.REDIS_URL
    ? `Redis at ${new URL(process.env.REDIS_URL).host}`
    : 'no Redis (in-process queue/pub-sub; Redis-backed suites are skipped)';
  process.stdout.write(`\n[test] database: ${db}; ${redis}\n`);
}
