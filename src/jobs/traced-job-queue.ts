import { contextFromHeaders, inSpan, SpanKind, traceHeaders } from '../observability/tracing.js';
import type { Job, JobHandler, JobOptions, JobQueue, ProcessOptions } from './job-queue.js';

/** Where a job's payload carries the trace it was added in (W3C `traceparent`/`tracestate`). */
const TRACE_KEY = '_trace';

export type Traced<T> = T & { [TRACE_KEY]?: Record<string, string> };

/**
 * Carries the active trace across the queue, as the OpenTelemetry messaging conventions describe
 * (https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/): `add` is a PRODUCER
 * span whose context rides in the job's payload, and each try of the job runs in a CONSUMER span
 * that continues that trace, in whichever process takes it. So one trace goes from the HTTP
 * request that queued a prediction to the worker that ran it and the webhook it sent. With
 * tracing off the payload is left as it is. Both queue implementations get it (create-job-queue.ts).
 */
export class TracedJobQueue<T> implements JobQueue<T> {
  readonly name: string;

  constructor(
    private readonly inner: JobQueue<Traced<T>>,
    private readonly system: 'bullmq' | 'memory',
  ) {
    this.name = inner.name;
  }

  add(id: string, data: T, options?: Partial<JobOptions>): Promise<'added' | 'exists'> {
    return inSpan(
      `send ${this.name}`,
      { kind: SpanKind.PRODUCER, attributes: this.attributes(id, 'send') },
      async (span) => {
        const headers = traceHeaders();
        const payload = (Object.keys(headers).length ? { ...data, [TRACE_KEY]: headers } : data) as Traced<T>;
        const added = await this.inner.add(id, payload, options);
        span.setAttribute('messaging.bullmq.job.added', added === 'added');
        return added;
      },
    );
  }

  process(handler: JobHandler<T>, options: ProcessOptions<T>): void {
    this.inner.process(
      (job) => {
        const { payload, headers } = unwrap(job.data);
        return inSpan(
          `process ${this.name}`,
          {
            kind: SpanKind.CONSUMER,
            parent: headers ? contextFromHeaders(headers) : undefined,
            attributes: { ...this.attributes(job.id, 'process'), 'messaging.delivery.attempt': job.attempt },
          },
          () => handler({ ...job, data: payload }),
        );
      },
      {
        ...options,
        onFailed:
          options.onFailed &&
          ((job: Job<Traced<T>>, error) => options.onFailed!({ ...job, data: unwrap(job.data).payload }, error)),
      },
    );
  }

  cancel = (id: string) => this.inner.cancel(id);
  has = (id: string) => this.inner.has(id);
  counts = () => this.inner.counts();
  nextWaitingSince = () => this.inner.nextWaitingSince();
  close = () => this.inner.close();

  private attributes(id: string, operation: 'send' | 'process') {
    return {
      'messaging.system': this.system,
      'messaging.operation.type': operation,
      'messaging.destination.name': this.name,
      'messaging.message.id': id,
    };
  }
}

function unwrap<T>(data: Traced<T>): { payload: T; headers?: Record<string, string> } {
  if (!data || typeof data !== 'object' || !(TRACE_KEY in data)) return { payload: data };
  const { [TRACE_KEY]: headers, ...payload } = data;
  return { payload: payload as T, headers };
}
