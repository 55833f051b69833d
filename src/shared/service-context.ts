import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from './caller.js';

/** What a service needs from its caller: the forked EntityManager and who is asking. */
export type ServiceContext = { em: EntityManager; caller: Caller };
