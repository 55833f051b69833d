import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PLAYGROUND_DIR } from '../../src/http/playground.routes.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The playground as a person uses it: Debian's Chromium (headless, via playwright-core) opens
 * GET /graphql, runs a query and shows the result. Every request the page makes must stay on
 * this server (no CDN). A screenshot lands in test-artifacts/ for a human to look at.
 *
 * CI installs Chromium (.ci/run); on a developer machine without it this file says so and skips,
 * except under CI=true where a missing browser is a failure.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI !== 'true') {
  process.stdout.write(
    `[playground] ${CHROMIUM} not found: GraphiQL browser test skipped (apt-get install chromium)\n`,
  );
}
const maybe = haveChromium || process.env.CI === 'true' ? describe : describe.skip;

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

maybe('GraphiQL playground in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];

  beforeAll(async () => {
    expect(existsSync(join(PLAYGROUND_DIR, 'main.js'))).toBe(true);
    server = await startTestServer();
    const f = new Factory(server.app);
    const owner = await f.user({ displayName: 'Playground Publisher' });
    await f.model(owner, { name: 'Playground Vision Model' });
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
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (
        url.protocol !== 'data:' &&
        url.origin !== server.origin &&
        url.origin !== server.origin.replace('http', 'ws')
      ) {
        foreign.push(req.url());
      }
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads with no request leaving the server, runs a query and shows the result', async () => {
    const res = await page.goto(`${server.origin}/graphql`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
    await setQuery(page, '{ models(first: 5) { totalCount edges { node { name owner { displayName } } } } }');
    await page.click('.graphiql-execute-button');
    const result = page.locator('.result-window');
    await result.getByText('Playground Vision Model').waitFor({ timeout: 20_000 });
    const text = await result.innerText();
    expect(text).toContain('"totalCount": 1');
    expect(text).toContain('Playground Publisher');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql-query.png') });
    expect(foreign).toEqual([]);
  }, 60_000);

  it('still answers GraphQL-over-HTTP GETs that ask for JSON', async () => {
    const res = await fetch(`${server.origin}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

/** GraphiQL 3 edits queries in CodeMirror 5, which exposes its editor on the wrapper element. */
async function setQuery(page: Page, query: string): Promise<void> {
  await page.evaluate((q) => {
    // Runs in the page; this project's tsconfig has no DOM types, so describe what is used.
    type CodeMirrorHost = { CodeMirror?: { setValue(v: string): void } };
    const doc = (globalThis as unknown as { document: { querySelector(s: string): CodeMirrorHost | null } }).document;
    const el = doc.querySelector('.graphiql-query-editor .CodeMirror');
    if (!el?.CodeMirror) throw new Error('query editor not found');
    el.CodeMirror.setValue(q);
  }, query);
}
