import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedHook = { headers: Record<string, string>; body: string };

/** An HTTP server on loopback that answers 200 to every POST and keeps what it got. */
export async function startWebhookReceiver(path = '/hooks') {
  const hooks: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    hooks,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
