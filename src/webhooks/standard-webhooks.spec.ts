import { generateWebhookSecret, signWebhook, verifyWebhook, webhookHeaders } from './standard-webhooks.js';

describe('Standard Webhooks signatures', () => {
  // The example from the Standard Webhooks spec's reference implementations: a receiver library
  // must accept exactly this signature for this id, timestamp, body and secret.
  it('matches the spec reference vector', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const ts = 1614265330;
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, id, ts, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies its own headers and refuses tampering, other secrets and stale timestamps', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = JSON.stringify({ type: 'prediction.completed', data: { id: 'p1' } });
    const now = new Date('2026-11-24T10:00:00Z');
    const headers = webhookHeaders(secret, 'evt_1', body, now);
    expect(verifyWebhook(secret, headers, body, { now })).toBe(true);
    expect(verifyWebhook(secret, headers, `${body} `, { now })).toBe(false);
    expect(verifyWebhook(generateWebhookSecret(), headers, body, { now })).toBe(false);
    expect(verifyWebhook(secret, { ...headers, 'webhook-id': 'evt_2' }, body, { now })).toBe(false);
    expect(verifyWebhook(secret, headers, body, { now: new Date(now.getTime() + 301_000) })).toBe(false);
    // Several signatures (during a secret rotation): any valid one is enough.
    const both = { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` };
    expect(verifyWebhook(secret, both, body, { now })).toBe(true);
  });

  // Found by the abuse corpus (test/chaos/abuse-access.chaos.test.ts): decoded bytes were
  // compared, and Node's base64 decoder ignores junk after the padding or between characters.
  it('refuses a genuine signature with junk appended or inserted', () => {
    const secret = generateWebhookSecret();
    const body = '{"type":"prediction.completed"}';
    const now = new Date('2026-11-24T10:00:00Z');
    const headers = webhookHeaders(secret, 'evt_1', body, now);
    const sig = headers['webhook-signature'];
    for (const forged of [
      `${sig}AAAA`,
      `${sig}!`,
      `${sig.slice(0, 10)}*${sig.slice(10)}`,
      `${sig.slice(0, 10)}.${sig.slice(10)}`,
    ]) {
      expect(verifyWebhook(secret, { ...headers, 'webhook-signature': forged }, body, { now })).toBe(false);
    }
  });
});
