// graphql-transport-ws protocol errors by a client close its socket with a 4400 code (the client's
// fault), never 4500 (ours): src/subscriptions/client-message-filter.ts. Found by the abuse corpus
// (test/chaos/abuse-ownership.chaos.test.ts), where graphql-ws alone answered 4500.
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** Opens a socket, sends connection_init, then `after` once acknowledged; resolves with what came back and the close. */
function session(after: unknown[]): Promise<{ code: number; reason: string; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.origin.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    const messages: string[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no close in 10 s; got ${messages.join(', ')}`));
    }, 10_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (raw: Buffer) => {
      const text = raw.toString();
      messages.push(text);
      const m = JSON.parse(text) as { type: string };
      if (m.type === 'connection_ack') for (const frame of after) ws.send(JSON.stringify(frame));
      // A pong answers our ping: the connection is healthy; end it from our side.
      if (m.type === 'pong') ws.close(1000);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), messages });
    });
    ws.on('error', reject);
  });
}

it.each(['next', 'error', 'connection_ack'])(
  'closes with 4400 when a client sends a server message (%s)',
  async (type) => {
    const out = await session([{ type, id: '1', payload: {} }]);
    expect(out.code).toBe(4400);
    expect(out.reason).toContain(type);
  },
);

it('still passes the messages a client may send (ping → pong)', async () => {
  const out = await session([{ type: 'ping' }]);
  expect(out.messages.map((m) => (JSON.parse(m) as { type: string }).type)).toEqual(['connection_ack', 'pong']);
  expect(out.code).toBe(1000);
});
