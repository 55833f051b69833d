import type { Fetcher, FetcherOpts, FetcherParams } from '@graphiql/toolkit';
import type { ExecutionResult } from 'graphql';

type FetcherReturn = ExecutionResult;
import { createClient, type Client } from 'graphql-ws';

/**
 * GraphiQL's fetcher for this server: queries and mutations go over HTTP with the header
 * editor's headers; subscriptions go over graphql-ws on the same path, where the API takes
 * credentials from `connectionParams` instead of headers, so the
 * `Authorization` / `X-API-Key` headers are turned into `{ authorization }` / `{ apiKey }`. One
 * WebSocket client per distinct credentials: changing the token in the editor reconnects.
 */
export function createMarketplaceFetcher(httpUrl: string): Fetcher {
  const wsUrl = httpUrl.replace(/^http/, 'ws');
  const clients = new Map<string, Client>();

  const wsClientFor = (headers: Record<string, string>): Client => {
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'authorization') params.authorization = value;
      if (name.toLowerCase() === 'x-api-key') params.apiKey = value;
    }
    const key = JSON.stringify(params);
    let client = clients.get(key);
    if (!client) {
      for (const old of clients.values()) void old.dispose();
      clients.clear();
      client = createClient({ url: wsUrl, connectionParams: params, lazy: true });
      clients.set(key, client);
    }
    return client;
  };

  return (params: FetcherParams, opts?: FetcherOpts) => {
    const headers = normaliseHeaders(opts?.headers);
    if (isSubscription(params)) {
      const client = wsClientFor(headers);
      // graphql-ws's iterate() is an AsyncIterableIterator: GraphiQL renders each event.
      // (Its results carry formatted errors, which is what GraphiQL renders.)
      return client.iterate({
        query: params.query,
        variables: (params.variables as Record<string, unknown> | null) ?? undefined,
        operationName: params.operationName ?? undefined,
      }) as AsyncIterableIterator<FetcherReturn>;
    }
    return fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(params),
    }).then((res) => res.json() as Promise<FetcherReturn>);
  };
}

function normaliseHeaders(headers: unknown): Record<string, string> {
  if (!headers || typeof headers !== 'object') return {};
  return Object.fromEntries(
    Object.entries(headers as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'string' && v.trim() !== '')
      .map(([k, v]) => [k, String(v)]),
  );
}

function isSubscription(params: FetcherParams): boolean {
  const source = params.query.replace(/#[^\n]*/g, '');
  if (params.operationName) {
    return new RegExp(`\\bsubscription\\s+${params.operationName}\\b`).test(source);
  }
  return /^\s*subscription\b/.test(source);
}
