// A webhook URL is no DNS oracle: a host that does not resolve and one that resolves to a private
// or reserved address get the same answer, naming no address, over HTTP and WebSocket alike; and
// the check is made again at every delivery, so a host that pointed outside when the job was
// created and points inside by the time it is delivered is refused without a connection.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Role } from '../../src/entities/enums.js';
import { sendWebhook } from '../../src/webhooks/webhook-sender.js';
import { TARGET_REFUSED, WebhookAllowList, type ResolveHost } from '../../src/webhooks/webhook-target.js';
import { generateWebhookSecret } from '../../src/webhooks/standard-webhooks.js';
import { CreatePredictionDocument } from '../generated/graphql.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { openWs, wsParams } from '../support/ws-client.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

describe('at submission', () => {
  let server: TestServer;
  let modelId: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    const f = new Factory(server.app);
    const model = await f.model(await f.user({ role: Role.PUBLISHER }));
    await storedVersion(server.app, model, 'elementwise');
    modelId = model.id;
    headers = await authHeaders(server.app, await f.user());
  }, 120_000);
  afterAll(async () => server?.close());

  const TARGETS = [
    ['a host that does not resolve', 'http://no-such-host.invalid/hook'],
    ['a name that resolves to loopback', 'http://localhost:8080/hook'],
    ['a loopback address', 'http://127.0.0.1/hook'],
    ['a private address', 'http://10.11.12.13/hook'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['an IPv6 loopback', 'http://[::1]/hook'],
  ] as const;

  describe.each(['http', 'ws'] as const)('over %s', (transport) => {
    it.each(TARGETS)('%s: the one refusal, naming no address', async (_label, webhookUrl) => {
      const variables = { input: { modelId, inputs: [X], webhookUrl } };
      let res;
      if (transport === 'http') res = await server.gql(CreatePredictionDocument, variables, headers);
      else {
        const ws = openWs(server, wsParams(headers));
        try {
          res = await ws.run(CreatePredictionDocument, variables);
        } finally {
          await ws.dispose();
        }
      }
      expect(res.errors?.[0]).toMatchObject({
        message: TARGET_REFUSED,
        extensions: { code: 'BAD_USER_INPUT', field: 'webhookUrl' },
      });
      expect(JSON.stringify(res.errors)).not.toMatch(/\d+\.\d+\.\d+\.\d+|::1|resolve to|does not resolve/);
    });
  });
});

describe('at delivery', () => {
  let receiver: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    receiver = createServer((_req, res) => {
      hits++;
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  /** DNS that answers a public address first, then (rebinding) a loopback one. */
  const rebinding = (): ResolveHost => {
    let calls = 0;
    return async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
  };

  it.each([
    ['not allow-listed: refused for good, nothing sent', [], { ok: false, permanent: true, error: TARGET_REFUSED }, 0],
    ['allow-listed loopback: delivered', ['127.0.0.1'], { ok: true, status: 204 }, 1],
  ] as const)('a host that now resolves inside, %s', async (_label, allowed, expected, sent) => {
    const before = hits;
    const resolve = rebinding();
    // The creation-time check saw a public address…
    await expect(resolve('hooks.example')).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
    // …and the delivery checks again, on what the name resolves to now.
    const attempt = await sendWebhook({
      url: `http://hooks.example:${port}/hook`,
      secret: generateWebhookSecret(),
      eventId: 'evt_rebind',
      body: '{}',
      allow: new WebhookAllowList([...allowed]),
      timeoutMs: 2000,
      resolve,
    });
    expect(attempt).toMatchObject(expected);
    expect(hits - before).toBe(sent);
  });
});
