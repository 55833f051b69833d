import cluster from 'node:cluster';
import { startTracing } from './observability/tracing-sdk.js';
import { exitOnFatal, loadConfigOrExit } from './shared/process-lifecycle.js';

// `npm start`. Tracing starts before the app's modules load (tracing-sdk.ts says why), so they are
// imported only then; without OTEL_* settings nothing is loaded for it.
const started = performance.now();
const config = loadConfigOrExit();
try {
  if (config.apiProcesses > 1 && cluster.isPrimary) {
    // API_PROCESSES: this process forks the API processes and serves none of the API itself.
    const { runApiCluster } = await import('./composition/api-cluster.js');
    await runApiCluster(config, started);
  } else {
    const tracing = await startTracing(config.tracing, 'model-marketplace-api');
    const { runApi } = await import('./composition/api-process.js');
    await runApi(config, tracing, started);
  }
} catch (err) {
  exitOnFatal(err);
}
