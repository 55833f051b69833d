import type { EntityManager } from '@mikro-orm/postgresql';
import { countStatement } from './sql-counter.js';

/**
 * A statement PostgreSQL plans once per connection and then executes from its plan cache: a
 * named prepared statement of the `pg` driver (https://node-postgres.com/features/queries#prepared-statements),
 * sent on the pool MikroORM itself uses (`getNativeClient()`).
 *
 * Why not `em.execute`: MikroORM inlines parameters into the SQL text, so every call is a new
 * text that PostgreSQL parses and plans again. For the group-commit statement of `predict`
 * (record-succeeded.sql.ts: seven CTEs and as many foreign keys) planning took 0.86 ms of its
 * 1.95 ms (EXPLAIN ANALYZE, 2026-11-24, this machine) — paid once per prediction by a lone client.
 * After five executions PostgreSQL may switch a prepared statement to its generic plan
 * (plan_cache_mode = auto), which skips planning altogether; every parameter here is a JSON
 * document or a key, for which the generic plan is the custom one.
 *
 * Prepared statements live on a server connection: a new connection (after a restart, say) simply
 * prepares again. Behind a transaction-pooling PgBouncer older than 1.21 they would not work;
 * this project talks to PostgreSQL directly (or through session pooling).
 *
 * The text is written with `?` placeholders like the rest of the code base and numbered `$1…$n`
 * once, here: it must not contain a literal `?` (the jsonb `?` operators).
 */
export class PreparedStatement<Row> {
  private readonly text: string;

  constructor(
    private readonly name: string,
    sql: string,
  ) {
    let n = 0;
    this.text = sql.replace(/\?/g, () => `$${++n}`);
  }

  async run(em: EntityManager, values: readonly unknown[]): Promise<Row[]> {
    // Asked every time, not kept: the ORM may build a new pool when it reconnects.
    const pool = await em.getConnection().getNativeClient();
    // Counted like the ORM's own statements (x-sql-statements, the SQL-count tests and metrics).
    countStatement(this.text);
    const result = await pool.query({ name: this.name, text: this.text, values: values as unknown[] });
    return result.rows as Row[];
  }
}
