// The thread engine's transport, for predict-overhead's baseline: one worker thread with its own
// onnxruntime session, tensors moved in and out as transferred ArrayBuffers (what the inference
// pool did before its workers became processes).
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(workerData.path, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
parentPort.on('message', async ({ id, data, dims }) => {
  const out = await session.run({ [workerData.input]: new ort.Tensor('float32', new Float32Array(data), dims) });
  const y = out[workerData.output].data;
  const copy = y.slice().buffer;
  parentPort.postMessage({ id, data: copy, dims: out[workerData.output].dims }, [copy]);
});
parentPort.postMessage({ ready: true });
