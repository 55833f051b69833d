import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Role } from '../../../src/entities/enums.js';
import type { Model } from '../../../src/entities/model.entity.js';
import type { User } from '../../../src/entities/user.entity.js';
import { authHeaders } from '../../support/auth.js';
import { Factory } from '../../support/factories.js';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { reportChaos } from './chaos-report.js';

/**
 * The abuse corpus's harness: one real server per test file, a seeded generator for the corpus,
 * and the checks every bad request must pass (a sane status, a code on every error, nothing
 * internal in the body, nothing written, no temporary file left, the server still answering).
 */

/** mulberry32 over a string seed: the same corpus on every run and machine. */
export function seeded(seed: string): {
  next(): number;
  int(max: number): number;
  pick<T>(items: readonly T[]): T;
} {
  let a = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) a = Math.imul(a ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (max) => Math.floor(next() * max), pick: (items) => items[Math.floor(next() * items.length)] };
}

/** Tables whose row counts must not move when a request is refused. */
export const WATCHED_TABLES = [
  'users',
  'models',
  'model_versions',
  'predictions',
  'usage_records',
  'usage_counters',
  'reviews',
  'review_votes',
  'api_keys',
  'refresh_tokens',
  'invoices',
  'stripe_events',
] as const;
export type RowCounts = Record<(typeof WATCHED_TABLES)[number], number>;

export type AbuseResponse = {
  status: number;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } | undefined;
  /** The first error's code, 'OK' without errors, or `HTTP_<status>` for a body that is not GraphQL JSON. */
  outcome: string;
};

// What must never reach a client: stack frames, source or install paths, exception objects.
const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat [\w$.<>]+ \(|\bat (?:file:\/\/|\/)\S+:\d+:\d+/],
  ['stacktrace field', /"stacktrace"/],
  ['exception field', /"exception"/],
  ['source path', /\.(?:ts|js|mjs|cc|cpp|h):\d+/],
  ['install path', /node_modules|\/work\/|\/home\/|\/usr\/|onnxruntime_src/],
  ['temp path', /\/tmp\/|mm-models-|capacitor-/],
  ['SQL', /\b(?:select|insert|update|delete)\b.+\b(?:from|into|set)\b.+\bwhere\b/i],
];

/** Where a response shows something internal, or undefined. */
export function leakIn(text: string): string | undefined {
  for (const [what, pattern] of LEAKS) {
    const m = pattern.exec(text);
    if (m) return `${what}: …${text.slice(Math.max(0, m.index - 60), m.index + 80)}…`;
  }
  return undefined;
}

/** Every file under a folder, recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        if (statSync(p).isDirectory()) walk(p);
        else out.push(p);
      } catch {
        // removed while we looked
      }
    }
  };
  walk(dir);
  return out;
}

/** Outcome counts for one corpus class, and the problems seen, reported together. */
export class Tally {
  readonly outcomes: Record<string, number> = {};
  readonly problems: string[] = [];
  tried = 0;

  constructor(readonly fault: string) {}

  add(outcome: string): void {
    this.tried++;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  problem(what: string): void {
    if (this.problems.length < 20) this.problems.push(what);
  }

  report(notes?: string): void {
    reportChaos({ suite: 'abuse', fault: this.fault, tried: this.tried, outcomes: this.outcomes, notes });
  }
}

export type Fixtures = {
  consumer: User;
  otherConsumer: User;
  publisher: User;
  otherPublisher: User;
  consumerAuth: Record<string, string>;
  otherConsumerAuth: Record<string, string>;
  publisherAuth: Record<string, string>;
  otherPublisherAuth: Record<string, string>;
  /** A model of `publisher`. */
  model: Model;
};

export class AbuseHarness {
  server!: TestServer;
  f!: Factory;
  fx!: Fixtures;
  /** Where graphql-upload's fs-capacitor buffers uploads (TMPDIR, pointed here for the file). */
  readonly uploadTmp = mkdtempSync(join(tmpdir(), 'mm-abuse-tmp-'));
  private savedTmp: string | undefined;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.savedTmp = process.env.TMPDIR;
    this.server = await startTestServer(env);
    // After the server's own temporary folders exist: only upload buffers land here from now on.
    process.env.TMPDIR = this.uploadTmp;
    this.f = new Factory(this.server.app);
    const [consumer, otherConsumer, publisher, otherPublisher] = [
      await this.f.user(),
      await this.f.user(),
      await this.f.user({ role: Role.PUBLISHER }),
      await this.f.user({ role: Role.PUBLISHER }),
    ];
    const model = await this.f.model(publisher);
    this.fx = {
      consumer,
      otherConsumer,
      publisher,
      otherPublisher,
      consumerAuth: await authHeaders(this.server.app, consumer),
      otherConsumerAuth: await authHeaders(this.server.app, otherConsumer),
      publisherAuth: await authHeaders(this.server.app, publisher),
      otherPublisherAuth: await authHeaders(this.server.app, otherPublisher),
      model,
    };
    return this;
  }

  async close(): Promise<void> {
    if (this.savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.savedTmp;
    await this.server?.close();
    rmSync(this.uploadTmp, { recursive: true, force: true });
  }

  get origin(): string {
    return this.server.origin;
  }

  async counts(): Promise<RowCounts> {
    const em = this.server.app.db.orm.em.fork();
    const rows = await em
      .getConnection()
      .execute<{ t: string; n: string }[]>(
        WATCHED_TABLES.map((t) => `select '${t}' as t, count(*)::text as n from ${t}`).join(' union all '),
      );
    return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)])) as RowCounts;
  }

  /** Temporary files: partial model files in storage, upload buffers not released. */
  leftovers(): string[] {
    const storage = filesUnder(this.server.app.config.modelStorageDir).filter((p) => /\.partial$|\.partial\//.test(p));
    return [...storage, ...filesUnder(this.uploadTmp)];
  }

  /** Sends any request; parses the body as GraphQL JSON when it is JSON. */
  async send(init: RequestInit & { path?: string }): Promise<AbuseResponse> {
    const res = await fetch(`${this.origin}${init.path ?? '/graphql'}`, { method: 'POST', ...init });
    const text = await res.text();
    let body: AbuseResponse['body'];
    try {
      body = JSON.parse(text) as AbuseResponse['body'];
    } catch {
      body = undefined;
    }
    const first = body?.errors?.[0]?.extensions?.code;
    const outcome =
      typeof first === 'string' ? first : body && 'data' in body && !body.errors ? 'OK' : `HTTP_${res.status}`;
    return { status: res.status, text, body, outcome };
  }

  /** POSTs a GraphQL operation as JSON. */
  gql(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
    return this.send({
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
  }

  /**
   * The checks for one refused (or harmlessly answered) request; problems go to the tally.
   * `allow5xx` lists statuses documented for this route (e.g. 503 when a feature is off).
   */
  check(tally: Tally, label: string, res: AbuseResponse, options: { allow5xx?: number[]; graphql?: boolean } = {}) {
    tally.add(res.outcome);
    if (res.status >= 500 && !options.allow5xx?.includes(res.status)) {
      tally.problem(`${label}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    }
    if (res.status < 200 || (res.status >= 300 && res.status < 400)) tally.problem(`${label}: HTTP ${res.status}`);
    if ((options.graphql ?? true) && !res.body) tally.problem(`${label}: not JSON: ${res.text.slice(0, 200)}`);
    for (const e of res.body?.errors ?? []) {
      if (typeof e.extensions?.code !== 'string') tally.problem(`${label}: error without a code: ${JSON.stringify(e)}`);
    }
    if (res.outcome === 'INTERNAL_SERVER_ERROR') tally.problem(`${label}: INTERNAL_SERVER_ERROR`);
    const leak = leakIn(res.text);
    if (leak) tally.problem(`${label}: ${leak}`);
  }

  /** A valid query still answers (the process neither crashed nor hangs). */
  async alive(): Promise<void> {
    const res = await fetch(`${this.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.fx.consumerAuth },
      body: JSON.stringify({ query: '{ me { id } models(first: 1) { totalCount } }' }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { data?: { me: { id: string } }; errors?: unknown };
    if (res.status !== 200 || body.errors || body.data?.me.id !== this.fx.consumer.id) {
      throw new Error(`the server no longer answers a valid query: ${res.status} ${JSON.stringify(body)}`);
    }
  }
}

/**
 * Heap in use after a full garbage collection. Jest runs without --expose-gc; the flag can be
 * turned on at run time, and a fresh context then sees the `gc` function.
 */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Open file descriptors of this process (Linux), 0 where /proc is not there. */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** Runs `fn` over `items` with at most `n` at once (the corpus is large; the machine is small). */
export async function inBatches<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += n) {
    await Promise.all(items.slice(i, i + n).map((item, j) => fn(item, i + j)));
  }
}
