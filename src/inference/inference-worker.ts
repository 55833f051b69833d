// One inference worker process (a sandbox, see sandbox-process.ts): its own onnxruntime sessions
// (an LRU by count and measured memory), one execution provider, answering the pool's frames. It
// knows nothing of users, GraphQL or money. onnxruntime-node creates sessions and runs them
// synchronously on this thread, so the process does one thing at a time and the pool, not this
// process, keeps time: a run past its deadline is ended by SIGKILL from outside.
import { dirname } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import * as ort from 'onnxruntime-node';
import type { Frame } from './ipc-frames.js';
import { CPU_DEVICE, type DeviceSpec } from './inference-devices.js';
import { fromOrtTensor, ortSessionOptions, syntheticInputs, toOrtTensor } from './ort-session.js';
import { PROBE_INPUT, PROBE_MODEL_B64 } from './provider-probe-model.js';
import { cleanRuntimeMessage, isAllocationFailure } from './runtime-message.js';
import { connectToParent, initArgument, processUsage } from './sandbox-child.js';
import { SizedLru } from './sized-lru.js';
import { elementCount, tensorBytes, type WireTensor } from './tensor-types.js';
import type { FailureKind, FromWorker, ToWorker, VersionDescriptor, WorkerInit } from './worker-protocol.js';

const init = initArgument<WorkerInit>();
// `channel` is opened at the end of this module, once everything it may call exists.
const send = (message: FromWorker, tensors: readonly WireTensor[] = []) => channel.send(message, tensors);

let device: DeviceSpec = init.device;
const releases = new Set<Promise<void>>();
const sessions = new SizedLru<ort.InferenceSession>(init.cache, (key, session) => {
  measured.delete(key);
  // A worker runs one batch at a time and evicts only while loading, so no run uses it now.
  const released = session.release().catch(() => undefined);
  releases.add(released);
  void released.finally(() => releases.delete(released));
});
const loading = new Map<string, Promise<ort.InferenceSession>>();
/** Each cached session's measured bytes (what the LRU counts), for the warm-up answer. */
const measured = new Map<string, number>();

const sessionOptions = () => ortSessionOptions(device, init.intraOpNumThreads);

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

/**
 * Opens a version (once, even when several requests ask at the same time) and warms it up with
 * one run on a synthetic input, so the first real request does not pay for lazy allocations. A
 * warm-up that fails is not a load failure: a model may accept only certain sizes (the `throws`
 * test model takes exactly six elements), and real inputs will say so themselves.
 */
async function load(
  version: VersionDescriptor,
): Promise<{ session: ort.InferenceSession; warmupError?: string; bytes: number }> {
  const cached = sessions.get(version.id);
  if (cached) return { session: cached, bytes: measured.get(version.id) ?? version.sizeBytes };
  let pending = loading.get(version.id);
  let warmupError: string | undefined;
  if (!pending) {
    pending = (async () => {
      // What the session costs is measured, not guessed from the file: constant folding or a
      // sparse initializer can turn a 200-byte file into a gigabyte.
      const before = process.memoryUsage.rss();
      const session = await ort.InferenceSession.create(version.path, sessionOptions());
      if (!version.skipWarmup) {
        try {
          await session.run(syntheticInputs(version.inputs, init.warmupMaxBytes));
        } catch (err) {
          if (isAllocationFailure(errorText(err))) throw err;
          warmupError = clean(err);
        }
      }
      const bytes = Math.max(process.memoryUsage.rss() - before, version.sizeBytes);
      sessions.set(version.id, session, bytes);
      measured.set(version.id, bytes);
      return session;
    })().finally(() => loading.delete(version.id));
    loading.set(version.id, pending);
  }
  const session = await pending;
  return { session, warmupError, bytes: measured.get(version.id) ?? version.sizeBytes };
}

let inFlight = 0;
let shuttingDown = false;

// Asked to leave (the pool is closing, or replacing an idle worker): sessions are released first.
// A worker that is busy is not asked: the pool kills it.
async function exitWhenIdle(): Promise<void> {
  if (!shuttingDown || inFlight > 0) return;
  sessions.clear();
  await Promise.allSettled([...releases]);
  process.exit(0);
}

async function handle({ header, tensors }: Frame): Promise<void> {
  const message = header as ToWorker;
  if (message.type === 'shutdown') {
    shuttingDown = true;
    return exitWhenIdle();
  }
  if (shuttingDown) return;
  inFlight++;
  try {
    await handleWork(message, tensors);
  } finally {
    inFlight--;
    await exitWhenIdle();
  }
}

async function handleWork(message: Exclude<ToWorker, { type: 'shutdown' }>, tensors: WireTensor[]): Promise<void> {
  switch (message.type) {
    case 'run': {
      let session: ort.InferenceSession;
      try {
        session = (await load(message.version)).session;
      } catch (err) {
        send(failure(message.jobId, 'load', err, message.version.path));
        return;
      }
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const t of tensors) feeds[t.name] = toOrtTensor(t);
        const started = performance.now();
        // Fetches: onnxruntime-node still runs the whole graph (measured: an Identity output
        // beside eight 1024² MatMuls took as long alone as both), but the others are never
        // copied out, framed, sent over the pipe, encoded or returned.
        const results = message.outputs ? await session.run(feeds, [...message.outputs]) : await session.run(feeds);
        const inferenceTimeMs = performance.now() - started;
        const names = message.outputs ?? session.outputNames;
        const outputs = names.map((name) => fromOrtTensor(name, results[name]));
        for (const r of Object.values(results)) r.dispose();
        const bytes = outputs.reduce((n, o) => n + tensorBytes(o), 0);
        if (bytes > init.maxOutputBytes) {
          const text = `its outputs are ${bytes} bytes, more than the ${init.maxOutputBytes} a prediction may return`;
          send({ type: 'error', jobId: message.jobId, stage: 'run', kind: 'model', message: text });
          return;
        }
        // process.cpuUsage, not processUsage(): no /proc read on every run.
        const { user, system } = process.cpuUsage();
        const cpuSeconds = (user + system) / 1e6;
        send({ type: 'result', jobId: message.jobId, inferenceTimeMs, cpuSeconds }, outputs);
      } catch (err) {
        send(failure(message.jobId, 'run', err, message.version.path));
      }
      return;
    }
    case 'warm': {
      try {
        const { warmupError, bytes } = await load(message.version);
        send({ type: 'warmed', jobId: message.jobId, warmupError, bytes });
      } catch (err) {
        send(failure(message.jobId, 'load', err, message.version.path));
      }
      return;
    }
    case 'evict':
      sessions.delete(message.versionId);
      return;
    case 'stats': {
      const heap = getHeapStatistics();
      const usage = processUsage();
      send({
        type: 'stats',
        jobId: message.jobId,
        stats: {
          pid: process.pid,
          sessions: sessions.keys(),
          cacheBytes: sessions.bytes,
          heapUsedBytes: heap.used_heap_size,
          externalBytes: heap.external_memory,
          rssBytes: usage.rssBytes,
          vmBytes: usage.vmBytes,
        },
      });
      return;
    }
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 8192);
const clean = (err: unknown, path?: string) =>
  cleanRuntimeMessage(err, {
    replace: path
      ? [
          [path, 'the model file'],
          [dirname(path), "the model's folder"],
        ]
      : [],
  });

function failure(jobId: number, stage: 'load' | 'run', err: unknown, path: string): FromWorker {
  const kind: FailureKind = isAllocationFailure(errorText(err)) ? 'memory' : 'model';
  return { type: 'error', jobId, stage, kind, message: clean(err, path) };
}

async function start(): Promise<void> {
  // A provider that cannot load is reported once, by us, with the worker and device named;
  // onnxruntime's own logger would print the same failure to stderr as well.
  ort.env.logLevel = 'fatal';
  try {
    await probeDevice();
    send({ type: 'ready', device: device.label, usage: processUsage() });
  } catch (err) {
    const reason = `${device.label} could not start: ${clean(err)}`;
    if (!init.fallbackToCpu || device.kind === 'cpu') {
      send({ type: 'start-failed', message: reason });
      return;
    }
    device = CPU_DEVICE;
    try {
      await probeDevice();
      send({ type: 'ready', device: device.label, fallbackReason: reason, usage: processUsage() });
    } catch (cpuErr) {
      send({ type: 'start-failed', message: `${reason}; cpu fallback failed too: ${clean(cpuErr)}` });
      return;
    }
  }
}

// Frames that arrive while the device is probed wait: the pool sends work only after `ready`.
const early: Frame[] = [];
let started = false;
const channel = connectToParent(init.maxFrameBytes, (frame) => (started ? void handle(frame) : early.push(frame)));
void start().then(() => {
  started = true;
  for (const frame of early.splice(0)) void handle(frame);
});
