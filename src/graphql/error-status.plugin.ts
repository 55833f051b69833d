import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '../shared/errors.js';

/**
 * HTTP statuses for codes that must have one status whichever layer raised them. A body over
 * the HTTP limit is refused by the body parser with 413 before GraphQL runs; the same code raised
 * while the operation runs (the inference limit, the upload limit) would otherwise go out as 200.
 * 413 for all of them, so that a client (or a proxy's log) sees one answer for one problem.
 */
const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
};

export function errorStatusPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            const status = STATUS_BY_CODE[String(error.extensions?.code)];
            if (status) response.http.status = status;
          }
        },
      };
    },
  };
}
