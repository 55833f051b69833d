import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import type { BatchPredictionService } from '../predictions/batch-prediction.service.js';
import { requestIdOf } from '../observability/request-id.js';
import type { Logger } from '../shared/logger.js';
import { buildHttpContext, httpCaller, type HttpContextDeps } from './http-context.js';
import { restErrorResponder } from './rest-errors.js';

/**
 * GET /batches/{id}/results.jsonl: an ended batch's results, streamed from storage, with the
 * same credentials as the API (`Authorization: Bearer` or `X-API-Key`, scope `predict`); only
 * its owner (or an admin) gets them. 409 before every row ended.
 */
export function batchResultsRoutes(deps: HttpContextDeps & { batches: BatchPredictionService; logger: Logger }) {
  const router = Router();
  const { handle } = restErrorResponder(deps.logger, 'batch results download');
  router.get(
    '/batches/:id/results.jsonl',
    handle(async (req, res) => {
      const ctx = await buildHttpContext(deps, req, requestIdOf(res), httpCaller);
      const { stream, batch } = await deps.batches.results(ctx, String(req.params.id));
      res.setHeader('x-request-id', requestIdOf(res));
      res.setHeader('content-type', 'application/x-ndjson');
      res.setHeader('content-disposition', `attachment; filename="batch-${batch.id}.jsonl"`);
      res.setHeader('cache-control', 'private, no-store');
      // A client that goes away ends the pipeline (and closes the file); a file that fails to
      // read cuts the response short (its status is already sent), which is worth a line.
      await pipeline(stream, res).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
          deps.logger.warn({ err, batchId: batch.id }, 'batch results download cut short');
        }
      });
    }),
  );
  return router;
}
