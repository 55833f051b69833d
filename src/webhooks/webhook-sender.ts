import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { inSpan, markFailed, SpanKind, traceHeaders } from '../observability/tracing.js';
import { AppError } from '../shared/errors.js';
import { webhookHeaders } from './standard-webhooks.js';
import { resolveWebhookTarget, type ResolveHost, type WebhookAllowList } from './webhook-target.js';

export type DeliveryAttempt = {
  ok: boolean;
  /** HTTP status, when the receiver answered. */
  status?: number;
  durationMs: number;
  error?: string;
  /** True when retrying cannot help (the URL is refused by the SSRF guard). */
  permanent: boolean;
};

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One delivery attempt: resolve and check the target again (webhook-target.ts: a host that was
 * public when the job was created may point inside by now), connect to exactly the address that
 * was checked (a pinned `lookup`, so a DNS answer that changes between check and
 * connect cannot redirect us), POST the body with Standard Webhooks headers, read at most 64 KiB
 * of the answer. Redirects are not followed (a 3xx is a failed attempt), as Standard Webhooks
 * senders do. 2xx is success; anything else may be retried by the caller.
 */
export async function sendWebhook(options: {
  url: string;
  secret: string;
  eventId: string;
  body: string;
  allow: WebhookAllowList;
  timeoutMs: number;
  now?: Date;
  /** How host names are resolved (default: node:dns). */
  resolve?: ResolveHost;
}): Promise<DeliveryAttempt> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let target;
  try {
    target = await resolveWebhookTarget(options.url, options.allow, options.resolve);
  } catch (err) {
    const message = err instanceof AppError ? err.message : String(err);
    return { ok: false, durationMs: elapsed(), error: message, permanent: true };
  }
  const pinned: LookupFunction = (_host, opts, callback) => {
    if (opts.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const headers = webhookHeaders(options.secret, options.eventId, options.body, options.now);
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  // The HTTP client span of a trace (the instrumentation does not see this module's `request`).
  // The URL's path and query are the receiver's and may hold a token: host and port only.
  const attributes = {
    'http.request.method': 'POST',
    'server.address': target.url.hostname,
    'server.port': Number(target.url.port) || (target.url.protocol === 'https:' ? 443 : 80),
    'url.scheme': target.url.protocol.replace(':', ''),
  };
  return inSpan('POST', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const attempt = await deliver(send, target.url, pinned, headers, { ...options, started });
    if (attempt.status) span.setAttribute('http.response.status_code', attempt.status);
    if (!attempt.ok) markFailed(span, new Error(attempt.error ?? 'delivery failed'));
    return attempt;
  });
}

function deliver(
  send: typeof httpRequest,
  url: URL,
  pinned: LookupFunction,
  headers: Record<string, string>,
  options: { body: string; timeoutMs: number; started: number },
): Promise<DeliveryAttempt> {
  const elapsed = () => Math.round((performance.now() - options.started) * 10) / 10;
  return new Promise<DeliveryAttempt>((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        lookup: pinned,
        headers: {
          ...headers,
          // The trace the delivery job runs in, so that a receiver which traces continues it.
          ...traceHeaders(),
          'content-length': Buffer.byteLength(options.body),
          'user-agent': 'model-marketplace-webhooks/1',
        },
        timeout: options.timeoutMs,
      },
      (res: IncomingMessage) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          resolve({ ok, status, durationMs: elapsed(), error: ok ? undefined : `HTTP ${status}`, permanent: false });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, durationMs: elapsed(), error: err.message, permanent: false }));
    req.end(options.body);
  });
}
