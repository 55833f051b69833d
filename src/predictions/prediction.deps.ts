import type { AsyncPredictionDeps } from './async-prediction.service.js';
import type { PredictionDeps } from './prediction.service.js';

/**
 * Stand-ins for `npm run schema`, which builds the schema without a database or a worker pool:
 * any use throws, so a mis-wired process fails loudly instead of half-working.
 */
export function schemaOnlyPredictionDeps(): PredictionDeps {
  const fail = (): never => {
    throw new Error('prediction services are not wired (schema emission only)');
  };
  const trap = new Proxy({}, { get: fail });
  return {
    engine: trap as PredictionDeps['engine'],
    storage: trap as PredictionDeps['storage'],
    metering: trap as PredictionDeps['metering'],
    logger: trap as PredictionDeps['logger'],
    limits: { maxRequestBytes: 0, timeoutMs: 0 },
  };
}

/** The same for queued predictions: every dependency throws when used. */
export function schemaOnlyJobDeps(): AsyncPredictionDeps {
  const trap = new Proxy(
    {},
    {
      get: () => {
        throw new Error('prediction job services are not wired (schema emission only)');
      },
    },
  );
  return trap as AsyncPredictionDeps;
}
