import type { EntityManager } from '@mikro-orm/postgresql';
import type { Loaders } from '../catalog/catalog.loaders.js';
import type { Caller } from '../shared/caller.js';
import type { RequestLoaders } from '../shared/request-loaders.js';

/**
 * What every resolver gets: a forked EntityManager (one identity map per request or WebSocket
 * operation — never shared between callers), fresh DataLoaders, and who is calling.
 */
export type GraphQLContext = {
  requestId: string;
  em: EntityManager;
  loaders: Loaders;
  /** Per-operation DataLoaders of other features (src/shared/request-loaders.ts). */
  requestLoaders: RequestLoaders;
  caller: Caller;
  /** The client's address over HTTP (anonymous callers' rate-limit bucket); set by the transport. */
  clientIp?: string;
};
