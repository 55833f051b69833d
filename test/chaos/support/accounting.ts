import pg from 'pg';
import type { LoadDriver } from './load-driver.js';
import { sleep } from './spare-port.js';
import { reportChaos } from './chaos-report.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export type Accounting = {
  /** Jobs createPrediction returned an id for. */
  accepted: number;
  /** Of those, the ones in a final state. */
  completed: number;
  /** Usage records of the predictions made since the fault's start (sync and async). */
  usageRecords: number;
  /** Predictions with more than one usage record. */
  billedTwice: number;
  byStatus: Record<string, number>;
  /** Accepted ids with no row, or not final. */
  lost: string[];
  notFinal: string[];
  /** ASYNC rows nobody was told about (a request that failed after its commit that no retry recovered). */
  orphans: string[];
  /** Of those, the ones not final. */
  orphansNotFinal: string[];
  /** SYNC rows SUCCEEDED (so billed) whose client got no answer (a cut connection, a timeout). */
  syncBilledUnanswered: string[];
  succeededWithoutUsage: string[];
  unbilledWithUsage: string[];
  /** Sync predictions that answered with outputs but have no SUCCEEDED row with one usage record. */
  syncUnrecorded: string[];
  /** models.prediction_count summed vs SUCCEEDED rows: a job run (and counted) twice shows here. */
  predictionCount: number;
  succeededRows: number;
  /** Every prediction's status in the database, by id. */
  statuses: Map<string, string>;
};

async function query<T>(databaseUrl: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Waits until no ASYNC prediction is QUEUED or RUNNING (or `timeoutMs` passes), then reads the
 * database, the record of truth, for the suite's accounting: every accepted job final exactly once,
 * one usage record per SUCCEEDED prediction, none for the others.
 */
export async function settleAndAccount(databaseUrl: string, load: LoadDriver, since: Date, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const open = await query<{ n: string }>(
      databaseUrl,
      `select count(*) as n from predictions where mode = 'ASYNC' and status in ('QUEUED', 'RUNNING')`,
    ).catch(() => [{ n: '-1' }]);
    if (Number(open[0]?.n) === 0 || Date.now() > end) break;
    await sleep(250);
  }
  const rows = await query<{ id: string; status: string; mode: string; usage: string }>(
    databaseUrl,
    `select p.id, p.status, p.mode, (select count(*) from usage_records u where u.prediction_id = p.id) as usage
     from predictions p where p.created_at >= '${since.toISOString()}'`,
  );
  // Over the whole database: each SUCCEEDED prediction bumped its model's counter exactly once.
  const [succeeded] = await query<{ n: string }>(
    databaseUrl,
    `select count(*) as n from predictions where status = 'SUCCEEDED'`,
  );
  const [counts] = await query<{ n: string }>(
    databaseUrl,
    'select coalesce(sum(prediction_count), 0) as n from models',
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const acc: Accounting = {
    accepted: load.accepted.size,
    completed: 0,
    usageRecords: 0,
    billedTwice: 0,
    byStatus: {},
    lost: [],
    notFinal: [],
    orphans: [],
    orphansNotFinal: [],
    syncBilledUnanswered: [],
    succeededWithoutUsage: [],
    unbilledWithUsage: [],
    syncUnrecorded: [],
    predictionCount: Number(counts?.n ?? 0),
    succeededRows: Number(succeeded?.n ?? 0),
    statuses: new Map(rows.map((r) => [r.id, r.status])),
  };
  for (const r of rows) {
    const usage = Number(r.usage);
    acc.usageRecords += usage;
    if (usage > 1) acc.billedTwice++;
    if (r.status === 'SUCCEEDED') {
      if (r.mode === 'SYNC' && !load.syncSucceeded.has(r.id)) acc.syncBilledUnanswered.push(r.id);
      if (usage !== 1) acc.succeededWithoutUsage.push(r.id);
    } else if (usage > 0) acc.unbilledWithUsage.push(r.id);
    if (r.mode === 'ASYNC' && !load.accepted.has(r.id)) {
      acc.orphans.push(r.id);
      if (!FINAL.has(r.status)) acc.orphansNotFinal.push(r.id);
    }
  }
  for (const id of load.accepted) {
    const r = byId.get(id);
    if (!r) acc.lost.push(id);
    else if (!FINAL.has(r.status)) acc.notFinal.push(id);
    else {
      acc.completed++;
      acc.byStatus[r.status] = (acc.byStatus[r.status] ?? 0) + 1;
    }
  }
  for (const id of load.syncSucceeded) {
    const r = byId.get(id);
    if (!r || r.status !== 'SUCCEEDED' || Number(r.usage) !== 1) acc.syncUnrecorded.push(id);
  }
  return acc;
}

/**
 * The books balance after a fault: every accepted job final exactly once, exactly one usage record
 * per SUCCEEDED prediction and none for the others, no sync answer without its record (nor a
 * record without an answer), and the models' counters equal to the SUCCEEDED rows (a job run and
 * counted twice would push them past).
 */
export function expectBooksBalance(acc: Accounting): void {
  expect(acc.accepted).toBeGreaterThan(0);
  expect({
    lost: acc.lost,
    notFinal: acc.notFinal,
    orphans: acc.orphans,
    syncBilledUnanswered: acc.syncBilledUnanswered,
    billedTwice: acc.billedTwice,
    succeededWithoutUsage: acc.succeededWithoutUsage,
    unbilledWithUsage: acc.unbilledWithUsage,
    syncUnrecorded: acc.syncUnrecorded,
  }).toEqual({
    lost: [],
    notFinal: [],
    orphans: [],
    syncBilledUnanswered: [],
    billedTwice: 0,
    succeededWithoutUsage: [],
    unbilledWithUsage: [],
    syncUnrecorded: [],
  });
  expect(acc.completed).toBe(acc.accepted);
  expect(acc.predictionCount).toBe(acc.succeededRows);
}

/**
 * Reports one fault's run to the chaos report (counts and accounting) and prints what it found,
 * with the slowest requests and a sample of each outcome, for reading a failure.
 */
export function reportFaultRun(
  suite: string,
  fault: string,
  run: { tried: number; outcomes: Record<string, number>; load: LoadDriver; acc: Accounting },
): void {
  const { tried, outcomes, load, acc } = run;
  reportChaos({
    suite,
    fault,
    tried,
    outcomes,
    accounting: {
      accepted: acc.accepted,
      completed: acc.completed,
      usageRecords: acc.usageRecords,
      billedTwice: acc.billedTwice,
    },
    notes: JSON.stringify({ byStatus: acc.byStatus, samples: Object.fromEntries(load.samples) }),
  });
  process.stdout.write(
    `[${suite}] ${fault}: ${JSON.stringify({ outcomes, acc: { ...acc, statuses: undefined } })}\n` +
      `  slowest (ms): ${JSON.stringify(Object.fromEntries(load.slowestMs))}\n` +
      `  samples: ${JSON.stringify(Object.fromEntries(load.samples))}\n`,
  );
}
