import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createLoaders, type Loaders } from '../catalog/catalog.loaders.js';
import { ANONYMOUS, type Caller } from '../shared/caller.js';
import { RequestLoaders } from '../shared/request-loaders.js';
import type { GraphQLContext } from './context.js';

/**
 * One operation's context. Its EntityManager fork and its loaders are made on first use: many
 * operations never touch them (`predict` reads through caches and writes through the recorder),
 * and a fork per request was a measurable share of a cheap request's CPU.
 *
 * The lazy parts are getters on the prototype over plain own fields, because Apollo clones the
 * context per operation with `Object.assign(Object.create(prototype), context)`: the clone keeps
 * the getters and copies the (still empty) fields, so it makes its own fork — still one per
 * operation, never shared between callers. Do not spread a context (`{ ...ctx }` drops the
 * getters); set `clientIp` on it instead.
 */
class OperationContext implements GraphQLContext {
  clientIp?: string;
  private lazyEm: EntityManager | undefined = undefined;
  private lazyLoaders: Loaders | undefined = undefined;
  private lazyRequestLoaders: RequestLoaders | undefined = undefined;

  constructor(
    private readonly fork: () => EntityManager,
    readonly requestId: string,
    readonly caller: Caller,
  ) {}

  get em(): EntityManager {
    return (this.lazyEm ??= this.fork());
  }

  get loaders(): Loaders {
    return (this.lazyLoaders ??= createLoaders(this.em, this.caller));
  }

  get requestLoaders(): RequestLoaders {
    return (this.lazyRequestLoaders ??= new RequestLoaders());
  }
}

/** A fresh context: its own EntityManager fork and its own loaders (made on first use), for one operation. */
export function buildContext(
  fork: () => EntityManager,
  options: { requestId?: string; caller?: Caller } = {},
): GraphQLContext {
  return new OperationContext(fork, options.requestId ?? randomUUID(), options.caller ?? ANONYMOUS);
}
