import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import type { AccountDeletionService } from '../auth/account-deletion.service.js';
import { requestIdOf } from '../observability/request-id.js';
import type { Logger } from '../shared/logger.js';
import { buildHttpContext, httpCaller, type HttpContextDeps } from './http-context.js';
import { restErrorResponder } from './rest-errors.js';

/**
 * GET /account/export.json: everything the marketplace holds about the signed-in account, as one
 * JSON document streamed while it is read (access tokens only: an API key cannot export its
 * owner's data). Errors before the first byte are `{ error, code, requestId }`.
 */
export function accountExportRoutes(deps: HttpContextDeps & { accounts: AccountDeletionService; logger: Logger }) {
  const router = Router();
  const { handle } = restErrorResponder(deps.logger, 'account export');
  router.get(
    '/account/export.json',
    handle(async (req, res) => {
      const ctx = await buildHttpContext(deps, req, requestIdOf(res), httpCaller);
      const chunks = deps.accounts.export(ctx);
      // The first chunk is read before the headers go, so that a refusal is still an error answer.
      const first = await chunks.next();
      res.setHeader('x-request-id', requestIdOf(res));
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="model-marketplace-export.json"');
      res.setHeader('cache-control', 'private, no-store');
      const rest = (async function* () {
        if (!first.done) yield first.value;
        yield* chunks;
      })();
      await pipeline(Readable.from(rest), res).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
          deps.logger.warn({ err }, 'account export cut short');
        }
      });
    }),
  );
  return router;
}
