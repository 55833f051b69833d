import DataLoader from 'dataloader';
import type { ServiceContext } from './service-context.js';

/** One kind of per-operation loader, named so that services share it within an operation. */
export type LoaderKind<K, V> = { readonly name: string; readonly types?: (key: K) => V };

export const loaderKind = <K, V>(name: string): LoaderKind<K, V> => ({ name });

/**
 * The DataLoaders of one operation (one HTTP request, one WebSocket operation), made on first
 * use. Never shared between operations, so never between callers: a loader's cache holds what
 * its caller may see. Services batch a page's field reads through it (one query for all rows).
 */
export class RequestLoaders {
  private readonly loaders = new Map<LoaderKind<unknown, unknown>, DataLoader<unknown, unknown>>();

  get<K, V>(kind: LoaderKind<K, V>, batch: (keys: readonly K[]) => Promise<readonly (V | Error)[]>): DataLoader<K, V> {
    let loader = this.loaders.get(kind as LoaderKind<unknown, unknown>) as DataLoader<K, V> | undefined;
    if (!loader) {
      loader = new DataLoader<K, V>(batch);
      this.loaders.set(kind as LoaderKind<unknown, unknown>, loader);
    }
    return loader;
  }
}

/** A service context that can batch: what GraphQL operations give services. */
export type BatchingContext = ServiceContext & { requestLoaders: RequestLoaders };
