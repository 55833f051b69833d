// A batch's expansion resumes where a crash left it: the rows of every committed chunk stay, the
// resume point says where to go on, and no line becomes two predictions; then the batch runs to
// the end, each row billed once. The server runs no jobs at first (RUN_JOBS=false), so the test
// drives the runner itself and sees every step.
import { BatchPrediction } from '../../src/entities/batch-prediction.entity.js';
import { Role } from '../../src/entities/enums.js';
import { CreateBatchPredictionDocument } from '../generated/graphql.js';
import { postMultipart } from '../publishing/multipart.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let modelId: string;
let headers: Record<string, string>;
const ROWS = 1200;

beforeAll(async () => {
  server = await startTestServer({ RUN_JOBS: 'false' });
  const f = new Factory(server.app);
  const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.0010000000' });
  await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
  modelId = model.id;
  headers = await authHeaders(server.app, await f.user());
}, 60_000);

afterAll(async () => server?.close());

const sql = <T>(query: string, params: unknown[] = []) => server.app.db.orm.em.fork().execute<T[]>(query, params);

it('makes only the rows a crashed expansion had not committed, then runs them all once', async () => {
  const lines = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({ inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [i, 0, 0, 0] }] }),
  );
  const res = await postMultipart(
    server.origin,
    CreateBatchPredictionDocument,
    { input: { modelId } },
    { bytes: Buffer.from(lines.join('\n')), filename: 'rows.jsonl' },
    headers,
  );
  expect(res.errors).toBeUndefined();
  const id = res.data!.createBatchPrediction.id;
  const runner = server.app.services.batchRunner;
  await runner.expand(id);
  const all = await sql<{ id: string; batch_row: number }>(
    'select id, batch_row from predictions where batch_id = ? order by batch_row',
    [id],
  );
  expect(all.map((r) => r.batch_row)).toEqual([...Array(ROWS).keys()]);

  // A crash after the first chunk's commit: rows 0…499 exist and the resume point says 500.
  await sql('delete from predictions where batch_id = ? and batch_row >= 500', [id]);
  await sql('update batch_predictions set expanded_rows = 500 where id = ?', [id]);
  const kept = new Map(all.slice(0, 500).map((r) => [r.batch_row, r.id]));

  await runner.expand(id);
  const after = await sql<{ id: string; batch_row: number; status: string; reserved: string | null }>(
    'select id, batch_row, status, reserved_amount::text as reserved from predictions where batch_id = ? order by batch_row',
    [id],
  );
  expect(after.map((r) => r.batch_row)).toEqual([...Array(ROWS).keys()]);
  // The first chunk's rows are the same predictions, not new ones.
  for (const r of after.slice(0, 500)) expect(r.id).toBe(kept.get(r.batch_row));
  expect(after.every((r) => r.status === 'QUEUED')).toBe(true);
  const batch = await server.app.db.orm.em.fork().findOneOrFail(BatchPrediction, { id });
  expect(batch.expandedRows).toBe(ROWS);

  // Expanding a fully expanded batch again changes nothing.
  await runner.expand(id);
  const again = await sql<{ n: number }>('select count(*)::int as n from predictions where batch_id = ?', [id]);
  expect(again[0].n).toBe(ROWS);

  // Now the jobs run: every row once, each billed once.
  server.app.startJobs({ force: true });
  const end = Date.now() + 60_000;
  for (;;) {
    const [b] = await sql<{ status: string; results_key: string | null }>(
      'select status, results_key from batch_predictions where id = ?',
      [id],
    );
    if (b.results_key) {
      expect(b.status).toBe('COMPLETED');
      break;
    }
    if (Date.now() > end) throw new Error('timed out waiting for the batch to complete');
    await new Promise((r) => setTimeout(r, 100));
  }
  const [billed] = await sql<{ n: number; usage: number }>(
    `select count(*) filter (where status = 'SUCCEEDED')::int as n,
       (select count(*)::int from usage_records u join predictions q on q.id = u.prediction_id where q.batch_id = ?) as usage
     from predictions where batch_id = ?`,
    [id, id],
  );
  expect(billed).toEqual({ n: ROWS, usage: ROWS });
}, 90_000);
