// The model validation worker thread (see model-validator.ts): loads each file it is sent in
// onnxruntime and answers with the signature, or with why the model is invalid.
import { parentPort } from 'node:worker_threads';
import { InvalidModelError, readModelSignature } from '../inference/model-signature.js';

if (!parentPort) throw new Error('model-validator.worker must run in a worker thread');
const port = parentPort;

port.on('message', async ({ id, path }: { id: number; path: string }) => {
  try {
    port.postMessage({ id, ok: true, signature: await readModelSignature(path) });
  } catch (err) {
    if (err instanceof InvalidModelError) {
      port.postMessage({ id, ok: false, invalid: { code: err.code, reason: err.reason, detail: err.detail } });
    } else {
      port.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  }
});
