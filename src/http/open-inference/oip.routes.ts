import express, { Router, type Request, type Response } from 'express';
import type { EntityManager } from '@mikro-orm/postgresql';
import { requireUser } from '../../auth/access.js';
import type { CallerResolver } from '../../auth/caller-resolver.js';
import { ApiKeyScope } from '../../entities/enums.js';
import type { RateLimitPolicy } from '../../auth/rate-limit/rate-limit.policy.js';
import type { ModelService } from '../../catalog/model.service.js';
import type { PredictionService } from '../../predictions/prediction.service.js';
import { requestIdOf } from '../../observability/request-id.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { buildHttpContext, httpCaller } from '../http-context.js';
import { restErrorResponder } from '../rest-errors.js';
import { datatypeOf, inferResponse, parseInferRequest } from './oip-codec.js';

export type OipDeps = {
  callers: CallerResolver;
  fork: () => EntityManager;
  rateLimits: RateLimitPolicy;
  models: ModelService;
  predictions: PredictionService;
  readiness: () => Promise<{ ready: boolean }>;
  maxBodyBytes: number;
  logger: Logger;
};

const SERVER = { name: 'model-marketplace', version: '0.1.0', extensions: ['binary_tensor_data'] };

/**
 * The Open Inference Protocol (KServe v2) over REST, beside GraphQL on the same port: the same
 * API keys and access tokens, the same access rules (a model is found through the catalog as the
 * caller may see it), the same rate limit (`predict`), and `predict` itself, so a request is
 * metered, recorded and billed exactly as over GraphQL. `{model}` is the model's slug; its
 * default version unless one is named.
 */
export function openInferenceRoutes(deps: OipDeps): Router {
  const router = Router();
  // The protocol's errors are `{ "error": "…" }`; ours add the code and the request id.
  const { fail, handle } = restErrorResponder(deps.logger, 'open inference request');

  const context = (req: Request, res: Response) =>
    buildHttpContext({ callers: deps.callers, fork: deps.fork }, req, requestIdOf(res), httpCaller);

  /** The model as the caller may see it, and the runnable version named (or its default). */
  const resolve = async (req: Request, res: Response) => {
    const ctx = await context(req, res);
    const model = await deps.models.get(ctx, { slug: String(req.params.model) });
    const pinned = typeof req.params.version === 'string' ? req.params.version : null;
    const { version } = await deps.predictions.versions.resolve(ctx.em, model.id, pinned);
    return { ctx, model, version };
  };

  router.get('/v2/health/live', (_req, res) => void res.json({ live: true }));
  router.get(
    '/v2/health/ready',
    handle(async (_req, res) => {
      const { ready } = await deps.readiness();
      res.status(ready ? 200 : 503).json({ ready });
    }),
  );
  router.get('/v2', (_req, res) => void res.json(SERVER));

  const metadata = handle(async (req, res) => {
    const { model, version } = await resolve(req, res);
    const spec = (t: { name: string; dtype: string; shape: readonly string[] }) => ({
      name: t.name,
      datatype: datatypeOf(t.dtype),
      // The protocol's -1 is any size: our symbolic and unknown dimensions.
      shape: t.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : -1)),
    });
    res.json({
      name: model.slug,
      versions: [version.version],
      platform: 'onnxruntime_onnx',
      inputs: version.inputs.map(spec),
      outputs: version.outputs.map(spec),
    });
  });
  router.get('/v2/models/:model', metadata);
  router.get('/v2/models/:model/versions/:version', metadata);

  const ready = handle(async (req, res) => {
    // A version is ready when predictions may run on it: READY (or a pinned DEPRECATED one).
    await resolve(req, res);
    res.json({ ready: true });
  });
  router.get('/v2/models/:model/ready', ready);
  router.get('/v2/models/:model/versions/:version/ready', ready);

  const infer = handle(async (req, res) => {
    // Who first: an anonymous or mistyped key gets 401 whatever its body holds.
    const ctx = await context(req, res);
    requireUser(ctx.caller, { scope: ApiKeyScope.PREDICT });
    const headerLength = req.headers['inference-header-content-length'];
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request = parseInferRequest(body, headerLength === undefined ? undefined : Number(headerLength));
    const limited = await deps.rateLimits.check(ctx.caller, ctx.clientIp, new Map([['predict', 1]]));
    for (const [k, v] of Object.entries(limited.headers)) res.setHeader(k, v);
    const model = await deps.models.get(ctx, { slug: String(req.params.model) });
    const result = await deps.predictions.predict(ctx, {
      modelId: model.id,
      version: typeof req.params.version === 'string' ? req.params.version : null,
      inputs: request.inputs,
      outputEncoding: 'B64',
      outputs: request.outputs,
    });
    const out = inferResponse(request, { name: model.slug, version: result.version.version }, result.outputs);
    res.setHeader('x-request-id', requestIdOf(res));
    if (out.headerLength !== undefined) {
      res.setHeader('inference-header-content-length', String(out.headerLength));
      res.type('application/octet-stream');
    } else res.type('application/json');
    res.send(out.body);
  });
  // The body as bytes whatever its type: JSON alone or a JSON header with binary tensors.
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  router.post('/v2/models/:model/infer', raw, infer);
  router.post('/v2/models/:model/versions/:version/infer', raw, infer);
  // The body parser's refusals (too large, cut short) in the protocol's shape, not GraphQL's.
  router.use('/v2', (err: unknown, _req: Request, res: Response, next: (e?: unknown) => void) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') {
      fail(
        res,
        new AppError(
          ErrorCode.PAYLOAD_TOO_LARGE,
          `the body is larger than ${deps.maxBodyBytes} bytes: send large tensors as binary data`,
        ),
      );
    } else if (typeof e.status === 'number' && e.status < 500) {
      res.status(e.status).json({ error: 'the request body could not be read', requestId: requestIdOf(res) });
    } else next(err);
  });
  return router;
}
