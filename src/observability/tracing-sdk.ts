import type { TracingSettings } from './tracing.config.js';
import { sanitizeSql } from './sql-sanitize.js';
import { spansRecorded } from './tracing.js';

export type Tracing = {
  enabled: boolean;
  /** Exports the spans still buffered and stops; a collector that does not answer is given up on. */
  shutdown(): Promise<void>;
};

/** Paths whose requests are not traced: probes and scrapes arrive every few seconds and say nothing. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Starts the OpenTelemetry Node SDK when the OTEL_* variables ask for it (tracing.config.ts),
 * configured by those variables: exporter, endpoint, protocol, headers, sampler, resource. Traces
 * only: metrics stay Prometheus (/metrics) and logs stay JSON lines on stdout. The HTTP and
 * PostgreSQL instrumentations patch `node:http` and `pg` as they load, so an entry point calls
 * this before it imports the rest of the app (src/main.ts, src/worker.ts); the SDK itself is only
 * loaded when tracing is on.
 */
export async function startTracing(settings: TracingSettings['tracing'], defaultServiceName: string): Promise<Tracing> {
  if (!settings.enabled) return { enabled: false, shutdown: async () => undefined };
  const [{ NodeSDK }, { HttpInstrumentation }, { PgInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  const sdk = new NodeSDK({
    serviceName: settings.serviceName ?? defaultServiceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? ''),
        // Outgoing calls are traced only inside a trace, not a library's own.
        requireParentforOutgoingSpans: true,
      }),
      // Statements without a parent (the sweepers' timers) would each be a trace of one span.
      // Parameters are never recorded: they hold tensors, password hashes and tokens.
      // A pool checkout per statement is noise beside the statement itself. The ORM inlines some
      // values into the text, which is sanitized (sql-sanitize.ts).
      new PgInstrumentation({
        requireParentSpan: true,
        enhancedDatabaseReporting: false,
        ignoreConnectSpans: true,
        requestHook: (span, { query }) => {
          if (query.text) span.setAttribute('db.query.text', sanitizeSql(query.text));
        },
      }),
    ],
  });
  sdk.start();
  spansRecorded();
  return {
    enabled: true,
    async shutdown() {
      await Promise.race([sdk.shutdown(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    },
  };
}
