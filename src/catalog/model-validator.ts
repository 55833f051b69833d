import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidModelError, type InvalidModelCode, type ModelSignature } from '../inference/model-signature.js';

/**
 * Checks an uploaded model file off the API's event loop and reads its signature. The inference
 * engine's worker pool can implement this same interface later (loading the model where it will
 * run); until then a dedicated worker thread does it.
 *
 * @throws InvalidModelError when the file is not a model onnxruntime can load.
 */
export interface ModelValidator {
  validate(path: string): Promise<ModelSignature>;
  close(): Promise<void>;
}

type Reply =
  | { id: number; ok: true; signature: ModelSignature }
  | { id: number; ok: false; invalid?: { code: InvalidModelCode; reason: string; detail: string }; message?: string };

/**
 * One long-lived worker thread running `readModelSignature` (onnxruntime's session creation is
 * synchronous native work for large files: on the main thread it would stall every request).
 * Validations queue inside the worker, one at a time; a worker that dies (out of memory, say)
 * fails its pending validations and is replaced on the next call.
 */
export class WorkerThreadModelValidator implements ModelValidator {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(s: ModelSignature): void; reject(e: Error): void }>();

  constructor(private readonly options: { maxHeapMb?: number } = {}) {}

  validate(path: string): Promise<ModelSignature> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<ModelSignature>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, path });
    }).catch((err: unknown) => {
      if (!(err instanceof InvalidModelError)) throw err;
      throw new InvalidModelError(err.code, publisherReason(err.reason, path), err.detail);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    // Under the TypeScript loader (npm start, Jest) this module is a .ts file and so is the
    // worker; the worker thread gets the same loader. Built output (tsc) has both as .js.
    const ts = import.meta.url.endsWith('.ts');
    const file = fileURLToPath(new URL(`./model-validator.worker.${ts ? 'ts' : 'js'}`, import.meta.url));
    if (!existsSync(file)) throw new Error(`model validation worker not found at ${file}`);
    const worker = new Worker(file, {
      execArgv: ts ? ['--import', '@swc-node/register/esm-register'] : [],
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 512 },
    });
    // An idle validator must not keep a process (or a test run) alive.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const entry = this.pending.get(reply.id);
      if (!entry) return;
      this.pending.delete(reply.id);
      if (reply.ok) entry.resolve(reply.signature);
      else if (reply.invalid) {
        entry.reject(new InvalidModelError(reply.invalid.code, reply.invalid.reason, reply.invalid.detail));
      } else entry.reject(new Error(reply.message ?? 'model validation failed'));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const entry of this.pending.values()) entry.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`model validation worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * The reason as the publisher (and anyone reading the version) sees it: onnxruntime's messages
 * name the file it loaded ("Load model from /srv/models/<id>/<id>.onnx failed: …"), its folder
 * (external data checks print the "allowed directory") and C++ source locations and signatures
 * ("tensorprotoutils.cc:434 ValidateExternalDataPathFromDir …"). None of that is the publisher's
 * business, and it maps out the server's storage. The full message stays in `detail` for logs.
 */
export function publisherReason(reason: string, path: string): string {
  return (
    reason
      .replace(/Load model from \S+ failed: ?/g, '')
      // Where the external data path led, resolved on the server: the publisher wrote the path itself.
      .replace(/ ?resolved path: "[^"]*"/g, '')
      .replaceAll(path, 'the uploaded file')
      .replaceAll(dirname(path), "the model's folder")
      .replace(/\/?(?:[\w.-]+\/)*[\w.-]+\.(?:cc|cpp|h|hpp):\d+ (?:[\w:<>,~*& ]+\([^)]*\) ?|[A-Z]\w+ (?=[A-Z]))?/g, '')
      .replace(/\s{2,}/g, ' ')
      .trim()
  );
}
