import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/**
 * The spans this code makes itself, through the OpenTelemetry API only. Until the SDK is started
 * (tracing-sdk.ts, when OTEL_* asks for it) the API is a no-op: a span costs an object and a call,
 * and nothing is recorded or sent. HTTP requests and SQL statements get their spans from the
 * SDK's instrumentations; these cover what no instrumentation knows: the GraphQL operation, the
 * services, the queue hand-over between processes and the inference engine.
 */
const tracer = trace.getTracer('model-marketplace');

/** Set once the SDK runs: until then inSpan calls straight through, at no cost on hot paths. */
let recording = false;
export function spansRecorded(): void {
  recording = true;
}

export { SpanKind };
export type { Span };

export type SpanOptions = { kind?: SpanKind; attributes?: Attributes; parent?: Context };

/**
 * Runs `fn` in a new span, the active one while it runs (so SQL statements and nested spans
 * become its children), and ends it when `fn` settles; a throw marks it failed and is re-thrown.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!recording) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span that is started now and ended by the caller (one that outlives a callback, like a request's). */
export function startSpan(name: string, options: SpanOptions = {}): { span: Span; context: Context } {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` with `ctx` as the active context (what startSpan returned). */
export const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn);

/** Records an error on a span: its status says failed, with the error's name and message (no stack). */
export function markFailed(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.setAttribute('error.type', typeof code === 'string' ? code : error.name);
}

/** The active trace's W3C headers (`traceparent`, `tracestate`), empty when nothing is traced. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context those headers carry, to continue a trace in another process. */
export const contextFromHeaders = (carrier: Record<string, string>): Context =>
  propagation.extract(ROOT_CONTEXT, carrier);

/** The span running now, if one is recorded (for renaming it, or for a log line's trace id). */
export function activeSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}
