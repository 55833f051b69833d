import type { EntityManager } from '@mikro-orm/postgresql';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';

type Waiter<Run, Row> = {
  em: EntityManager;
  run: Run;
  resolve: (row: Row) => void;
  reject: (err: unknown) => void;
};

/**
 * Writes a group of runs in one statement (its own commit) and returns a row per run it
 * recorded; a run left out was not recorded (see PredictionNotRecordedError).
 */
export type GroupWriter<Run, Row> = (em: EntityManager, runs: readonly Run[]) => Promise<Row[]>;

/** PostgreSQL's deadlock_detected and serialization_failure: the statement did nothing; run it again. */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);

export class PredictionNotRecordedError extends Error {
  constructor(readonly predictionId: string) {
    super(`prediction ${predictionId} was not recorded (its model is gone, or it is no longer running)`);
  }
}

/**
 * Group commit for predictions that succeeded. Each run waits for the statement that records it
 * (Metering.recordSucceeded for synchronous ones, Metering.completeSucceeded for queued ones: one
 * statement, its own commit), and every run that
 * finishes while one statement is in flight goes into the next one. A lone request pays one
 * round trip, exactly as a transaction of its own would; 64 concurrent ones share a handful of
 * statements and commits instead of queueing one by one on their counter row's lock — the same
 * idea as PostgreSQL's own group commit of WAL flushes (commit_delay), one level up, and with no
 * added delay: a group is cut when the previous statement returns, never by a timer.
 *
 * One statement at a time per process: two concurrent groups touching the same counter and
 * model rows in different orders could deadlock each other. Across processes a deadlock is still
 * possible; PostgreSQL aborts one statement (nothing written) and it is run again.
 *
 * A group that fails is retried one run per statement, so a run that cannot be recorded (its
 * model hard-deleted meanwhile, a job canceled while it ran) fails alone; when the database is down, every run fails at once
 * with the group's error (SERVICE_UNAVAILABLE, retryable) — nothing is returned to a caller whose
 * prediction was not recorded.
 */
export class PredictionRecorder<Run extends { id: string }, Row extends { id: string }> {
  private pending: Waiter<Run, Row>[] = [];
  private flushing = false;

  constructor(
    private readonly writeGroup: GroupWriter<Run, Row>,
    private readonly maxGroup = 256,
  ) {}

  /** Resolves with the recorded prediction row once it is committed. */
  record(em: EntityManager, run: Run): Promise<Row> {
    return new Promise((resolve, reject) => {
      this.pending.push({ em, run, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const group = this.pending.splice(0, this.maxGroup);
    void this.flush(group).finally(() => {
      this.flushing = false;
      this.kick();
    });
  }

  private async flush(group: Waiter<Run, Row>[]): Promise<void> {
    try {
      this.settle(group, await this.write(group));
    } catch (err) {
      // The database is down, or the group was one run: every run fails alike, no point asking again.
      if (group.length === 1 || isDependencyUnavailable(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      // One bad run must not fail the others: record each alone.
      for (const w of group) {
        try {
          this.settle([w], await this.write([w]));
        } catch (e) {
          w.reject(e);
        }
      }
    }
  }

  private async write(group: Waiter<Run, Row>[]): Promise<Row[]> {
    const runs = group.map((w) => w.run);
    const em = group[0].em;
    try {
      return await this.writeGroup(em, runs);
    } catch (err) {
      if (!RETRYABLE_SQLSTATES.has((err as { code?: string }).code ?? '')) throw err;
      return this.writeGroup(em, runs);
    }
  }

  private settle(group: Waiter<Run, Row>[], rows: Row[]): void {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const w of group) {
      const row = byId.get(w.run.id);
      if (row) w.resolve(row);
      else w.reject(new PredictionNotRecordedError(w.run.id));
    }
  }
}
