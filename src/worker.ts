import { startTracing } from './observability/tracing-sdk.js';
import { exitOnFatal, loadConfigOrExit } from './shared/process-lifecycle.js';

// `npm run worker`. Tracing starts before the app's modules load (tracing-sdk.ts says why), so
// they are imported only then; without OTEL_* settings nothing is loaded for it.
const config = loadConfigOrExit();
try {
  const tracing = await startTracing(config.tracing, 'model-marketplace-worker');
  const { runWorker } = await import('./composition/worker-process.js');
  await runWorker(config, tracing);
} catch (err) {
  exitOnFatal(err);
}
