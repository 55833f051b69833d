import { z } from 'zod';
import { secret } from '../shared/config-secret.js';

/**
 * OpenTelemetry tracing, configured the standard way: the OTEL_* variables of the SDK
 * specification (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/),
 * which @opentelemetry/sdk-node reads itself. They are listed here so that a bad value stops
 * the start with the variable's name, as every other setting does, and so that deployment files
 * are held to them (test/deploy/config-variables.test.ts). Off unless an exporter or an OTLP
 * endpoint is named.
 */
export const TRACING_ENV = {
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_TRACES_EXPORTER: z
    .string()
    .regex(
      /^(otlp|console|zipkin|none)(,(otlp|console|zipkin|none))*$/,
      'a comma-separated list of otlp, console, zipkin, none',
    )
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json', 'grpc']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json', 'grpc']).optional(),
  /** `key=value,…`: a collector's or vendor's credentials, hence a secret. */
  OTEL_EXPORTER_OTLP_HEADERS: secret(z.string().optional()),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** How long finished spans wait before a batch is exported (ms; the SDK's default 5000). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).max(600_000).optional(),
} as const;

type TracingEnv = z.output<z.ZodObject<typeof TRACING_ENV>>;

export function tracingConfigFrom(e: TracingEnv) {
  const exporters = (e.OTEL_TRACES_EXPORTER ?? '').split(',').filter((x) => x && x !== 'none');
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    tracing: {
      /** Spans are recorded and exported: an exporter or an OTLP endpoint is named, and the SDK is not disabled. */
      enabled:
        e.OTEL_SDK_DISABLED !== 'true' &&
        (e.OTEL_TRACES_EXPORTER !== undefined ? exporters.length > 0 : endpoint !== undefined),
      /** Where spans go, for the start-up summary (the SDK reads the variables itself). */
      exporters: exporters.length ? exporters : ['otlp'],
      endpoint,
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}

export type TracingSettings = ReturnType<typeof tracingConfigFrom>;
