import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import { createLoaders } from '../catalog/catalog.loaders.js';
import { ANONYMOUS, type Caller } from '../shared/caller.js';
import type { GraphQLContext } from './context.js';

/** A fresh context: its own EntityManager fork and its own loaders, for one operation. */
export function buildContext(app: App, options: { requestId?: string; caller?: Caller } = {}): GraphQLContext {
  const em = app.db.orm.em.fork();
  const caller = options.caller ?? ANONYMOUS;
  return { requestId: options.requestId ?? randomUUID(), em, caller, loaders: createLoaders(em, caller) };
}
