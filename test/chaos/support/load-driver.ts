import { randomUUID } from 'node:crypto';
import { print, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import {
  CreatePredictionDocument,
  MyPredictionEventsDocument,
  PredictDocument,
  PredictionUpdatedDocument,
} from '../../generated/graphql.js';
import { sleep } from './spare-port.js';

/**
 * Steady load for the fault suites, as clients behind a load balancer send it: sync `predict`,
 * async `createPrediction` (with an idempotency key, retried on a retryable error the way a client
 * library does), and graphql-ws subscribers that reconnect on their own. Every response is
 * classified into an outcome and counted per phase ('before', 'down', 'after', …), so a test can
 * say what clients saw while a dependency or a process was gone:
 * - `OK`, or the GraphQL error's `extensions.code` (e.g. `SERVICE_UNAVAILABLE`);
 * - `HTTP_<status>` for a response without a GraphQL body;
 * - `REFUSED` (nothing listening: a load balancer would route elsewhere; we do),
 *   `RESET` (a connection cut mid-request), `HANG` (no answer within `requestTimeoutMs`).
 */
export type Outcome = string;
export type GraphQLBody<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** The `extensions.code` of a GraphQL error, or NO_CODE. */
export function codeOf(error: { extensions?: Record<string, unknown> } | undefined): string {
  const code = error?.extensions?.code;
  return typeof code === 'string' ? code : 'NO_CODE';
}

export const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

export type LoadOptions = {
  /** API origins to spread requests over; a replica that refuses a connection is skipped. */
  origins: () => string[];
  authorization: string;
  modelId: string;
  /** The longest a client waits for an answer (beyond it: HANG). */
  requestTimeoutMs?: number;
};

export class LoadDriver {
  phase = 'before';
  readonly outcomes = new Map<string, Map<Outcome, number>>();
  /** The slowest answer per phase (ms), whatever its outcome. */
  readonly slowestMs = new Map<string, number>();
  /** Sample messages per outcome (the first few), for failure messages and notes. */
  readonly samples = new Map<Outcome, string[]>();
  /** Jobs `createPrediction` returned an id for: the API accepted them. */
  readonly accepted = new Set<string>();
  /** Sync predictions that returned outputs: each must be SUCCEEDED with one usage record. */
  readonly syncSucceeded = new Set<string>();
  /** Per accepted id, the phase it was accepted in. */
  readonly acceptedIn = new Map<string, string>();
  /** Called with each accepted job id (e.g. to follow some with `predictionUpdated`). */
  onAccepted?: (id: string) => void;
  private running = false;
  private loops: Promise<void>[] = [];
  private next = 0;
  private readonly timeoutMs: number;

  constructor(private readonly options: LoadOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 20_000;
  }

  count(outcome: Outcome, sample?: string) {
    const phase = this.outcomes.get(this.phase) ?? new Map<Outcome, number>();
    phase.set(outcome, (phase.get(outcome) ?? 0) + 1);
    this.outcomes.set(this.phase, phase);
    if (sample && outcome !== 'OK') {
      const list = this.samples.get(outcome) ?? [];
      if (list.length < 3) list.push(sample);
      this.samples.set(outcome, list);
    }
  }

  /** Outcome counts for every phase, flattened as `<phase>:<outcome>` (for reportChaos). */
  flatOutcomes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [phase, m] of this.outcomes) for (const [o, n] of m) out[`${phase}:${o}`] = n;
    return out;
  }

  /** Outcomes of one phase. */
  phaseOutcomes(phase: string): Record<string, number> {
    return Object.fromEntries(this.outcomes.get(phase) ?? []);
  }

  total(): number {
    let n = 0;
    for (const m of this.outcomes.values()) for (const v of m.values()) n += v;
    return n;
  }

  /** One GraphQL request over HTTP, classified. A refused connection is tried on the next origin. */
  async request<T>(
    document: DocumentNode,
    variables: Record<string, unknown>,
  ): Promise<{ outcome: Outcome; body?: GraphQLBody<T> }> {
    const started = Date.now();
    const phase = this.phase;
    try {
      return await this.requestOnce<T>(document, variables);
    } finally {
      const op = (document.definitions[0] as { name?: { value: string } }).name?.value ?? '?';
      const key = `${phase}:${op}`;
      this.slowestMs.set(key, Math.max(this.slowestMs.get(key) ?? 0, Date.now() - started));
    }
  }

  private async requestOnce<T>(
    document: DocumentNode,
    variables: Record<string, unknown>,
  ): Promise<{ outcome: Outcome; body?: GraphQLBody<T> }> {
    // Each origin at most once, from a snapshot: with the shared round-robin counter, concurrent
    // requests advanced it between one request's tries, and a retry could land on the same
    // refusing replica again (a draining API stops listening before its process exits) — a
    // client-side artefact the SIGTERM fault reported as REFUSED once in CI.
    const all = this.options.origins();
    const start = this.next++;
    const tries = Math.max(1, all.length);
    let outcome: Outcome = 'REFUSED';
    let detail = '';
    for (let i = 0; i < tries; i++) {
      const origin = all[(start + i) % all.length];
      try {
        const res = await fetch(`${origin}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: this.options.authorization },
          body: JSON.stringify({ query: print(document), variables }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await res.text();
        let body: GraphQLBody<T>;
        try {
          body = JSON.parse(text) as GraphQLBody<T>;
        } catch {
          this.count(`HTTP_${res.status}`, text.slice(0, 200));
          return { outcome: `HTTP_${res.status}` };
        }
        if (body.errors?.length) {
          const code = codeOf(body.errors[0]);
          this.count(code, body.errors[0].message);
          return { outcome: code, body };
        }
        this.count('OK');
        return { outcome: 'OK', body };
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        if (e.name === 'TimeoutError' || e.name === 'AbortError') {
          outcome = 'HANG';
          detail = `${origin}: no answer in ${this.timeoutMs} ms`;
          break;
        }
        const code = e.cause?.code ?? '';
        detail = `${origin}: ${code} ${e.cause?.message ?? e.message}`;
        if (code === 'ECONNREFUSED') {
          outcome = 'REFUSED';
          continue; // a load balancer would send it elsewhere
        }
        outcome = 'RESET';
        break;
      }
    }
    this.count(outcome, detail);
    return { outcome };
  }

  /** Sync predict; records the prediction id of a success. */
  async predictOnce(): Promise<Outcome> {
    const r = await this.request<{ predict: { prediction: { id: string; status: string } } }>(PredictDocument, {
      modelId: this.options.modelId,
      inputs: [X],
    });
    if (r.outcome === 'OK') this.syncSucceeded.add(r.body!.data!.predict.prediction.id);
    return r.outcome;
  }

  /**
   * createPrediction with an idempotency key; a retryable failure (SERVICE_UNAVAILABLE, a cut
   * connection) is retried with the same key, as a client library does, up to `retries` times.
   */
  async createJob(retries = 3): Promise<string | undefined> {
    const key = randomUUID();
    for (let attempt = 0; attempt <= retries; attempt++) {
      const r = await this.request<{ createPrediction: { id: string } }>(CreatePredictionDocument, {
        input: { modelId: this.options.modelId, inputs: [X], idempotencyKey: key },
      });
      if (r.outcome === 'OK') {
        const id = r.body!.data!.createPrediction.id;
        this.accepted.add(id);
        this.acceptedIn.set(id, this.phase);
        this.onAccepted?.(id);
        return id;
      }
      if (!['SERVICE_UNAVAILABLE', 'RESET', 'REFUSED', 'HANG'].includes(r.outcome)) return undefined;
      await sleep(500);
    }
    return undefined;
  }

  /**
   * Starts `sync` predict loops and `async` createPrediction loops, each pausing `pauseMs`;
   * `retries`: how often a createPrediction is retried (same idempotency key) on a retryable error.
   */
  start(load: { sync: number; async: number; pauseMs: number; retries?: number }) {
    this.running = true;
    const loop = async (fn: () => Promise<unknown>) => {
      while (this.running) {
        await fn();
        await sleep(this.pauseMs(load.pauseMs));
      }
    };
    for (let i = 0; i < load.sync; i++) this.loops.push(loop(() => this.predictOnce()));
    for (let i = 0; i < load.async; i++) this.loops.push(loop(() => this.createJob(load.retries ?? 0)));
  }

  private pauseMs(ms: number) {
    return ms / 2 + Math.random() * ms;
  }

  async stop() {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }
}

/**
 * A graphql-ws client that reconnects by itself (to whichever origin `origins()` lists first that
 * answers) and re-subscribes its operations after every reconnect, as graphql-ws clients do.
 */
export function reconnectingClient(origins: () => string[], authorization: string): Client & { connects: number } {
  let n = 0;
  const state = { connects: 0 };
  const client = createClient({
    url: () => {
      const all = origins();
      return `${all[n++ % all.length].replace('http', 'ws')}/graphql`;
    },
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 1000,
    shouldRetry: () => true,
    retryWait: async () => sleep(200 + Math.random() * 300),
    on: { connected: () => void state.connects++ },
  });
  return Object.defineProperty(client, 'connects', { get: () => state.connects }) as Client & { connects: number };
}

/** `myPredictionEvents` on a client: every (id, status) it delivers, in order, until closed. */
export function followMyEvents(client: Client) {
  const statuses = new Map<string, string[]>();
  let errors = 0;
  const stop = client.subscribe<{ myPredictionEvents: { id: string; status: string } }>(
    { query: print(MyPredictionEventsDocument) },
    {
      next: (e) => {
        const p = e.data?.myPredictionEvents;
        if (p) statuses.set(p.id, [...(statuses.get(p.id) ?? []), p.status]);
      },
      error: () => void errors++,
      complete: () => undefined,
    },
  );
  return {
    statuses,
    get errors() {
      return errors;
    },
    close: () => stop(),
  };
}

/**
 * `predictionUpdated(id)` until it completes: the statuses it delivered (the current state first,
 * then changes), and whether it completed. After a reconnect graphql-ws subscribes again, and the
 * server starts again from the current state.
 */
export function followPrediction(client: Client, id: string) {
  const seen: string[] = [];
  let resolveDone!: (how: 'complete' | 'error') => void;
  const done = new Promise<'complete' | 'error'>((r) => (resolveDone = r));
  let error: unknown;
  const stop = client.subscribe<{ predictionUpdated: { id: string; status: string } }>(
    { query: print(PredictionUpdatedDocument), variables: { id } },
    {
      next: (e) => {
        const s = e.data?.predictionUpdated?.status;
        if (s) seen.push(s);
        else if (e.errors) seen.push(`error:${codeOf(e.errors[0])}`);
      },
      error: (err) => {
        error = err;
        resolveDone('error');
      },
      complete: () => resolveDone('complete'),
    },
  );
  return { id, seen, done, close: () => stop(), error: () => error };
}

/** Polls `GET /health/ready` every `everyMs`, counting status codes per phase of `load`. */
export function probeReadiness(origin: () => string, load: LoadDriver, everyMs = 200) {
  const seen = new Map<string, Map<string, number>>();
  let running = true;
  const record = (what: string) => {
    const m = seen.get(load.phase) ?? new Map<string, number>();
    m.set(what, (m.get(what) ?? 0) + 1);
    seen.set(load.phase, m);
  };
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(`${origin()}/health/ready`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        record(String(res.status));
      } catch (err) {
        record((err as Error).name === 'TimeoutError' ? 'HANG' : 'NETWORK');
      }
      await sleep(everyMs);
    }
  })();
  return {
    /** Counts of one phase, e.g. { '200': 4, '503': 9 }. */
    of: (phase: string) => Object.fromEntries(seen.get(phase) ?? []),
    async stop() {
      running = false;
      await loop;
    },
  };
}
