import type { EntityManager } from '@mikro-orm/postgresql';
import type { BatchPrediction } from '../entities/batch-prediction.entity.js';

const PAGE = 1000;

/**
 * The results file of an ended batch, as JSONL in row order, one line per line of the input:
 * `{"row":0,"id":"…","status":"SUCCEEDED","outputs":[…]}`, or with `"error":{"code","message"}`
 * for a FAILED or CANCELED row, or `"status":"SKIPPED"` for a row the batch stopped before
 * making (the spending cap). Read a page at a time, so a large batch is never held in memory.
 */
export async function* batchResultLines(em: EntityManager, batch: BatchPrediction): AsyncGenerator<string> {
  let from = 0;
  for (;;) {
    const rows = await em.execute<
      {
        id: string;
        batch_row: number;
        status: string;
        outputs: unknown;
        error_code: string | null;
        error_message: string | null;
      }[]
    >(
      `select id, batch_row, status, outputs, error_code, error_message from predictions
       where batch_id = ? and batch_row >= ? order by batch_row limit ?`,
      [batch.id, from, PAGE],
    );
    for (const r of rows) {
      const line: Record<string, unknown> = { row: r.batch_row, id: r.id, status: r.status };
      if (r.status === 'SUCCEEDED') line.outputs = r.outputs;
      else line.error = { code: r.error_code, message: r.error_message };
      yield `${JSON.stringify(line)}\n`;
    }
    if (rows.length < PAGE) break;
    from = rows[rows.length - 1].batch_row + 1;
  }
  for (let row = batch.expandedRows; row < batch.totalRows; row++) {
    yield `${JSON.stringify({ row, status: 'SKIPPED', error: { code: batch.errorCode, message: batch.errorMessage } })}\n`;
  }
}
