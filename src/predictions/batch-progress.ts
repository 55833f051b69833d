import type { EntityManager } from '@mikro-orm/postgresql';
import { addMoney, formatMoney } from '../billing/money.js';
import type { BatchPrediction } from '../entities/batch-prediction.entity.js';
import { BatchPredictionStatus, FINAL_BATCH_STATUSES, PredictionStatus } from '../entities/enums.js';

/** What the queue carries for a batch: its id; the row and the stored file hold the rest. */
export type BatchJob = { batchId: string };

/** A batch as clients see it: its row plus the counts read from its predictions. */
export type BatchView = {
  id: string;
  userId: string;
  modelId: string;
  versionId: string;
  status: BatchPredictionStatus;
  totalRows: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
  /** Rows that never became predictions: the spending cap stopped the batch first (errorCode). */
  skipped: number;
  /** Sum of the rows' costs so far (exact decimal string). */
  cost: string;
  currency: string;
  /** Seconds until every row ends at the pace so far; null until a row ended, and once final. */
  etaSeconds: number | null;
  resultsReady: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
};

export const isBatchFinal = (s: BatchPredictionStatus) => FINAL_BATCH_STATUSES.includes(s);

/** The row's status as the enum (the entity's enum property types as its string values). */
export const batchStatusOf = (b: Pick<BatchPrediction, 'status'>) => b.status as BatchPredictionStatus;

/** Expansion is over: every line is a prediction, or the cap stopped it (and nothing more comes). */
export const expansionDone = (b: Pick<BatchPrediction, 'expandedRows' | 'totalRows' | 'errorCode' | 'status'>) =>
  b.expandedRows >= b.totalRows || b.errorCode != null || batchStatusOf(b) === BatchPredictionStatus.CANCELED;

type Counts = Record<'queued' | 'running' | 'succeeded' | 'failed' | 'canceled', number> & { cost: string };

/** One grouped read over the batch's rows (the (batch_id, batch_row) unique index serves it). */
export async function countRows(em: EntityManager, batchId: string): Promise<Counts> {
  const rows = await em.execute<{ status: string; n: number; cost: string }[]>(
    `select status, count(*)::int as n, coalesce(sum(cost), 0)::text as cost
     from predictions where batch_id = ? group by status`,
    [batchId],
  );
  const counts: Counts = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0, cost: '0' };
  for (const r of rows) {
    const key = r.status.toLowerCase() as keyof Omit<Counts, 'cost'>;
    if (key in counts) counts[key] = r.n;
  }
  // Exact decimals (numeric strings), never floats.
  counts.cost = formatMoney(addMoney('0', ...rows.map((r) => r.cost)));
  return counts;
}

export function viewOf(b: BatchPrediction, c: Counts, now = Date.now()): BatchView {
  const status = batchStatusOf(b);
  const expanded = expansionDone(b) ? b.expandedRows : b.totalRows;
  const skipped = b.totalRows - expanded;
  const done = c.succeeded + c.failed + c.canceled;
  const remaining = b.totalRows - skipped - done;
  let etaSeconds: number | null = null;
  if (!isBatchFinal(status) && b.startedAt && done > 0 && remaining > 0) {
    const elapsed = (now - b.startedAt.getTime()) / 1000;
    etaSeconds = Math.ceil((elapsed / done) * remaining);
  }
  return {
    id: b.id,
    userId: b.user.id,
    modelId: b.model.id,
    versionId: b.version.id,
    status,
    totalRows: b.totalRows,
    ...c,
    // Rows not yet made into predictions are waiting like queued ones.
    queued: c.queued + (expansionDone(b) ? 0 : b.totalRows - b.expandedRows),
    skipped,
    currency: b.currency,
    etaSeconds,
    resultsReady: b.resultsKey != null,
    errorCode: b.errorCode ?? null,
    errorMessage: b.errorMessage ?? null,
    createdAt: b.createdAt,
    startedAt: b.startedAt ?? null,
    completedAt: b.completedAt ?? null,
  };
}

/** The row's queued predictions' ids in row order, from `fromRow` on, `limit` at a time. */
export async function queuedRowIds(em: EntityManager, batchId: string, fromRow: number, limit: number) {
  return em.execute<{ id: string; batch_row: number }[]>(
    `select id, batch_row from predictions where batch_id = ? and status = ? and batch_row >= ?
     order by batch_row limit ?`,
    [batchId, PredictionStatus.QUEUED, fromRow, limit],
  );
}
