import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Role } from '../../src/entities/enums.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * CORS in a real browser: Debian's Chromium (headless, via playwright-core) opens pages served by
 * this test on other ports and calls the API from them with fetch, as a front end would. From the
 * origin listed in CORS_ORIGINS a query, a mutation with Authorization and a multipart upload with
 * apollo-require-preflight succeed and the page can read `x-request-id`; from an unlisted origin
 * the browser blocks all three, and the non-simple ones never reach the resolvers.
 *
 * As in test/playground/graphiql.test.ts: without Chromium this file says so and skips, except
 * under CI=true where a missing browser is a failure.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI !== 'true') {
  process.stdout.write(`[cors] ${CHROMIUM} not found: CORS browser test skipped (apt-get install chromium)\n`);
}
const maybe = haveChromium || process.env.CI === 'true' ? describe : describe.skip;

/** A blank page on its own port: the "front end" whose origin the browser sends. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>front end</title>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

type Outcome = { ok: true; status: number; requestId: string | null; body: unknown } | { ok: false; error: string };

/** The three calls a front end makes, run inside the page; each resolves to what the page could see. */
async function callsFromPage(
  page: Page,
  args: { api: string; authorization: string; slug: string; model: number[] },
): Promise<{ query: Outcome; mutation: Outcome; upload: Outcome }> {
  return page.evaluate(async ({ api, authorization, slug, model }) => {
    // Runs in the page; this project's tsconfig has no DOM types, so fetch, FormData and Blob come
    // from the same globals Node has.
    const read = async (res: Response): Promise<Outcome> => ({
      ok: true,
      status: res.status,
      requestId: res.headers.get('x-request-id'),
      body: await res.json(),
    });
    const attempt = (p: Promise<Response>) => p.then(read, (e: unknown) => ({ ok: false as const, error: String(e) }));
    const json = { 'content-type': 'application/json' };
    const query = await attempt(
      fetch(api, { method: 'POST', headers: json, body: JSON.stringify({ query: '{ models { totalCount } }' }) }),
    );
    const mutation = await attempt(
      fetch(api, {
        method: 'POST',
        headers: { ...json, authorization },
        body: JSON.stringify({
          query: 'mutation ($input: CreateModelInput!) { createModel(input: $input) { id slug } }',
          variables: { input: { slug, name: `Browser ${slug}`, task: 'demo' } },
        }),
      }),
    );
    const created = mutation.ok
      ? (mutation.body as { data?: { createModel?: { id: string } } }).data?.createModel
      : null;
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query:
          'mutation ($modelId: ID!, $file: Upload!) { uploadModelVersion(modelId: $modelId, version: "1.0.0", file: $file) { id status } }',
        // A model id that exists even when the mutation above was blocked, so only CORS decides.
        variables: { modelId: created?.id ?? '00000000-0000-4000-8000-000000000000', file: null },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob([new Uint8Array(model)]), 'model.onnx');
    const upload = await attempt(
      fetch(api, { method: 'POST', headers: { authorization, 'apollo-require-preflight': 'true' }, body: form }),
    );
    return { query, mutation, upload };
  }, args);
}

maybe('CORS in Chromium', () => {
  let api: TestServer;
  let browser: Browser;
  let allowed: { server: Server; origin: string };
  let foreign: { server: Server; origin: string };
  let authorization: string;
  const model = [...readFileSync(join('test/fixtures/models', 'elementwise.onnx'))];

  beforeAll(async () => {
    allowed = await pageServer();
    foreign = await pageServer();
    api = await startTestServer({ CORS_ORIGINS: allowed.origin });
    const f = new Factory(api.app);
    await f.model(await f.user(), { name: 'Listed Model' });
    ({ authorization } = await authHeaders(api.app, await f.user({ role: Role.PUBLISHER })));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    allowed?.server.close();
    foreign?.server.close();
  });

  it('lets the listed origin query, mutate with Authorization and upload with apollo-require-preflight', async () => {
    const page = await browser.newPage();
    await page.goto(`${allowed.origin}/`);
    const out = await callsFromPage(page, { api: api.url, authorization, slug: 'from-allowed', model });
    expect(out.query).toEqual({
      ok: true,
      status: 200,
      requestId: expect.any(String) as unknown,
      body: { data: { models: { totalCount: 1 } } },
    });
    expect(out.mutation).toMatchObject({
      ok: true,
      status: 200,
      body: { data: { createModel: { slug: 'from-allowed' } } },
    });
    expect(out.upload).toMatchObject({
      ok: true,
      status: 200,
      body: { data: { uploadModelVersion: { status: 'PROCESSING' } } },
    });
    const versionId = (out.upload as { body: { data: { uploadModelVersion: { id: string } } } }).body.data
      .uploadModelVersion.id;
    await api.app.services.versions.whenValidated(versionId);
    await page.close();
  }, 60_000);

  it('blocks all three from an unlisted origin, and the mutation and upload never run', async () => {
    const page = await browser.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    await page.goto(`${foreign.origin}/`);
    const out = await callsFromPage(page, { api: api.url, authorization, slug: 'from-foreign', model });
    for (const call of [out.query, out.mutation, out.upload]) {
      expect(call).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
    }
    expect(console.filter((line) => /blocked by CORS policy/.test(line))).toHaveLength(3);
    const res = await api.gql('{ model(slug: "from-foreign") { id } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await page.close();
  }, 60_000);
});
