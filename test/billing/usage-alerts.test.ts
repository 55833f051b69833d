// Usage alerts as a consumer relies on them: thresholds on the month's spend (a share of the cap,
// or an amount), each firing once per month however many predictions cross it at once and however
// many checks race — as a graphql-ws event, a mail (real SMTP server) and a signed webhook (real
// receiver) — and refused with a clear code when set wrongly or by someone else.
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import { verifyWebhook } from '../../src/webhooks/standard-webhooks.js';
import {
  CreateUsageAlertDocument,
  DeleteUsageAlertDocument,
  PredictDocument,
  UsageAlertFiredDocument,
  UsageAlertsDocument,
  WebhookSecretDocument,
} from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { waitFor } from '../support/processes.js';
import { startSmtpServer, type SmtpServer } from '../support/smtp-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { startWebhookReceiver, type ReceivedHook } from '../support/webhook-receiver.js';

let server: TestServer;
let smtp: SmtpServer;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let hookUrl: string;
let hooks: ReceivedHook[];
let consumer: User;
let headers: Record<string, string>;
let modelId: string;
let client: Client | undefined;
const X = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }];

beforeAll(async () => {
  smtp = await startSmtpServer();
  receiver = await startWebhookReceiver('/alerts');
  ({ url: hookUrl, hooks } = receiver);
  server = await startTestServer({ SMTP_URL: smtp.url, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', MAIL_POLL_MS: '100' });
  const f = new Factory(server.app);
  const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.0100000000' });
  await storedVersion(server.app, model, 'elementwise');
  modelId = model.id;
  consumer = await f.user();
  headers = await authHeaders(server.app, consumer);
}, 60_000);

afterAll(async () => {
  await Promise.resolve(client?.dispose());
  await server?.close();
  await smtp?.close();
  await receiver?.close();
});

const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;

it('fires each alert once as the month’s spend crosses it: event, mail and signed webhook', async () => {
  expect((await server.gql('mutation { setSpendingCap(amount: "0.20") { id } }', {}, headers)).errors).toBeUndefined();
  const half = await server.gql(CreateUsageAlertDocument, { input: { percentOfCap: 50 } }, headers);
  const amount = await server.gql(
    CreateUsageAlertDocument,
    { input: { amount: '0.15', webhookUrl: hookUrl } },
    headers,
  );
  expect(half.data?.createUsageAlert).toMatchObject({ percentOfCap: 50, amount: null });
  expect(amount.data?.createUsageAlert).toMatchObject({
    amount: { amount: '0.15', currency: 'USD' },
    webhookUrl: hookUrl,
  });

  client = createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: headers.authorization },
    retryAttempts: 0,
  });
  type Fired = {
    alertId: string;
    threshold: { amount: string };
    spent: { amount: string };
    percentOfCap: number | null;
  };
  const fired: Fired[] = [];
  const live = new Promise<void>((resolve) => {
    client!.on('connected', () => setTimeout(resolve, 200));
  });
  void (async () => {
    for await (const e of client.iterate({ query: print(UsageAlertFiredDocument) })) {
      fired.push((e.data as { usageAlert: Fired }).usageAlert);
    }
  })();
  await live;

  // Two bursts of concurrent predictions at 0.01: the first crosses 50 % of the cap (0.10), the
  // second crosses 0.15; neither alert fires again afterwards.
  for (const n of [11, 6]) {
    const results = await Promise.all(
      Array.from({ length: n }, () => server.gql(PredictDocument, { modelId, inputs: X }, headers)),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
  }
  // Checks racing the automatic one (other processes) change nothing.
  await Promise.all([1, 2, 3].map(() => server.app.services.usageAlerts.evaluator.check(consumer.id)));

  await waitFor('both alerts to fire', () => (fired.length >= 2 ? fired : undefined), 20_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(fired).toHaveLength(2);
  const byAlert = new Map(fired.map((f) => [f.alertId, f]));
  expect(byAlert.get(half.data!.createUsageAlert.id)).toMatchObject({
    percentOfCap: 50,
    threshold: { amount: '0.10' },
  });
  expect(byAlert.get(amount.data!.createUsageAlert.id)?.threshold.amount).toBe('0.15');
  for (const f of fired) expect(Number(f.spent.amount)).toBeGreaterThanOrEqual(Number(f.threshold.amount));

  const [firings] = await server.app.db.orm.em
    .fork()
    .execute<{ n: number }[]>(
      'select count(*)::int as n from usage_alert_firings f join usage_alerts a on a.id = f.alert_id where a.user_id = ?',
      [consumer.id],
    );
  expect(firings.n).toBe(2);

  await smtp.next(consumer.email, /^Usage alert: /);
  await waitFor('two alert mails', () => {
    const mine = smtp.messages.filter((m) => JSON.stringify(m.to).includes(consumer.email));
    return mine.length >= 2 ? mine : undefined;
  });

  const hook = await waitFor('the alert webhook', () => hooks.find((h) => h.body.includes('usage.alert')));
  const secret = (await server.gql(WebhookSecretDocument, {}, headers)).data!.webhookSecret;
  expect(verifyWebhook(secret, hook.headers, hook.body)).toBe(true);
  expect(JSON.parse(hook.body)).toMatchObject({
    type: 'usage.alert',
    data: { alertId: amount.data!.createUsageAlert.id, threshold: '0.15', currency: 'USD' },
  });
  expect(hooks.filter((h) => h.body.includes('usage.alert'))).toHaveLength(1);
}, 60_000);

it('refuses alerts set wrongly, and keeps them to their owner', async () => {
  const bad: Record<string, unknown>[] = [
    {},
    { percentOfCap: 50, amount: '1' },
    { percentOfCap: 0 },
    { percentOfCap: 101 },
    { amount: '-1' },
    { amount: '0' },
    { amount: '1.123456789012' },
    { amount: '5', webhookUrl: 'http://10.1.2.3/hook' },
  ];
  for (const input of bad) {
    const res = await server.gql(CreateUsageAlertDocument, { input }, headers);
    expect({ input, error: codeOf(res)?.code }).toEqual({ input, error: 'BAD_USER_INPUT' });
  }
  const mine = (await server.gql(CreateUsageAlertDocument, { input: { amount: '3' } }, headers)).data!.createUsageAlert;
  const other = await authHeaders(server.app, await new Factory(server.app).user());
  expect(codeOf(await server.gql(DeleteUsageAlertDocument, { id: mine.id }, other))).toMatchObject({
    code: 'NOT_FOUND',
  });
  expect((await server.gql(UsageAlertsDocument, {}, other)).data?.usageAlerts).toEqual([]);
  expect((await server.gql(DeleteUsageAlertDocument, { id: mine.id }, headers)).data?.deleteUsageAlert).toBe(true);
  expect(codeOf(await server.gql(UsageAlertsDocument, {}, {}))).toMatchObject({ code: 'UNAUTHENTICATED' });
});
