// Batch predictions from a file, end to end as an upload script runs them: the JSONL file sent as
// a GraphQL multipart request, every line checked before anything is queued or billed, the rows
// run by the server's own worker (in-process queue), progress followed over graphql-ws, the
// results downloaded over HTTP with the same credentials, each row metered exactly once, a cancel
// that stops what has not started (and bills none of it), the spending cap stopping a batch part
// way, and other users kept out.
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { addMoney } from '../../src/billing/money.js';
import { BatchPrediction } from '../../src/entities/batch-prediction.entity.js';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  BatchPredictionDocument,
  BatchPredictionUpdatedDocument,
  CancelBatchPredictionDocument,
  CreateBatchPredictionDocument,
  type BatchFieldsFragment,
} from '../generated/graphql.js';
import { postMultipart } from '../publishing/multipart.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';
import { waitFor } from '../support/processes.js';

let server: TestServer;
let f: Factory;
let consumer: User;
let modelId: string;
let headers: Record<string, string>;
let otherHeaders: Record<string, string>;
const clients: Client[] = [];

// The elementwise fixture: y = relu(2x + 1) on float32 [1, 4] (test/fixtures/models).
const row = (i: number) =>
  JSON.stringify({ inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [i, -i, i + 0.5, 0] }] });
const file = (lines: string[]) => ({ bytes: Buffer.from(lines.join('\n') + '\n'), filename: 'rows.jsonl' });
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i));

beforeAll(async () => {
  server = await startTestServer({ JOB_CONCURRENCY: '4' });
  f = new Factory(server.app);
  const publisher = await f.user({ role: Role.PUBLISHER });
  consumer = await f.user();
  const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
  modelId = model.id;
  headers = await authHeaders(server.app, consumer);
  otherHeaders = await authHeaders(server.app, await f.user());
}, 60_000);

afterAll(async () => {
  for (const c of clients) await Promise.resolve(c.dispose());
  await server?.close();
});

const create = (lines: string[], h = headers, input: Record<string, unknown> = {}) =>
  postMultipart(server.origin, CreateBatchPredictionDocument, { input: { modelId, ...input } }, file(lines), h);

const read = async (id: string, h = headers) =>
  (await server.gql(BatchPredictionDocument, { id }, h)).data?.batchPrediction;

const finished = (id: string) =>
  waitFor('the batch to end with its results', async () => {
    const b = await read(id);
    return b?.resultsUrl ? b : undefined;
  });

const download = (url: string, h = headers) => fetch(`${server.origin}${url}`, { headers: h });

const dbRows = (batchId: string) =>
  server.app.db.orm.em
    .fork()
    .execute<{ batch_row: number; status: string; cost: string | null; outputs: unknown }[]>(
      'select batch_row, status, cost::text as cost, outputs from predictions where batch_id = ? order by batch_row',
      [batchId],
    );

it('runs every line once, bills each row once, streams progress, and serves the results in file order', async () => {
  const res = await create(rows(40));
  expect(res.errors).toBeUndefined();
  const created = res.data!.createBatchPrediction;
  expect(created).toMatchObject({ status: 'QUEUED', totalRows: 40, modelId, resultsUrl: null });

  const client = createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: headers.authorization },
    retryAttempts: 0,
  });
  clients.push(client);
  const seen: BatchFieldsFragment[] = [];
  for await (const e of client.iterate({
    query: print(BatchPredictionUpdatedDocument),
    variables: { id: created.id },
  })) {
    seen.push((e.data as { batchPredictionUpdated: BatchFieldsFragment }).batchPredictionUpdated);
  }
  // The stream ended by itself, on the final state with its results.
  const last = seen[seen.length - 1];
  expect(last).toMatchObject({ status: 'COMPLETED', succeeded: 40, queued: 0, running: 0, failed: 0, skipped: 0 });
  expect(last.resultsUrl).toBe(`/batches/${created.id}/results.jsonl`);
  expect(last.cost).toEqual({ amount: '0.08', currency: 'USD' });
  // Progress only goes forward.
  for (let i = 1; i < seen.length; i++) expect(seen[i].succeeded).toBeGreaterThanOrEqual(seen[i - 1].succeeded);

  // Each row a prediction, each metered once at the batch's price.
  const db = await dbRows(created.id);
  expect(db.map((r) => r.batch_row)).toEqual([...Array(40).keys()]);
  expect(db.every((r) => r.status === 'SUCCEEDED' && r.cost === '0.0020000000')).toBe(true);
  const usage = await server.app.db.orm.em
    .fork()
    .execute<{ n: number }[]>(
      'select count(*)::int as n from usage_records where user_id = ? and prediction_id in (select id from predictions where batch_id = ?)',
      [consumer.id, created.id],
    );
  expect(usage[0].n).toBe(40);

  const got = await download(last.resultsUrl!);
  expect(got.status).toBe(200);
  expect(got.headers.get('content-type')).toContain('application/x-ndjson');
  const lines = (await got.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { row: number; status: string; outputs: { name: string; data: number[] }[] });
  expect(lines.map((l) => l.row)).toEqual([...Array(40).keys()]);
  // Row i's input is [i, -i, i + 0.5, 0]: row 7 gives relu(2x + 1) = [15, 0, 16, 1].
  expect(lines[7]).toMatchObject({ status: 'SUCCEEDED', outputs: [{ name: 'y', data: [15, 0, 16, 1] }] });

  // Someone else sees neither the batch nor its results.
  expect(
    (await server.gql(BatchPredictionDocument, { id: created.id }, otherHeaders)).errors?.[0].extensions?.code,
  ).toBe('NOT_FOUND');
  const foreign = await download(last.resultsUrl!, otherHeaders);
  expect(foreign.status).toBe(404);
  expect(await foreign.json()).toMatchObject({ code: 'NOT_FOUND', requestId: expect.any(String) });
  expect((await download(last.resultsUrl!, {})).status).toBe(401);
}, 90_000);

it('refuses a file with a bad line, naming it, before anything is stored, queued or billed', async () => {
  const before = await server.app.db.orm.em.fork().count(BatchPrediction, { user: consumer.id });
  const cases: [string[], RegExp][] = [
    [[row(0), row(1), '{"inputs": [', row(3)], /^line 3: not valid JSON/],
    [
      [row(0), '', JSON.stringify({ inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3], data: [1, 2, 3] }] })],
      /^line 3: /,
    ],
    [[row(0), JSON.stringify({ input: [] })], /^line 2: expected an object/],
    [['', '  '], /no rows/],
  ];
  for (const [lines, message] of cases) {
    const res = await create(lines);
    const error = res.errors?.[0];
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toMatch(message);
    expect(error?.extensions?.requestId).toEqual(expect.any(String));
  }
  expect(await server.app.db.orm.em.fork().count(BatchPrediction, { user: consumer.id })).toBe(before);
});

it('cancels what has not started: those rows are CANCELED and never billed, and the results list them', async () => {
  const res = await create(rows(3000));
  const id = res.data!.createBatchPrediction.id;
  const canceled = (await server.gql(CancelBatchPredictionDocument, { id }, headers)).data!.cancelBatchPrediction;
  expect(canceled.status).toBe('CANCELED');
  const done = await finished(id);
  expect(done.status).toBe('CANCELED');
  // Every row is accounted for once: ran, canceled, or never made.
  expect(done.succeeded + done.failed + done.canceled + done.skipped).toBe(3000);
  expect(done.skipped + done.canceled).toBeGreaterThan(0);
  const db = await dbRows(id);
  expect(db.filter((r) => r.status === 'CANCELED').every((r) => r.cost === null)).toBe(true);
  const billed = db.filter((r) => r.cost !== null);
  expect(billed.every((r) => r.status === 'SUCCEEDED')).toBe(true);
  expect(done.cost.amount).toBe(addMoney('0', ...billed.map((r) => r.cost!)));
  const lines = (await (await download(done.resultsUrl!)).text()).trim().split('\n');
  expect(lines).toHaveLength(3000);
  // A final batch comes back unchanged.
  expect((await server.gql(CancelBatchPredictionDocument, { id }, headers)).data!.cancelBatchPrediction.status).toBe(
    'CANCELED',
  );
}, 90_000);

it('stops making rows at the spending cap: the rows before it run, the rest are SKIPPED', async () => {
  const capped = await f.user();
  const h = await authHeaders(server.app, capped);
  // 0.01 at 0.002 a row: five rows.
  const cap = await server.gql('mutation { setSpendingCap(amount: "0.01") { id } }', {}, h);
  expect(cap.errors).toBeUndefined();
  const id = (await create(rows(12), h)).data!.createBatchPrediction.id;
  const done = await waitFor('the capped batch to end', async () => {
    const b = await read(id, h);
    return b?.resultsUrl ? b : undefined;
  });
  expect(done).toMatchObject({ status: 'COMPLETED', succeeded: 5, skipped: 7, errorCode: 'QUOTA_EXCEEDED' });
  expect(done.cost.amount).toBe('0.01');
  const lines = (await (await download(done.resultsUrl!, h)).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { row: number; status: string; error?: { code: string } });
  expect(lines.map((l) => l.status)).toEqual([...Array(5).fill('SUCCEEDED'), ...Array(7).fill('SKIPPED')]);
  expect(lines[5].error?.code).toBe('QUOTA_EXCEEDED');
}, 60_000);

it('answers the results route with 409 before the batch ends and 404 for an unknown id', async () => {
  const id = (await create(rows(2000))).data!.createBatchPrediction.id;
  const early = await download(`/batches/${id}/results.jsonl`);
  // The batch may have raced to the end on a fast machine; otherwise it is not ready yet.
  if (early.status !== 200) {
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({ code: 'CONFLICT' });
  }
  await server.gql(CancelBatchPredictionDocument, { id }, headers);
  expect((await download('/batches/00000000-0000-4000-8000-000000000000/results.jsonl')).status).toBe(404);
  expect((await download('/batches/not-a-uuid/results.jsonl')).status).toBe(404);
  await finished(id);
}, 60_000);
