// OpenTelemetry tracing across real processes, as deployed: an API replica that runs no jobs and
// a worker (src/main.ts, src/worker.ts), both exporting OTLP/HTTP JSON to a receiver started
// here. One queued prediction with a webhook must come back as one trace: the HTTP request, the
// GraphQL operation, the service, the queue hand-over, the worker's job, the engine and the SQL
// statements, then the webhook's own job and its delivery, whose request carries the trace.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import { CreatePredictionDocument, PredictionJobDocument } from '../generated/graphql.js';
import { startApiProcess, startWorkerProcess, type AppProcess } from '../support/app-processes.js';
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { createProcessWorld, type ProcessWorld } from '../support/process-world.js';
import { waitFor } from '../support/processes.js';

const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
const withServices = redisUrl && databaseUrl ? describe : describe.skip;

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;
const CLIENT = 3;
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

withServices('a queued prediction traced from the HTTP request to the worker and its webhook', () => {
  let world: ProcessWorld;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let hook: Server;
  let hookUrl: string;
  const hookHeaders: IncomingHttpHeaders[] = [];
  let api: AppProcess;
  let modelId: string;
  let authorization: string;

  beforeAll(async () => {
    world = await createProcessWorld('trace');
    ({ modelId, authorization } = world);
    otlp = await startOtlpReceiver();
    hook = createServer((req, res) => {
      hookHeaders.push(req.headers);
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const shared = world.env({
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    [api] = await Promise.all([
      startApiProcess({ ...shared, RUN_JOBS: 'false', INFERENCE_START: 'lazy' }),
      startWorkerProcess(shared),
    ]);
  }, 180_000);

  afterAll(async () => {
    await world?.close();
    await otlp?.close();
    await new Promise((resolve) => hook?.close(resolve));
  }, 60_000);

  async function gql<T>(document: Parameters<typeof print>[0], variables: Record<string, unknown>) {
    const res = await fetch(`${api.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await res.json()) as { data?: T; errors?: unknown[] };
  }

  it('is one trace across both processes, each span under the one that caused it', async () => {
    const created = await gql<{ createPrediction: { id: string } }>(CreatePredictionDocument, {
      input: { modelId, inputs: [X], webhookUrl: hookUrl },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!.createPrediction.id;
    await waitFor('the job to succeed', async () => {
      const r = await gql<{ prediction: { status: string } }>(PredictionJobDocument, { id });
      return r.data?.prediction.status === 'SUCCEEDED' ? true : undefined;
    });
    await waitFor('the webhook', () => (hookHeaders.length ? true : undefined));

    const span = (what: string, match: (s: ReceivedSpan) => boolean) => waitFor(what, () => otlp.spans.find(match));
    const operation = await span('the GraphQL operation span', (s) => s.name === 'mutation CreatePrediction');
    const traceId = operation.traceId;
    const inTrace = () => otlp.spans.filter((s) => s.traceId === traceId);
    const find = (what: string, match: (s: ReceivedSpan) => boolean) =>
      span(what, (s) => s.traceId === traceId && match(s));
    const childOf = (parent: ReceivedSpan) => (s: ReceivedSpan) => s.parentSpanId === parent.spanId;

    const http = await find('the HTTP server span', (s) => s.spanId === operation.parentSpanId);
    expect(http).toMatchObject({ kind: SERVER, name: 'POST /graphql', service: 'model-marketplace-api' });
    expect(http.parentSpanId).toBeUndefined();
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'mutation' });

    const service = await find(
      'the service span',
      (s) => childOf(operation)(s) && s.name === 'PredictionJobService.create',
    );
    expect(service.attributes).toMatchObject({ 'model.id': modelId, 'prediction.id': id });
    const apiSql = await find('an API statement', (s) => childOf(service)(s) && s.name.startsWith('pg.query'));
    expect(apiSql.service).toBe('model-marketplace-api');
    const send = await find('the enqueue', (s) => childOf(service)(s) && s.name === 'send predictions');
    expect(send).toMatchObject({
      kind: PRODUCER,
      attributes: { 'messaging.system': 'bullmq', 'messaging.message.id': id },
    });

    const job = await find('the job', (s) => childOf(send)(s) && s.name === 'process predictions');
    expect(job).toMatchObject({ kind: CONSUMER, service: 'model-marketplace-worker' });
    const engine = await find('the engine', (s) => childOf(job)(s) && s.name === 'inference.run');
    expect(engine.attributes).toMatchObject({ 'inference.device': 'cpu', 'inference.batch_size': 1 });
    await find(
      'a worker statement',
      (s) => childOf(job)(s) && s.name.startsWith('pg.query') && s.service === 'model-marketplace-worker',
    );

    const sendHook = await find('the webhook enqueue', (s) => childOf(job)(s) && s.name === 'send webhooks');
    const hookJob = await find('the webhook job', (s) => childOf(sendHook)(s) && s.name === 'process webhooks');
    const post = await find('the delivery', (s) => childOf(hookJob)(s) && s.name === 'POST');
    expect(post).toMatchObject({
      kind: CLIENT,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': 204 },
    });
    // The receiver's request continues the trace.
    expect(hookHeaders[0].traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // Nothing in the trace is an orphan: every parent was exported too.
    const ids = new Set(inTrace().map((s) => s.spanId));
    expect(
      inTrace()
        .filter((s) => s.parentSpanId && !ids.has(s.parentSpanId))
        .map((s) => s.name),
    ).toEqual([]);
    // Probes are not traced, and no statement records its parameters or an inlined value.
    expect(otlp.spans.filter((s) => `${s.attributes['url.path'] as string | undefined}`.startsWith('/health'))).toEqual(
      [],
    );
    expect(
      otlp.spans.filter((s) => 'db.query.parameter.0' in s.attributes || 'db.postgresql.values' in s.attributes),
    ).toEqual([]);
    const statements = otlp.spans
      .filter((s) => s.name.startsWith('pg.query'))
      .map((s) => String(s.attributes['db.query.text']));
    expect(statements.length).toBeGreaterThan(5);
    expect(statements.filter((text) => text.includes(id) || text.includes(modelId) || /'/.test(text))).toEqual([]);
    expect(otlp.rejected).toEqual([]);
  }, 60_000);
});
