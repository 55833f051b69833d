import type { EntityManager } from '@mikro-orm/postgresql';
import { PredictionStatus } from '../entities/enums.js';
import type { Logger } from '../shared/logger.js';

/** Rows per statement: a sweep after a long pause never holds one huge update. */
const BATCH = 1000;
/** What removing a prediction's data sets (parameters: data_removed_at, updated_at). */
const CLEAR = 'outputs = null, inputs = null, data_removed_at = ?, updated_at = ?';

/** Removes one prediction's tensors now (a no-op when they are already gone). */
export async function removePredictionData(em: EntityManager, id: string, now = new Date()): Promise<void> {
  await em.execute(`update predictions set ${CLEAR} where id = ? and data_removed_at is null`, [now, now, id]);
}

/**
 * Retention of prediction data (PREDICTION_DATA_RETENTION_HOURS): the tensors of predictions
 * that ended longer ago than that are deleted, and `dataRemovedAt` says when; the record — who,
 * what, when, status, cost — and its usage record stay, so bills and analytics are unchanged.
 * Replicate keeps API prediction data for an hour; the default here is 30 days.
 */
export class PredictionRetention {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly logger: Pick<Logger, 'info'>,
  ) {}

  /**
   * Removes what is past retention — the deployment's, or a shorter one a job carries (its
   * request's or its model's: `data_retention_seconds`) — in batches; returns how many
   * predictions it emptied.
   */
  async sweep(retentionMs: number, now = new Date()): Promise<number> {
    // 0: kept until deleted, unless a job asked for less.
    const cutoff = new Date(retentionMs > 0 ? now.getTime() - retentionMs : 0);
    let removed = 0;
    for (;;) {
      const rows = await this.fork().execute<{ id: string }[]>(
        `update predictions set ${CLEAR}
         where id in (
           select id from predictions
           where data_removed_at is null and status in (?, ?, ?)
             and (outputs is not null or inputs is not null)
             and (completed_at < ?
               or (data_retention_seconds is not null
                   and completed_at < ?::timestamptz - make_interval(secs => data_retention_seconds)))
           limit ?)
         returning id`,
        [now, now, PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED, cutoff, now, BATCH],
      );
      removed += rows.length;
      if (rows.length < BATCH) break;
    }
    if (removed) this.logger.info({ removed, cutoff: cutoff.toISOString() }, 'prediction data past retention removed');
    return removed;
  }
}
