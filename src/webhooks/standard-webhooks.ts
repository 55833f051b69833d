import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec v1): the headers and signature our
 * prediction webhooks carry, so that receivers can verify them with any existing library
 * (`standardwebhooks` for JS/Python/Go…, Svix's verifiers). Signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 keyed with the base64 part of the
 * `whsec_` secret, sent as `v1,<base64>`; the timestamp is in whole seconds.
 */
export const SECRET_PREFIX = 'whsec_';

/** A new secret: `whsec_` + base64 of 24 random bytes (the spec allows 24 to 64). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('webhook secret must start with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'content-type': 'application/json';
};

/** Headers for one delivery attempt. `id` stays the same across retries of one event. */
export function webhookHeaders(secret: string, id: string, body: string, now = new Date()): WebhookHeaders {
  const ts = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(secret, id, ts, body),
    'content-type': 'application/json',
  };
}

/**
 * What a receiver does (and what the README shows): recompute the signature, compare in
 * constant time against each `v1,` entry of the header, and refuse timestamps more than
 * `toleranceSeconds` away from now (replays).
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): boolean {
  const id = headers['webhook-id'];
  const ts = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (!id || !Number.isInteger(ts) || !signatures) return false;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - ts) > (options.toleranceSeconds ?? 300)) return false;
  // The base64 text is compared, not its decoded bytes: Node's decoder skips what it cannot read
  // and stops at padding, so "<signature>AAAA" or a signature with junk inside decoded to the
  // genuine bytes and passed (the Standard Webhooks libraries compare the text too).
  const expected = Buffer.from(signWebhook(secret, id, ts, body).slice(3));
  return signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
