import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { countStatement } from './sql-counter.js';

/**
 * ORMs (by their Configuration, which every fork shares) whose pool connections all share ONE
 * server session: PGlite behind pglite-socket. There, the extended protocol is unsafe: a named
 * statement outlives the connection that prepared it (the next connection's Parse fails with 42P05
 * "already exists", e.g. after the pool replaced an idle connection), and even unnamed ones break
 * under concurrency, because pglite-socket interleaves the Parse/Bind/Execute messages of
 * different connections (seen: "bind message supplies 3 parameters, but prepared statement \"\"
 * requires 5", "portal \"\" does not exist"). Those ORMs run the statement the way MikroORM runs
 * all of its own: parameters inlined, one simple-protocol message, which pglite-socket executes
 * whole. The single-threaded embedded engine plans each call; PostgreSQL keeps its plan cache.
 */
const sharedSessionConfigs = new WeakSet<object>();

/** Marks `orm` as one whose connections share one session (src/db/database.ts, embedded). */
export function markSharedSession(orm: MikroORM): void {
  sharedSessionConfigs.add(orm.config);
}

/**
 * A statement PostgreSQL plans once per connection and then executes from its plan cache: a
 * named prepared statement of the `pg` driver (https://node-postgres.com/features/queries#prepared-statements),
 * sent on the pool MikroORM itself uses (`getNativeClient()`).
 *
 * Why not `em.execute`: MikroORM inlines parameters into the SQL text, so every call is a new
 * text that PostgreSQL parses and plans again. For the group-commit statement of `predict`
 * (record-succeeded.sql.ts: seven CTEs and as many foreign keys) planning is close to half of
 * the statement's time (EXPLAIN ANALYZE shows it) — paid once per prediction by a lone client.
 * After five executions PostgreSQL may switch a prepared statement to its generic plan
 * (plan_cache_mode = auto), which skips planning altogether; every parameter here is a JSON
 * document or a key, for which the generic plan is the custom one.
 *
 * Prepared statements live on a server session: a new connection (after a restart, say) simply
 * prepares again. That holds for PostgreSQL, where a connection is a session; on the embedded
 * default it does not (`markSharedSession` above). Behind a transaction-pooling PgBouncer older than 1.21 they would not work;
 * this project talks to PostgreSQL directly (or through session pooling).
 *
 * The text is written with `?` placeholders like the rest of the code base and numbered `$1…$n`
 * once, here: it must not contain a literal `?` (the jsonb `?` operators).
 */
export class PreparedStatement<Row> {
  private readonly text: string;

  constructor(
    private readonly name: string,
    private readonly sql: string,
  ) {
    let n = 0;
    this.text = sql.replace(/\?/g, () => `$${++n}`);
  }

  async run(em: EntityManager, values: readonly unknown[]): Promise<Row[]> {
    // Outside any transaction of `em`, like the pool query below (counted by the ORM's onQuery).
    if (sharedSessionConfigs.has(em.config)) return em.getConnection().execute<Row[]>(this.sql, [...values]);
    // Asked every time, not kept: the ORM may build a new pool when it reconnects.
    const pool = await em.getConnection().getNativeClient();
    // Counted like the ORM's own statements (x-sql-statements, the SQL-count tests and metrics).
    countStatement(this.text);
    const result = await pool.query({ name: this.name, text: this.text, values: values as unknown[] });
    return result.rows as Row[];
  }
}
