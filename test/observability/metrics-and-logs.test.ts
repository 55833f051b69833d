import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Role } from '../../src/entities/enums.js';
import { CreatePredictionDocument, PredictDocument, PredictionJobDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * What an operator sees: `/metrics` in Prometheus text with per-operation durations, SQL counts
 * and error codes that move with traffic, and one well-formed JSON log line per operation that
 * carries the request id and operation name but never the variables.
 */
let server: TestServer;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  server = await startTestServer({}, { logger: pino({ level: 'info' }, sink) });
  const f = new Factory(server.app);
  const owner = await f.user();
  await f.model(owner, { name: 'Metrics Model' });
});
afterAll(() => server.close());

async function metricsText(): Promise<string> {
  const res = await fetch(`${server.origin}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one series line, e.g. `graphql_operation_duration_seconds_count{...} 3`. */
function seriesValue(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

it('counts operations, SQL statements and error codes per operation name', async () => {
  const before = await metricsText();
  const count = (t: string) =>
    seriesValue(t, 'graphql_operation_duration_seconds_count', { operation: 'MetricsCatalog', type: 'query' });
  for (let i = 0; i < 3; i++) {
    const r = await server.gql('query MetricsCatalog { models(first: 5) { totalCount edges { node { name } } } }');
    expect(r.errors).toBeUndefined();
  }
  const bad = await server.gql('query MetricsBad { models(first: 5, after: "not-a-cursor") { totalCount } }');
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

  const after = await metricsText();
  expect(count(after) - count(before)).toBe(3);
  expect(seriesValue(after, 'graphql_sql_statements_count', { operation: 'MetricsCatalog' })).toBeGreaterThanOrEqual(3);
  expect(seriesValue(after, 'graphql_errors_total', { code: 'BAD_USER_INPUT', operation: 'MetricsBad' })).toBe(1);
  expect(
    seriesValue(after, 'http_request_duration_seconds_count', { route: '/graphql', status: '200' }),
  ).toBeGreaterThanOrEqual(4);
  expect(after).toContain('process_resident_memory_bytes');
  expect(after).toContain('websocket_connections_open');
});

it('logs one JSON line per operation with request id, name, duration and no variables', async () => {
  const requestId = 'req-log-test-1';
  await fetch(`${server.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({
      query: 'query LoggedOp($first: Int!) { models(first: $first) { totalCount } }',
      variables: { first: 2, secretish: 'do-not-log-me' },
    }),
  });
  const entry = lines.find((l) => l.requestId === requestId && l.msg === 'graphql operation');
  expect(entry).toMatchObject({ operation: 'LoggedOp', type: 'query', callerId: null });
  expect(typeof entry?.durationMs).toBe('number');
  expect(typeof entry?.sqlStatements).toBe('number');
  expect(JSON.stringify(lines)).not.toContain('do-not-log-me');
});

it('names an unnamed operation by its type and root fields in logs and metrics', async () => {
  const requestId = 'req-log-unnamed-1';
  await fetch(`${server.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query: '{ list: models(first: 1) { totalCount } }' }),
  });
  await server.gql('mutation { login(email: "nobody@example.com", password: "wrong-password") { accessToken } }');
  await server.gql('{ models(first: 1) { totalCount } me { id } }');
  // Aliases do not count: the label is the field's name.
  expect(lines.find((l) => l.requestId === requestId && l.msg === 'graphql operation')).toMatchObject({
    operation: 'query models',
    type: 'query',
  });
  const logged = lines.filter((l) => l.msg === 'graphql operation').map((l) => l.operation);
  expect(logged).toEqual(expect.arrayContaining(['mutation login', 'query models,me']));
  const text = await metricsText();
  expect(
    seriesValue(text, 'graphql_operation_duration_seconds_count', { operation: 'query models' }),
  ).toBeGreaterThanOrEqual(1);
  expect(seriesValue(text, 'graphql_errors_total', { operation: 'mutation login' })).toBeGreaterThanOrEqual(1);
  expect(text).not.toContain('operation="anonymous"');
});

it('records inference and prediction outcomes: run time and batch size per version and device, workers, outcomes by mode', async () => {
  const f = new Factory(server.app);
  const consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  const version = await storedVersion(server.app, model, 'elementwise');
  const headers = await authHeaders(server.app, consumer);
  const before = await metricsText();
  const inputs = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] }];
  expect((await server.gql(PredictDocument, { modelId: model.id, inputs }, headers)).errors).toBeUndefined();
  const bad = await server.gql(
    PredictDocument,
    { modelId: model.id, inputs: [{ ...inputs[0], name: 'nope' }] },
    headers,
  );
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const created = await server.gql(CreatePredictionDocument, { input: { modelId: model.id, inputs } }, headers);
  const id = created.data!.createPrediction.id;
  for (let i = 0; i < 200; i++) {
    const job = await server.gql(PredictionJobDocument, { id }, headers);
    if (job.data?.prediction.status === 'SUCCEEDED') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const after = await metricsText();
  const delta = (name: string, labels: Record<string, string>) =>
    seriesValue(after, name, labels) - seriesValue(before, name, labels);
  expect(delta('inference_duration_seconds_count', { model: version.id, device: 'cpu' })).toBe(2);
  expect(delta('inference_batch_size_count', { model: version.id })).toBe(2);
  expect(delta('prediction_jobs_total', { mode: 'SYNC', status: 'SUCCEEDED' })).toBe(1);
  expect(delta('prediction_jobs_total', { mode: 'ASYNC', status: 'SUCCEEDED' })).toBe(1);
  expect(after).toMatch(/^inference_workers [1-9]/m);
  expect(after).toMatch(/^inference_workers_busy 0$/m);
  expect(after).toMatch(/^inference_queue_depth 0$/m);
});
