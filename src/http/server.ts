import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { App } from '../app.js';
import { buildContext } from '../graphql/build-context.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createFormatError } from '../graphql/format-error.js';
import { currentSqlCounter, withSqlCounter } from '../db/sql-counter.js';
import { bodyErrorHandler } from './body-errors.js';
import { healthRoutes } from './health.routes.js';

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
  const formatError = createFormatError({ production: app.config.env === 'production', logger: app.logger });
  const wsCleanup = useServer<Record<string, unknown>, { ctx?: GraphQLContext }>(
    {
      schema: app.schema,
      context: () => buildContext(app),
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
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // No CDN-hosted landing page: GET /graphql from a browser gets the bundled playground.
      ApolloServerPluginLandingPageDisabled(),
      {
        // Outside production every response says how many SQL statements it took
        // (`x-sql-statements`): the N+1 test and the benchmark read it.
        async requestDidStart() {
          return {
            async willSendResponse({ response }) {
              const counter = currentSqlCounter();
              if (counter && app.config.env !== 'production') {
                response.http.headers.set('x-sql-statements', String(counter.statements));
              }
            },
          };
        },
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  expressApp.use(healthRoutes(app));
  expressApp.use(
    '/graphql',
    (_req, _res, next) => {
      withSqlCounter(() => next());
    },
    express.json({ limit: '10mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const header = req.headers['x-request-id'];
        const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
        return buildContext(app, { requestId });
      },
    }),
  );

  expressApp.use(bodyErrorHandler(app.logger));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? 'localhost' : listen.host;
  return {
    server: httpServer,
    port,
    url: `http://${host}:${port}/graphql`,
    async close() {
      await apollo.stop();
    },
  };
}
