import '../support/bench-env.js';
import { print } from 'graphql';
import { Role } from '../../src/entities/enums.js';
import { CatalogPageDocument } from '../../test/generated/graphql.js';
import { Factory } from '../../test/support/factories.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { createApp } from '../../src/app.js';
import { startServer } from '../../src/http/server.js';
import type { BenchScenario } from '../harness.js';
import { latency, round } from '../harness.js';
import { load } from '../support/load.js';
import { startBareApollo } from '../support/bare-apollo.js';

/**
 * A catalog page of 20 models with owners, default versions, versions and reviews with their
 * authors (test/operations/catalog.graphql), as a front end asks for it. Baseline: a bare Apollo
 * Server (same Express integration, same schema SDL) answering the same query from memory with
 * the exact data ours returned, so the ratio prices the database, loaders and our plugins.
 * Targets: SQL statements independent of page size and <= 8; throughput >= the bare server's.
 *
 * Measured twice: cold (CATALOG_CACHE_TTL_MS=0, every request executes: the price of the database
 * and loaders) and warm (the response cache on, as deployed: anonymous reads of an unchanged page
 * are answered from memory). The target is judged on the warm figure, the deployed configuration.
 */
export const scenario: BenchScenario = {
  name: 'catalog',
  title: 'Catalog page (20 models with owners, versions, reviews): SQL statements and throughput vs bare Apollo',
  async run({ log, quick }) {
    const seconds = quick ? 3 : 10;
    const connections = 32;
    // Cache off: the seeding and the SQL counts go through real execution. The warm server below
    // shares this database (a second app over the same URL) with the cache on.
    const server = await startTestServer();
    let warmServer: Awaited<ReturnType<typeof startWarmServer>> | undefined;
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

      log(`ours, cache off (cold): ${connections} connections for ${seconds}s`);
      const cold = await load({ url: server.url, body, connections, seconds });

      warmServer = await startWarmServer(server);
      log(`ours, response cache on (warm): ${connections} connections for ${seconds}s`);
      const ours = await load({ url: warmServer.url, body, connections, seconds });

      const bare = await startBareApollo(page.data as Record<string, unknown>);
      try {
        log(`bare Apollo from memory: ${connections} connections for ${seconds}s`);
        const baseline = await load({ url: bare.url, body, connections, seconds });
        const ratio = round(ours.rps / baseline.rps, 3);
        const coldRatio = round(cold.rps / baseline.rps, 3);
        const constant = sql[5] === sql[20] && sql[20] === sql[50];
        return {
          metrics: {
            'sql statements, page of 5': sql[5],
            'sql statements, page of 20': sql[20],
            'sql statements, page of 50': sql[50],
            'ours cold (cache off) requests/s': cold.rps,
            ...latency('ours cold', cold.p50Ms, cold.p99Ms, 'ms'),
            'ours warm (response cache) requests/s': ours.rps,
            ...latency('ours warm', ours.p50Ms, ours.p99Ms, 'ms'),
            'bare apollo requests/s': baseline.rps,
            ...latency('bare apollo', baseline.p50Ms, baseline.p99Ms, 'ms'),
            'throughput ratio cold / bare': coldRatio,
            'throughput ratio warm / bare': ratio,
            'failed requests, cold': cold.failed,
            'failed requests, warm': ours.failed,
            'failed requests, bare': baseline.failed,
          },
          targets: [
            {
              name: 'SQL statements per catalog page, any size',
              value: sql[20],
              target: '<= 8 and equal for 5, 20, 50',
              pass: constant && sql[20] <= 8,
            },
            {
              name: 'throughput vs bare Apollo from memory (response cache on)',
              value: ratio,
              target: '>= 1.0',
              pass: ratio >= 1,
            },
          ],
        };
      } finally {
        await bare.close();
      }
    } finally {
      await warmServer?.close();
      await server.close();
    }
  },
};

/** A second app over the cold server's database, with the response cache as deployed (default TTL). */
async function startWarmServer(cold: TestServer) {
  // The embedded database is one process's files: a second app cannot open them.
  if (!cold.app.config.databaseUrl) throw new Error('the catalog bench needs DATABASE_URL (PostgreSQL)');
  const config = { ...cold.app.config, catalogCacheTtlMs: 2000 };
  const app = await createApp(config, { logger: cold.app.logger });
  try {
    const running = await startServer(app, { port: 0, host: '127.0.0.1' });
    return {
      url: running.url,
      async close() {
        await running.close();
        await app.close();
      },
    };
  } catch (err) {
    await app.close();
    throw err;
  }
}
