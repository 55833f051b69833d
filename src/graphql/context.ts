import type { EntityManager } from '@mikro-orm/postgresql';
import type { Loaders } from '../catalog/catalog.loaders.js';
import type { Caller } from '../shared/caller.js';

/**
 * What every resolver gets: a forked EntityManager (one identity map per request or WebSocket
 * operation — never shared between callers), fresh DataLoaders, and who is calling.
 */
export type GraphQLContext = {
  requestId: string;
  em: EntityManager;
  loaders: Loaders;
  caller: Caller;
  /** The client's address over HTTP (anonymous callers' rate-limit bucket); set by the transport. */
  clientIp?: string;
};
