import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Job } from '../../src/jobs/job-queue.js';
import { MemoryJobQueue } from '../../src/jobs/memory-job-queue.js';
import { TracedJobQueue } from '../../src/jobs/traced-job-queue.js';
import { inSpan, spansRecorded } from '../../src/observability/tracing.js';

/**
 * The queue decorator with a real tracer provider in this process (what tracing-sdk.ts registers):
 * the trace crosses the queue in the payload, and handlers never see it there.
 */
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  spansRecorded();
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});
beforeEach(() => exporter.reset());

type Payload = { n: number };

it('continues the adder’s trace in the job, and hands the handler its own payload', async () => {
  const inner = new MemoryJobQueue<Payload>('traced');
  const queue = new TracedJobQueue<Payload>(inner, 'memory');
  const seen: Job<Payload>[] = [];
  const done = new Promise<void>((resolve) =>
    queue.process(
      async (job) => {
        seen.push(job);
        await inSpan('work', {}, async () => undefined);
        resolve();
      },
      { concurrency: 1 },
    ),
  );
  await inSpan('request', {}, () => queue.add('a', { n: 1 }));
  await done;
  await queue.close();

  expect(seen.map((j) => j.data)).toEqual([{ n: 1 }]);
  const spans = exporter.getFinishedSpans();
  const byName = (name: string) => spans.find((s) => s.name === name)!;
  const [request, send, processed, work] = ['request', 'send traced', 'process traced', 'work'].map(byName);
  expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  expect(processed.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
  expect(work.parentSpanContext?.spanId).toBe(processed.spanContext().spanId);
  expect(processed.attributes).toMatchObject({
    'messaging.system': 'memory',
    'messaging.destination.name': 'traced',
    'messaging.message.id': 'a',
    'messaging.delivery.attempt': 1,
  });
});

it('marks a failed try, and gives onFailed the payload without the trace', async () => {
  const queue = new TracedJobQueue<Payload>(new MemoryJobQueue<Payload>('failing'), 'memory');
  const failed = new Promise<Job<Payload>>((resolve) =>
    queue.process(
      async () => {
        throw new Error('no');
      },
      { concurrency: 1, onFailed: (job) => resolve(job) },
    ),
  );
  await inSpan('request', {}, () => queue.add('b', { n: 2 }, { attempts: 1 }));
  expect((await failed).data).toEqual({ n: 2 });
  await queue.close();
  const processed = exporter.getFinishedSpans().find((s) => s.name === 'process failing')!;
  expect(processed.status).toMatchObject({ code: 2, message: 'no' });
});
