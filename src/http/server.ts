import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import { refuseServerMessagesFromClient } from '../subscriptions/client-message-filter.js';
import type { App } from '../app.js';
import { openInferenceRoutes } from './open-inference/oip.routes.js';
import { buildContext } from '../graphql/build-context.js';
import { buildHttpContext } from './http-context.js';
import { websocketAuth, type WsAuthContext, type WsAuthExtra } from './websocket-auth.js';
import { rateLimitPlugin } from '../graphql/rate-limit.plugin.js';
import {
  costLimitPlugin,
  hardeningRules,
  MAX_DOCUMENT_TOKENS,
  websocketGuard,
} from '../graphql/validation/hardening.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createFormatError } from '../graphql/format-error.js';
import { sharedSubscribe } from '../subscriptions/shared-execution.js';
import { graphqlUploadExpress, processRequest } from 'graphql-upload-ts';
import { bodyErrorHandler } from './body-errors.js';
import { healthRoutes } from './health.routes.js';
import { stripeWebhookRoutes } from './stripe-webhook.routes.js';
import { batchResultsRoutes } from './batch-results.routes.js';
import { accountExportRoutes } from './account-export.routes.js';
import { playgroundRoutes } from './playground.routes.js';
import { createHttpDrainer } from './http-drainer.js';
import { httpMetricsMiddleware, metricsRoutes, startMetricsServer } from './metrics.routes.js';
import { observabilityPlugin } from '../graphql/observability.plugin.js';
import { responseCachePlugin } from '../graphql/response-cache.plugin.js';
import { websocketConnections } from '../observability/metrics.js';
import { requestIdContext, requestIdMiddleware, requestIdOf } from '../observability/request-id.js';
import { httpBodyLimit } from '../inference/request-size.js';
import { errorStatusPlugin } from '../graphql/error-status.plugin.js';
import { corsMiddleware } from './cors.js';
import { graphqlRequestScope } from './graphql-span.js';
import { notFoundHandler, rootRoutes } from './root.routes.js';
import { websocketOperations } from './websocket-operations.js';

export type RunningServer = {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
};

/**
 * One Node HTTP server on one port: GraphQL over HTTP (Apollo Server 5 on Express 5), GraphQL
 * over WebSocket (graphql-ws, same path), and the health probes.
 */
export async function startServer(app: App, listen: { port: number; host: string }): Promise<RunningServer> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  const httpServer = createServer(expressApp);
  // Idle keep-alive connections stay open longer than any load balancer in front keeps its own
  // (HTTP_KEEP_ALIVE_TIMEOUT_MS, 65 s; AWS ALB and GCP default to 60 s): Node's 5 s would close a
  // connection the balancer is about to reuse, and that request fails (a 502 behind one,
  // ECONNRESET for a direct client whose event loop was busy past its own keep-alive timer).
  // Headers must arrive within the same time.
  httpServer.keepAliveTimeout = app.config.keepAliveTimeoutMs;
  httpServer.headersTimeout = app.config.keepAliveTimeoutMs + 1000;
  // One size rule for both transports (src/inference/request-size.ts): a WebSocket message may be
  // as large as an HTTP body (ws's own default is 100 MiB).
  const maxBodyBytes = httpBodyLimit(app.config.inference.maxRequestBytes);

  // graphql-ws shares the HTTP server and path. Apollo's plugins and formatError do not run for
  // WebSocket operations (apollo-server#6492), so the context is built here per operation.
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: maxBodyBytes });
  wsServer.on('connection', (socket) => {
    // Registered before useServer's own 'connection' listener, so it sees the socket first.
    refuseServerMessagesFromClient(socket);
    websocketConnections.inc();
    socket.once('close', () => websocketConnections.dec());
  });
  const formatError = createFormatError({ production: app.config.env === 'production', logger: app.logger });
  // Authenticates in onConnect (bad credentials close with 4403), carries the caller into each
  // operation's context, closes a connection whose credential expires (4401).
  const fork = () => app.db.orm.em.fork();
  const { callers, apiKeyStatus, userStatus } = app.services.auth;
  const wsAuth = websocketAuth(
    { callers, apiKeyStatus, userStatus, fork },
    { maxConnectionsPerUser: app.config.graphqlLimits.wsMaxConnectionsPerUser },
  );
  // The same validation, cost and rate limits as HTTP, which Apollo's rules never reach over WS.
  const wsGuard = websocketGuard({
    schema: app.schema,
    limits: app.config.graphqlLimits,
    introspection: app.config.introspection,
    rateLimits: app.rateLimits,
  });
  // A request id per operation, the same error formatting as HTTP, a log line when it ends.
  const wsOps = websocketOperations<WsAuthContext>({
    logger: app.logger,
    formatError,
    callerOf: (ctx) => wsAuth.callerOf(ctx),
  });
  const wsCleanup = useServer<Record<string, unknown>, { ctx?: GraphQLContext } & WsAuthExtra>(
    {
      schema: app.schema,
      onConnect: (ctx) => wsAuth.onConnect(ctx),
      onSubscribe: async (ctx, id, payload) => {
        wsOps.begin(ctx, id, payload);
        // A closed account's or revoked key's socket is closed by the re-check; its operation is
        // refused with it (formatted like HTTP's errors in wsOps.onError: no suggestions in production).
        const result = (await wsAuth.recheck(ctx)) ?? (await wsGuard.onSubscribe(ctx, id, payload));
        if (!Array.isArray(result)) wsOps.resolved(ctx, id, result as ExecutionArgs);
        return result;
      },
      onComplete: (ctx, id) => {
        wsGuard.onComplete(ctx, id);
        wsOps.onComplete(ctx, id);
      },
      context: (ctx, id) => buildContext(fork, { requestId: wsOps.requestIdOf(ctx, id), caller: wsAuth.callerOf(ctx) }),
      // One execution per event for all subscribers with the same operation and rights
      // (src/subscriptions/shared-execution.ts), not one per socket.
      subscribe: sharedSubscribe((contextValue) => (contextValue as GraphQLContext | undefined)?.caller),
      onNext: (ctx, id, payload, args, result) => wsOps.onNext(ctx, id, payload, args, result),
      onError: (ctx, id, payload, errors) => wsOps.onError(ctx, id, payload, errors),
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
    parseOptions: { maxTokens: MAX_DOCUMENT_TOKENS },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    plugins: [
      // No CDN-hosted landing page: GET /graphql from a browser gets the bundled playground.
      ApolloServerPluginLandingPageDisabled(),
      // No @cacheControl hints are used (the response cache keys on the catalog generation), and
      // Apollo's default cache-control plugin wraps every field resolver (willResolveField) to
      // collect them: a fifth of predict's allocations under load, measured.
      ApolloServerPluginCacheControlDisabled(),
      // PAYLOAD_TOO_LARGE is 413 wherever it is raised, as the body parser's own refusal is.
      errorStatusPlugin(),
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
  // First, so that every response has its x-request-id, whatever answers it.
  expressApp.use(requestIdMiddleware());
  expressApp.use(drainer.middleware);
  expressApp.use(httpMetricsMiddleware());
  // The routes browsers call; not /metrics or the Stripe webhook, which no page should reach.
  expressApp.use('/graphql', corsMiddleware(app.config.cors, ['GET', 'POST']));
  expressApp.use('/health', corsMiddleware(app.config.cors, ['GET']));
  expressApp.use('/v2', corsMiddleware(app.config.cors, ['GET', 'POST']));
  expressApp.use('/batches', corsMiddleware(app.config.cors, ['GET']));
  expressApp.use('/account', corsMiddleware(app.config.cors, ['GET']));
  expressApp.use(rootRoutes({ playground: app.config.playground }));
  // GET /graphql from a browser: the bundled playground, ahead of Apollo's handler.
  if (app.config.playground) expressApp.use(playgroundRoutes());
  expressApp.use(
    '/graphql',
    graphqlRequestScope(),
    // Follows INFERENCE_MAX_REQUEST_BYTES: its tensors fit as b64 (src/inference/request-size.ts).
    express.json({ limit: maxBodyBytes }),
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
    // Apollo's formatError finds the request id here (error extensions, log lines).
    requestIdContext(),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => buildHttpContext({ callers, fork }, req, requestIdOf(res)),
    }),
  );

  // After /graphql, so that API requests do not walk these routers' routes first (Express tries
  // every layer in order). The Stripe route reads its raw body itself (stripe-webhook.routes.ts);
  // the JSON parser above is mounted on /graphql only and never sees it.
  expressApp.use(healthRoutes(app));
  // The Open Inference Protocol (KServe v2) for Triton/KServe clients: same keys, rules, billing.
  expressApp.use(
    openInferenceRoutes({
      callers,
      fork,
      rateLimits: app.rateLimits,
      models: app.services.models,
      predictions: app.services.predictions,
      readiness: () => app.readiness(),
      maxBodyBytes,
      logger: app.logger,
    }),
  );
  expressApp.use(batchResultsRoutes({ callers, fork, batches: app.services.batchPredictions, logger: app.logger }));
  expressApp.use(accountExportRoutes({ callers, fork, accounts: app.services.auth.deletion, logger: app.logger }));
  expressApp.use(stripeWebhookRoutes(app));
  expressApp.use(metricsRoutes(app.config.metrics));
  expressApp.use(notFoundHandler());
  expressApp.use(
    bodyErrorHandler(app.logger, {
      maxRequestBytes: app.config.inference.maxRequestBytes,
      uploadMaxFieldBytes: app.config.uploadMaxFieldBytes,
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(listen.port, listen.host, () => resolve());
  });
  // Among several API processes, the primary serves METRICS_PORT (src/composition/api-cluster.ts).
  const metricsServer = await (
    cluster.isWorker ? Promise.resolve(undefined) : startMetricsServer(app.config.metrics, listen.host)
  ).catch(async (err: unknown) => {
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
