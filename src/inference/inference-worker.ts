// One inference worker thread: its own onnxruntime sessions (an LRU by count and bytes), one
// execution provider, answering the pool's messages. It knows nothing of users, GraphQL or money.
import { statSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { CPU_DEVICE, executionProvidersFor, type DeviceSpec } from './inference-devices.js';
import { PROBE_INPUT, PROBE_MODEL_B64 } from './provider-probe-model.js';
import { SizedLru } from './sized-lru.js';
import { typedView } from './tensor-codec.js';
import { BYTES_PER_ELEMENT, elementCount, isDType, type WireTensor } from './tensor-types.js';
import type { FromWorker, ToWorker, VersionDescriptor, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let device: DeviceSpec = init.device;
const releases = new Set<Promise<void>>();
const sessions = new SizedLru<ort.InferenceSession>(init.cache, (_key, session) => {
  // A worker runs one batch at a time and evicts only while loading, so no run uses it now.
  const released = session.release().catch(() => undefined);
  releases.add(released);
  void released.finally(() => releases.delete(released));
});
const loading = new Map<string, Promise<ort.InferenceSession>>();

function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProvidersFor(device),
    // The pool runs one worker per core by default, so each session keeps to its share of the
    // cores: workers × intraOpNumThreads ≈ cores, no oversubscription.
    intraOpNumThreads: init.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Fatal only: a failing run's message goes back to the caller (and into the prediction's
    // errorMessage); onnxruntime printing it to stderr as well would only add noise.
    logSeverityLevel: 4,
  };
}

/** Checks at start that the device's provider works, by running a tiny model on it. */
async function probeDevice(): Promise<void> {
  const session = await ort.InferenceSession.create(Buffer.from(PROBE_MODEL_B64, 'base64'), sessionOptions());
  try {
    const x = new ort.Tensor('float32', new Float32Array(elementCount(PROBE_INPUT.dims)), [...PROBE_INPUT.dims]);
    await session.run({ [PROBE_INPUT.name]: x });
  } finally {
    await session.release();
  }
}

function toOrtTensor(t: WireTensor): ort.Tensor {
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data, t.dims);
  // typedView is exact for every numeric dtype; bool goes in as a Uint8Array, which is what
  // onnxruntime-node expects for 'bool'.
  return new ort.Tensor(t.dtype as 'float32', typedView(t.dtype as 'float32', t.data) as Float32Array, t.dims);
}

function fromOrtTensor(name: string, tensor: ort.Tensor): WireTensor {
  const dtype = tensor.type;
  if (!isDType(dtype)) throw new Error(`output "${name}" has dtype ${dtype}, which the marketplace cannot return`);
  const dims = [...tensor.dims];
  if (dtype === 'string') return { name, dtype, dims, data: [...(tensor.data as string[])] };
  // Copy into an ArrayBuffer of our own: onnxruntime's output memory is not ours to transfer.
  const view = tensor.data as Uint8Array;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, elementCount(dims) * BYTES_PER_ELEMENT[dtype]);
  return { name, dtype, dims, data: bytes.slice().buffer };
}

/** A zero (or empty-string) input of the declared shape, symbolic and unknown dims set to 1. */
function syntheticInputs(version: VersionDescriptor): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  let bytes = 0;
  for (const spec of version.inputs) {
    const dims = spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : 1));
    const n = elementCount(dims);
    const dtype = spec.dtype;
    if (!isDType(dtype)) continue;
    // Strings count a byte each: an empty string still costs its slot.
    bytes += n * (dtype === 'string' ? 1 : BYTES_PER_ELEMENT[dtype]);
    if (!(bytes <= init.warmupMaxBytes)) {
      throw new Error(`warm-up skipped: the declared inputs need ${bytes} bytes, more than any request may send`);
    }
    if (dtype === 'string') feeds[spec.name] = new ort.Tensor('string', new Array<string>(n).fill(''), dims);
    else {
      const data = new ArrayBuffer(n * BYTES_PER_ELEMENT[dtype]);
      feeds[spec.name] = toOrtTensor({ name: spec.name, dtype, dims, data });
    }
  }
  return feeds;
}

/**
 * Opens a version (once, even when several requests ask at the same time) and warms it up with
 * one run on a synthetic input, so the first real request does not pay for lazy allocations. A
 * warm-up that fails is not a load failure: a model may accept only certain sizes (the `throws`
 * test model takes exactly six elements), and real inputs will say so themselves.
 */
async function load(version: VersionDescriptor): Promise<{ session: ort.InferenceSession; warmupError?: string }> {
  const cached = sessions.get(version.id);
  if (cached) return { session: cached };
  let pending = loading.get(version.id);
  let warmupError: string | undefined;
  if (!pending) {
    pending = (async () => {
      const session = await ort.InferenceSession.create(version.path, sessionOptions());
      try {
        await session.run(syntheticInputs(version));
      } catch (err) {
        warmupError = firstLine(err);
      }
      const bytes = version.sizeBytes > 0 ? version.sizeBytes : statSync(version.path).size;
      sessions.set(version.id, session, bytes);
      return session;
    })().finally(() => loading.delete(version.id));
    loading.set(version.id, pending);
  }
  return { session: await pending, warmupError };
}

let inFlight = 0;
let shuttingDown = false;

// Exiting (like terminate()) while a native run is in flight aborts the process, so the thread
// exits only when nothing is running; sessions are released first.
async function exitWhenIdle(): Promise<void> {
  if (!shuttingDown || inFlight > 0) return;
  sessions.clear();
  await Promise.allSettled([...releases]);
  port.close();
  process.exit(0);
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'shutdown') {
    shuttingDown = true;
    return exitWhenIdle();
  }
  if (shuttingDown) return;
  inFlight++;
  try {
    await handleWork(message);
  } finally {
    inFlight--;
    await exitWhenIdle();
  }
}

async function handleWork(message: Exclude<ToWorker, { type: 'shutdown' }>): Promise<void> {
  switch (message.type) {
    case 'run': {
      let session: ort.InferenceSession;
      try {
        session = (await load(message.version)).session;
      } catch (err) {
        send({ type: 'error', jobId: message.jobId, stage: 'load', message: firstLine(err) });
        return;
      }
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const t of message.tensors) feeds[t.name] = toOrtTensor(t);
        const started = performance.now();
        const results = await session.run(feeds);
        const inferenceTimeMs = performance.now() - started;
        const outputs = session.outputNames.map((name) => fromOrtTensor(name, results[name]));
        for (const r of Object.values(results)) r.dispose();
        const transfer = outputs.flatMap((o) => (o.data instanceof ArrayBuffer ? [o.data] : []));
        send({ type: 'result', jobId: message.jobId, outputs, inferenceTimeMs }, transfer);
      } catch (err) {
        send({ type: 'error', jobId: message.jobId, stage: 'run', message: firstLine(err) });
      }
      return;
    }
    case 'warm': {
      try {
        const { warmupError } = await load(message.version);
        send({ type: 'warmed', jobId: message.jobId, warmupError });
      } catch (err) {
        send({ type: 'error', jobId: message.jobId, stage: 'load', message: firstLine(err) });
      }
      return;
    }
    case 'evict':
      sessions.delete(message.versionId);
      return;
    case 'stats': {
      const heap = getHeapStatistics();
      send({
        type: 'stats',
        jobId: message.jobId,
        stats: {
          sessions: sessions.keys(),
          cacheBytes: sessions.bytes,
          heapUsedBytes: heap.used_heap_size,
          externalBytes: heap.external_memory,
        },
      });
      return;
    }
  }
}

// onnxruntime's messages carry "/onnxruntime_src/…/file.cc:123 <C++ signature> " (at the start, or
// after "Status Message: "), which means nothing to a client; keep the rest of the first line.
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split('\n', 1)[0]
    .replace(/\/onnxruntime_src\/\S+:\d+ .*?\) /g, '')
    .trim()
    .slice(0, 500);
}

async function start(): Promise<void> {
  // A provider that cannot load is reported once, by us, with the worker and device named;
  // onnxruntime's own logger would print the same failure to stderr as well.
  ort.env.logLevel = 'fatal';
  try {
    await probeDevice();
    send({ type: 'ready', device: device.label });
  } catch (err) {
    const reason = `${device.label} could not start: ${firstLine(err)}`;
    if (!init.fallbackToCpu || device.kind === 'cpu') {
      send({ type: 'start-failed', message: reason });
      return;
    }
    device = CPU_DEVICE;
    try {
      await probeDevice();
      send({ type: 'ready', device: device.label, fallbackReason: reason });
    } catch (cpuErr) {
      send({ type: 'start-failed', message: `${reason}; cpu fallback failed too: ${firstLine(cpuErr)}` });
      return;
    }
  }
  port.on('message', (message: ToWorker) => void handle(message));
}

void start();
