import {
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { Caller } from '../../shared/caller.js';
import type { Logger } from '../../shared/logger.js';
import type { RateLimitClass, RateLimitConfig } from '../auth.config.js';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.js';

/**
 * Root mutation fields with their own buckets (add new ones here). Every other mutation is
 * `mutation`; queries and subscriptions are `query`. Each root field costs one token, so 30
 * aliased `predict` calls in one document take 30 tokens.
 */
export const FIELD_CLASSES: Readonly<Record<string, RateLimitClass>> = {
  predict: 'predict',
  createPrediction: 'predict',
  uploadModelVersion: 'upload',
  login: 'auth',
  register: 'auth',
  refreshToken: 'auth',
};

/** Tokens per class that an operation takes. */
export function classifyOperation(document: DocumentNode, operationName?: string | null): Map<RateLimitClass, number> {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  const classes = new Map<RateLimitClass, number>();
  if (!operation) return classes;
  if (operation.operation !== OperationTypeNode.MUTATION) return classes.set('query', 1);
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [],
    ),
  );
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value === '__typename') continue;
        const cls = FIELD_CLASSES[s.name.value] ?? 'mutation';
        classes.set(cls, (classes.get(cls) ?? 0) + 1);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet, seen);
      } else if (!seen.has(s.name.value)) {
        const fragment = fragments.get(s.name.value);
        if (fragment) visit(fragment, new Set([...seen, s.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  if (classes.size === 0) classes.set('mutation', 1);
  return classes;
}

/**
 * Whose bucket: the user's — one for all their API keys and access tokens, so a new or rotated
 * key is no way around a limit — or, for anonymous callers, the client address's.
 */
export function principalOf(caller: Caller, clientIp: string | undefined): string {
  if (caller.kind === 'user') return `user:${caller.userId}`;
  return `ip:${clientIp ?? 'unknown'}`;
}

export type RateLimitOutcome = { headers: Record<string, string> };

/** RATE_LIMITED, carrying the response headers for HTTP (kept out of `extensions`). */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    details: Record<string, unknown>,
    readonly headers: Record<string, string>,
  ) {
    super(ErrorCode.RATE_LIMITED, message, details);
  }
}

/**
 * Applies the configured limits for one operation, over HTTP or WebSocket. Refusal is
 * RATE_LIMITED with `retryAfter` (seconds) in extensions and the RateLimit headers to send.
 * If the limiter itself fails (Redis down), the request goes through and the failure is logged:
 * a broken rate limiter must not take the whole API down with it.
 */
export class RateLimitPolicy {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: RateLimitConfig,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.config.enabled;
  }

  get implementation(): RateLimiter['kind'] {
    return this.limiter.kind;
  }

  close(): Promise<void> {
    return this.limiter.close();
  }

  async check(
    caller: Caller,
    clientIp: string | undefined,
    classes: Map<RateLimitClass, number>,
  ): Promise<RateLimitOutcome> {
    if (!this.config.enabled || classes.size === 0) return { headers: {} };
    const principal = principalOf(caller, clientIp);
    let tightest: { cls: RateLimitClass; decision: RateLimitDecision } | undefined;
    for (const [cls, cost] of classes) {
      const spec = this.config.limits[cls];
      let decision: RateLimitDecision;
      try {
        decision = await this.limiter.consume(`${cls}:${principal}`, spec, cost);
      } catch (err) {
        this.logger.error({ err, limiter: this.limiter.kind }, 'rate limiter unavailable: request let through');
        continue;
      }
      if (!decision.allowed) {
        const headers = headersFor(cls, decision, this.config);
        throw new RateLimitedError(
          `Rate limit exceeded for ${cls} operations: retry in ${decision.retryAfterSeconds} s`,
          { retryAfter: decision.retryAfterSeconds, limitClass: cls },
          headers,
        );
      }
      if (!tightest || decision.remaining / decision.limit < tightest.decision.remaining / tightest.decision.limit) {
        tightest = { cls, decision };
      }
    }
    return { headers: tightest ? headersFor(tightest.cls, tightest.decision, this.config) : {} };
  }
}

/** IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), plus Retry-After on refusal. */
function headersFor(cls: RateLimitClass, d: RateLimitDecision, config: RateLimitConfig): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(d.resetSeconds),
    'ratelimit-policy': `${d.limit};w=${config.limits[cls].windowSeconds};name="${cls}"`,
  };
  if (!d.allowed) headers['retry-after'] = String(d.retryAfterSeconds);
  return headers;
}
