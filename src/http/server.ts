import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { refuseServerMessagesFromClient } from '../subscriptions/client-message-filter.js';
import type { App } from '../app.js';
import { buildContext } from '../graphql/build-context.js';
import {
  buildHttpContext,
  formatWsErrors,
  formatWsResult,
  websocketAuth,
  type WsAuthExtra,
} from '../auth/transport-auth.js';
import { rateLimitPlugin } from '../auth/rate-limit/rate-limiting.js';
import { costLimitPlugin, hardeningRules, websocketGuard } from '../graphql/validation/hardening.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createFormatError } from '../graphql/format-error.js';
import { withSqlCounter } from '../db/sql-counter.js';
import { sharedSubscribe } from '../subscriptions/shared-execution.js';
import { graphqlUploadExpress, processRequest } from 'graphql-upload-ts';
import { bodyErrorHandler } from './body-errors.js';
import { healthRoutes } from './health.routes.js';
import { stripeWebhookRoutes } from './stripe-webhook.routes.js';
import { playgroundRoutes } from './playground.routes.js';
import { createHttpDrainer } from './http-drainer.js';
import { httpMetricsMiddleware, metricsRoutes, startMetricsServer } from './metrics.routes.js';
import { observabilityPlugin } from '../graphql/observability.plugin.js';
import { responseCachePlugin } from '../graphql/response-cache.plugin.js';
import { websocketConnections } from '../observability/metrics.js';

export type RunningServer = {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
};

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * One Node HTTP server on one port: GraphQL over HTTP (Apollo Server 5 on Express 5), GraphQL
 * over WebSocket (graphql-ws, same path), and the health probes.
 */
export async function startServer(app: App, listen: { port: number; host: string }): Promise<RunningServer> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  const httpServer = createServer(expressApp);

  // graphql-ws shares the HTTP server and path. Apollo's plugins and formatError do not run for
  // WebSocket operations (apollo-server#6492), so the context is built here per operation.
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  wsServer.on('connection', (socket) => {
    // Registered before useServer's own 'connection' listener, so it sees the socket first.
    refuseServerMessagesFromClient(socket);
    websocketConnections.inc();
    socket.once('close', () => websocketConnections.dec());
  });
  const formatError = createFormatError({ production: app.config.env === 'production', logger: app.logger });
  // Authenticates in onConnect (bad credentials close with 4403), carries the caller into each
  // operation's context, closes a connection whose credential expires (4401).
  const wsAuth = websocketAuth(app, { maxConnectionsPerUser: app.config.graphqlLimits.wsMaxConnectionsPerUser });
  // The same validation, cost and rate limits as HTTP, which Apollo's rules never reach over WS.
  const wsGuard = websocketGuard({
    schema: app.schema,
    limits: app.config.graphqlLimits,
    introspection: app.config.introspection,
    rateLimits: app.rateLimits,
  });
  const wsCleanup = useServer<Record<string, unknown>, { ctx?: GraphQLContext } & WsAuthExtra>(
    {
      schema: app.schema,
      onConnect: (ctx) => wsAuth.onConnect(ctx),
      // A closed account's or revoked key's socket is closed by the re-check; its operation is
      // refused with it. Refusals go through the HTTP formatter (no suggestions in production).
      onSubscribe: formatWsErrors(
        formatError,
        async (ctx, id, payload) => (await wsAuth.recheck(ctx)) ?? wsGuard.onSubscribe(ctx, id, payload),
      ),
      onComplete: (ctx, id) => wsGuard.onComplete(ctx, id),
      context: (ctx) => buildContext(app, { caller: wsAuth.callerOf(ctx) }),
      // One execution per event for all subscribers with the same operation and rights
      // (src/subscriptions/shared-execution.ts), not one per socket.
      subscribe: sharedSubscribe((contextValue) => (contextValue as GraphQLContext | undefined)?.caller),
      onNext: formatWsResult(formatError),
      onError: (_ctx, _id, _payload, errors) => {
        app.logger.warn({ errors: errors.map((e) => e.message) }, 'websocket operation failed');
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema: app.schema,
    introspection: app.config.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT and stops things in order; Apollo's own handler would race it
    // (it stops, then re-raises the signal, leaving our `apollo.stop()` waiting on a stopped server).
    stopOnTerminationSignals: false,
    formatError,
    // Depth, aliases and operations per document (src/graphql/validation/); batching stays off
    // and CSRF prevention on (both Apollo defaults, stated so that nobody flips them unawares).
    validationRules: hardeningRules(app.config.graphqlLimits),
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    plugins: [
      // No CDN-hosted landing page: GET /graphql from a browser gets the bundled playground.
      ApolloServerPluginLandingPageDisabled(),
      // No @cacheControl hints are used (the response cache keys on the catalog generation), and
      // Apollo's default cache-control plugin wraps every field resolver (willResolveField) to
      // collect them: a fifth of predict's allocations under load, measured.
      ApolloServerPluginCacheControlDisabled(),
      // Token buckets per caller and operation class; RateLimit-* headers, 429 RATE_LIMITED.
      rateLimitPlugin(app.rateLimits),
      // Cost limit (needs the variables, so it runs once the operation is resolved).
      costLimitPlugin(app.config.graphqlLimits),
      // Anonymous catalog reads answered from memory until a catalog write or the TTL (CATALOG_CACHE_TTL_MS).
      responseCachePlugin({ ttlMs: app.config.catalogCacheTtlMs, generation: app.services.catalogGeneration }),
      // Logs, metrics and the `x-sql-statements` header for every operation.
      observabilityPlugin({ logger: app.logger, production: app.config.env === 'production' }),
    ],
  });
  await apollo.start();

  const drainer = createHttpDrainer(httpServer);
  expressApp.use(drainer.middleware);
  expressApp.use(httpMetricsMiddleware());
  // GET /graphql from a browser: the bundled playground, ahead of Apollo's handler.
  if (app.config.playground) expressApp.use(playgroundRoutes());
  expressApp.use(
    '/graphql',
    (_req, _res, next) => {
      withSqlCounter(() => next());
    },
    express.json({ limit: '10mb' }),
    // GraphQL multipart requests (model uploads). Only multipart bodies are touched; the file
    // streams to a temporary file (fs-capacitor), never into memory. Every limit is set: the
    // library's defaults are 5 MB per file and unlimited files. A file over maxFileSize fails
    // on its stream, which the upload service turns into PAYLOAD_TOO_LARGE. Apollo's CSRF
    // prevention stays on: multipart clients send `apollo-require-preflight: true`.
    graphqlUploadExpress({
      maxFileSize: app.config.uploadMaxBytes,
      maxFiles: 1,
      maxFieldSize: app.config.uploadMaxFieldBytes,
      // Whatever fails while parsing a multipart body is the request's fault, but busboy's errors
      // (no boundary, a malformed part header, the body cut short) carry no status: 400, not 500.
      processRequest: <T>(...args: Parameters<typeof processRequest>) =>
        processRequest<T>(...args).catch((err: unknown) => {
          if (err instanceof Error && typeof (err as { status?: unknown }).status !== 'number') {
            Object.assign(err, { status: 400 });
          }
          throw err;
        }),
      // Passing processRequest would otherwise switch on this library behaviour we never used.
      overrideSendResponse: false,
    }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const header = req.headers['x-request-id'];
        const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
        return buildHttpContext(app, req, requestId);
      },
    }),
  );

  // After /graphql, so that API requests do not walk these routers' routes first (Express tries
  // every layer in order). The Stripe route reads its raw body itself (stripe-webhook.routes.ts);
  // the JSON parser above is mounted on /graphql only and never sees it.
  expressApp.use(healthRoutes(app));
  expressApp.use(stripeWebhookRoutes(app));
  expressApp.use(metricsRoutes(app.config.metrics));
  expressApp.use(bodyErrorHandler(app.logger));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(listen.port, listen.host, () => resolve());
  });
  const metricsServer = await startMetricsServer(app.config.metrics, listen.host).catch(async (err: unknown) => {
    await new Promise((resolve) => httpServer.close(resolve));
    throw err;
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? 'localhost' : listen.host;
  return {
    server: httpServer,
    port,
    url: `http://${host}:${port}/graphql`,
    // Shutdown order: stop accepting and let in-flight HTTP requests finish (http-drainer.ts),
    // close WebSocket clients with 1001 "Going away" (they reconnect to another replica), then
    // stop Apollo. Apollo's own drain plugin is not used: see http-drainer.ts for why.
    async close() {
      const drained = drainer.drain(app.config.shutdownGraceMs);
      await wsCleanup.dispose();
      const { graceful } = await drained;
      if (!graceful) app.logger.warn('shutdown grace period over: open HTTP connections were cut');
      await apollo.stop();
      await metricsServer?.close();
    },
  };
}
