import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { Role } from '../../src/entities/enums.js';
import { PLAYGROUND_DIR } from '../../src/http/playground.routes.js';
import { CreatePredictionDocument } from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The playground as a person uses it: Debian's Chromium (headless, via playwright-core) opens
 * GET /graphql, runs a query and shows the result; then, signed in through the Headers tab, runs a
 * subscription over graphql-ws and shows the event of a prediction queued over HTTP. Every
 * request the page makes must stay on this server (no CDN). Screenshots land in test-artifacts/
 * for a human to look at.
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
    await setEditor(
      page,
      '.graphiql-query-editor .CodeMirror',
      '{ models(first: 5) { totalCount edges { node { name owner { displayName } } } } }',
    );
    const result = page.locator('.result-window');
    // On a loaded machine a click can land while GraphiQL is still busy (fetching the schema) and
    // be dropped: click again, a bounded number of times, until the result shows.
    for (let attempt = 1; ; attempt++) {
      await page.click('.graphiql-execute-button');
      try {
        await result.getByText('Playground Vision Model').waitFor({ timeout: 15_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    const text = await result.innerText();
    expect(text).toContain('"totalCount": 1');
    expect(text).toContain('Playground Publisher');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql-query.png') });
    expect(foreign).toEqual([]);
  }, 90_000);

  it('runs a subscription with the Headers tab credentials and shows a prediction event from HTTP', async () => {
    // Made here, not in beforeAll, so the query test above counts one model.
    const f = new Factory(server.app);
    const publisher = await f.user({ role: Role.PUBLISHER });
    const model = await f.model(publisher, { name: 'Playground Elementwise' });
    await storedVersion(server.app, model, 'elementwise', { version: '1.0.0' });
    const headers = await authHeaders(server.app, await f.user({ displayName: 'Playground Consumer' }));

    await page.click('.graphiql-editor-tools button[data-name="headers"]');
    await setEditor(
      page,
      'section[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror',
      JSON.stringify({ Authorization: headers.authorization }),
    );
    await setEditor(
      page,
      '.graphiql-query-editor .CodeMirror',
      'subscription MyEvents { myPredictionEvents { id status } }',
    );
    await page.click('.graphiql-execute-button');
    // The playground's fetcher opens the WebSocket lazily; until it has subscribed, an event has
    // no listener. Queue predictions over HTTP until one shows up (bounded), as a user would retry.
    const result = page.locator('.result-window');
    const created: string[] = [];
    let shown: string | undefined;
    for (let attempt = 0; attempt < 10 && !shown; attempt++) {
      const res = await server.gql(CreatePredictionDocument, { input: { modelId: model.id, inputs: [X] } }, headers);
      expect(res.errors).toBeUndefined();
      created.push(res.data!.createPrediction.id);
      shown = await waitForAny(result, created, 3_000);
    }
    expect(shown).toBeDefined();
    // The stream goes on to the job's last status: the pane ends on SUCCEEDED.
    await result.getByText('SUCCEEDED').waitFor({ timeout: 20_000 });
    const text = await result.innerText();
    expect(text).toContain('"myPredictionEvents"');
    expect(created.some((id) => text.includes(`"id": "${id}"`))).toBe(true);
    expect(text).toContain('"status": "SUCCEEDED"');
    expect(text).not.toContain('"errors"');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql-subscription.png') });
    expect(foreign).toEqual([]);
  }, 90_000);

  it('still answers GraphQL-over-HTTP GETs that ask for JSON', async () => {
    const res = await fetch(`${server.origin}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

/** GraphiQL 3 edits in CodeMirror 5, which exposes its editor on the wrapper element. */
async function setEditor(page: Page, selector: string, value: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 10_000 });
  await page.evaluate(
    ([sel, v]) => {
      // Runs in the page; this project's tsconfig has no DOM types, so describe what is used.
      type CodeMirrorHost = { CodeMirror?: { setValue(v: string): void } };
      const doc = (globalThis as unknown as { document: { querySelector(s: string): CodeMirrorHost | null } }).document;
      const el = doc.querySelector(sel);
      if (!el?.CodeMirror) throw new Error(`editor not found: ${sel}`);
      el.CodeMirror.setValue(v);
    },
    [selector, value] as const,
  );
}

/** The first of these ids to appear in the locator's text within `ms`, or undefined. */
async function waitForAny(locator: Locator, ids: string[], ms: number): Promise<string | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const text = await locator.innerText();
    const id = ids.find((i) => text.includes(i));
    if (id) return id;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
