import type { EntityManager } from '@mikro-orm/postgresql';
import type { Metering, RecordedCost, SucceededRun } from '../billing/metering.types.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';

type Waiter = {
  em: EntityManager;
  run: SucceededRun;
  resolve: (row: RecordedCost) => void;
  reject: (err: unknown) => void;
};

/** PostgreSQL's deadlock_detected and serialization_failure: the statement did nothing; run it again. */
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);

export class PredictionNotRecordedError extends Error {
  constructor(readonly predictionId: string) {
    super(`prediction ${predictionId} was not recorded: its model no longer exists`);
  }
}

/**
 * Group commit for synchronous predictions. Each succeeded run waits for the statement that
 * records it (Metering.recordSucceeded: one statement, its own commit), and every run that
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
 * model hard-deleted meanwhile) fails alone; when the database is down, every run fails at once
 * with the group's error (SERVICE_UNAVAILABLE, retryable) — nothing is returned to a caller whose
 * prediction was not recorded.
 */
export class PredictionRecorder {
  private pending: Waiter[] = [];
  private flushing = false;

  constructor(
    private readonly metering: Pick<Metering, 'recordSucceeded'>,
    private readonly maxGroup = 256,
  ) {}

  /** Resolves with the recorded prediction row once it is committed. */
  record(em: EntityManager, run: SucceededRun): Promise<RecordedCost> {
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

  private async flush(group: Waiter[]): Promise<void> {
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

  private async write(group: Waiter[]): Promise<RecordedCost[]> {
    const runs = group.map((w) => w.run);
    const em = group[0].em;
    try {
      return await this.metering.recordSucceeded(em, runs);
    } catch (err) {
      if (!RETRYABLE_SQLSTATES.has((err as { code?: string }).code ?? '')) throw err;
      return this.metering.recordSucceeded(em, runs);
    }
  }

  private settle(group: Waiter[], rows: RecordedCost[]): void {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const w of group) {
      const row = byId.get(w.run.id);
      if (row) w.resolve(row);
      else w.reject(new PredictionNotRecordedError(w.run.id));
    }
  }
}
