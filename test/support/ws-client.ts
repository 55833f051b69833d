import { print, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestServer } from './test-server.js';

export type WsResult<T = unknown> = {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  /** Set when the connection closed instead of answering: its close code. */
  closeCode?: number;
};

/**
 * One graphql-ws connection to a test server that stays open across operations (not lazy, no
 * retries: a refusal or a close must show), signed in with `connectionParams`.
 */
export function openWs(server: TestServer, connectionParams: Record<string, unknown> = {}) {
  let closeCode: number | undefined;
  let connections = 0;
  const client: Client = createClient({
    url: server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    // Closes are expected in these tests; the default handler would console.error them.
    onNonLazyError: () => undefined,
  });
  client.on('closed', (e) => (closeCode = (e as { code?: number }).code));
  client.on('connected', () => connections++);
  return {
    client,
    get closeCode() {
      return closeCode;
    },
    /** Sockets opened so far: 1 unless the client reconnected. */
    get connections() {
      return connections;
    },
    /** Runs one query or mutation on this connection: its result, or how the connection ended. */
    run<T = unknown>(document: string | DocumentNode, variables?: Record<string, unknown>): Promise<WsResult<T>> {
      const query = typeof document === 'string' ? document : print(document);
      return new Promise((resolve) => {
        let out: WsResult<T> = {};
        // Not unsubscribed after `next`: the server completes a query or mutation itself, and an
        // early unsubscribe makes graphql-ws's client count its release twice and close the socket.
        client.subscribe<T>(
          { query, variables },
          {
            next: (r) => {
              out = { data: r.data, errors: r.errors as WsResult['errors'] };
              resolve(out);
            },
            error: (e) => {
              if (Array.isArray(e)) resolve({ errors: e as WsResult['errors'] });
              else resolve({ closeCode: (e as { code?: number }).code ?? closeCode ?? -1 });
            },
            complete: () => resolve(out),
          },
        );
      });
    },
    dispose: () => client.dispose(),
  };
}

/** `{ authorization: 'Bearer …' }` or `{ apiKey }` from HTTP-style headers. */
export function wsParams(headers: Record<string, string>): Record<string, unknown> {
  if (headers.authorization) return { authorization: headers.authorization };
  if (headers['x-api-key']) return { apiKey: headers['x-api-key'] };
  return {};
}
