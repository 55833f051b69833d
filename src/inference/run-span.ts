import { inSpan } from '../observability/tracing.js';
import type { PoolVersion, RunResult } from './pool-options.js';

/**
 * The engine's span of a trace: one request's wait in its version's queue and its share of an
 * onnxruntime run (in a sandboxed worker process, which carries no trace of its own), with where
 * it ran, the batch it ran in and the two times the pool measured.
 */
export function runInSpan(version: PoolVersion, run: () => Promise<RunResult>): Promise<RunResult> {
  return inSpan('inference.run', { attributes: { 'model_version.id': version.id } }, async (span) => {
    const result = await run();
    span.setAttributes({
      'inference.device': result.device,
      'inference.batch_size': result.batchSize,
      'inference.queue_ms': result.queueTimeMs,
      'inference.run_ms': result.inferenceTimeMs,
    });
    return result;
  });
}
