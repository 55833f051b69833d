import '../support/bench-env.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { buildSchema, print } from 'graphql';
import { Role } from '../../src/entities/enums.js';
import { CatalogPageDocument } from '../../test/generated/graphql.js';
import { Factory } from '../../test/support/factories.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { round } from '../harness.js';
import { load } from '../support/load.js';

/**
 * A catalog page of 20 models with owners, default versions, versions and reviews with their
 * authors (test/operations/catalog.graphql), as a front end asks for it. Baseline: a bare Apollo
 * Server (same Express integration, same schema SDL) answering the same query from memory with
 * the exact data ours returned, so the ratio prices the database, loaders and our plugins.
 * Targets: SQL statements independent of page size and <= 8; throughput >= the bare server's.
 */
export const scenario: BenchScenario = {
  name: 'catalog',
  title: 'Catalog page (20 models with owners, versions, reviews): SQL statements and throughput vs bare Apollo',
  async run({ log, quick }) {
    const seconds = quick ? 3 : 10;
    const connections = 32;
    const server = await startTestServer();
    try {
      log('seeding 60 models, 2 versions each, up to 4 reviews each');
      const f = new Factory(server.app);
      const publishers = [];
      for (let i = 0; i < 6; i++) publishers.push(await f.user({ role: Role.PUBLISHER }));
      const reviewers = [];
      for (let i = 0; i < 8; i++) reviewers.push(await f.user());
      for (let i = 0; i < 60; i++) {
        const model = await f.model(publishers[i % publishers.length], { tags: ['vision'] });
        await f.version(model, { version: '1.0.0' });
        await f.version(model, { version: '1.1.0' });
        for (let r = 0; r < 1 + (i % 4); r++)
          await f.review(model, reviewers[(i + r) % reviewers.length], 1 + ((i + r) % 5));
      }

      const sql: Record<number, number> = {};
      for (const first of [5, 20, 50]) sql[first] = (await server.gql(CatalogPageDocument, { first })).sqlStatements;
      log(`SQL statements per page: ${JSON.stringify(sql)}`);

      const page = await server.gql(CatalogPageDocument, { first: 20 });
      if (page.errors) throw new Error(`catalog query failed: ${JSON.stringify(page.errors)}`);
      const body = JSON.stringify({ query: print(CatalogPageDocument), variables: { first: 20 } });

      log(`ours: ${connections} connections for ${seconds}s`);
      const ours = await load({ url: server.url, body, connections, seconds });

      const bare = await startBareApollo(page.data as Record<string, unknown>);
      try {
        log(`bare Apollo from memory: ${connections} connections for ${seconds}s`);
        const baseline = await load({ url: bare.url, body, connections, seconds });
        const ratio = round(ours.rps / baseline.rps, 3);
        const constant = sql[5] === sql[20] && sql[20] === sql[50];
        return {
          metrics: {
            'sql statements (page of 5 / 20 / 50)': `${sql[5]} / ${sql[20]} / ${sql[50]}`,
            'ours requests/s': ours.rps,
            'ours p50 / p99 ms': `${ours.p50Ms} / ${ours.p99Ms}`,
            'bare apollo requests/s': baseline.rps,
            'bare apollo p50 / p99 ms': `${baseline.p50Ms} / ${baseline.p99Ms}`,
            'throughput ratio ours / bare': ratio,
            'failed requests (ours, bare)': `${ours.failed}, ${baseline.failed}`,
          },
          targets: [
            {
              name: 'SQL statements per catalog page, any size',
              value: sql[20],
              target: '<= 8 and equal for 5, 20, 50',
              pass: constant && sql[20] <= 8,
            },
            { name: 'throughput vs bare Apollo from memory', value: ratio, target: '>= 1.0', pass: ratio >= 1 },
          ],
        };
      } finally {
        await bare.close();
      }
    } finally {
      await server.close();
    }
  },
};

/** Apollo Server over the committed SDL, resolving the whole query from a captured response. */
async function startBareApollo(data: Record<string, unknown>) {
  const sdl = readFileSync(join(import.meta.dirname, '../../schema.graphql'), 'utf8');
  // Default resolvers read properties of the root value: the captured `data` answers every field.
  const apollo = new ApolloServer({ schema: buildSchema(sdl), rootValue: data, stopOnTerminationSignals: false });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json(), expressMiddleware(apollo, { context: async () => ({}) }));
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      await apollo.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
