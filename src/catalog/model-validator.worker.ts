// The admission sandbox (a child process, see model-validator.ts): loads one uploaded file in
// onnxruntime as a worker would, runs it once on its smallest declared inputs, and says what that
// cost. The parent keeps time and kills this process when it overruns; the OS limits (RLIMIT_AS,
// RLIMIT_CPU) make a runaway allocation fail here instead of growing.
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CPU_DEVICE } from '../inference/inference-devices.js';
import { classifyLoadError, InvalidModelError, readHead, signatureOf } from '../inference/model-signature.js';
import { ortSessionOptions, syntheticInputs } from '../inference/ort-session.js';
import { cleanRuntimeMessage, isAllocationFailure, RUNTIME_MESSAGE_SCAN_CHARS } from '../inference/runtime-message.js';
import { connectToParent, processUsage } from '../inference/sandbox-child.js';
import type { ValidationAnswer, ValidationRequest } from './model-validator.js';

ort.env.logLevel = 'fatal';

const text = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, RUNTIME_MESSAGE_SCAN_CHARS);

async function validate({ path, warmupMaxBytes }: ValidationRequest): Promise<ValidationAnswer> {
  // Peak RSS counts from here, not from this process's start-up (writing 5 resets VmHWM).
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then includes start-up, an over-estimate.
  }
  const base = processUsage();
  const replace = [
    [path, 'the uploaded file'],
    [dirname(path), "the model's folder"],
  ] as const;
  const measured = () => ({ baseRssBytes: base.rssBytes, peakRssBytes: processUsage().peakRssBytes });
  const started = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, ortSessionOptions(CPU_DEVICE, 1));
  } catch (err) {
    const detail = text(err);
    if (isAllocationFailure(detail)) {
      return { type: 'too-expensive', stage: 'load', detail: cleanRuntimeMessage(detail, { replace }), ...measured() };
    }
    const invalid = classifyLoadError(detail, await readHead(path), replace);
    return { type: 'invalid', code: invalid.code, reason: invalid.reason, detail: invalid.detail };
  }
  const loadMs = performance.now() - started;
  let signature;
  try {
    signature = signatureOf(session);
  } catch (err) {
    if (!(err instanceof InvalidModelError)) throw err;
    return { type: 'invalid', code: err.code, reason: err.reason, detail: err.detail };
  }
  // A failing run on the synthetic input is not a rejection (a model may take only some sizes,
  // and real inputs will say so); one that runs out of memory or time is.
  let runError: string | undefined;
  const runStarted = performance.now();
  try {
    await session.run(syntheticInputs(signature.inputs, warmupMaxBytes));
  } catch (err) {
    const detail = text(err);
    if (isAllocationFailure(detail)) {
      return { type: 'too-expensive', stage: 'run', detail: cleanRuntimeMessage(detail, { replace }), ...measured() };
    }
    runError = cleanRuntimeMessage(detail, { replace });
  }
  return { type: 'validated', signature, loadMs, runMs: performance.now() - runStarted, runError, ...measured() };
}

const channel = connectToParent(2 ** 20, ({ header }) => {
  validate(header as ValidationRequest).then(
    (answer) => channel.send(answer),
    (err: unknown) => channel.send({ type: 'failed', message: cleanRuntimeMessage(err) }),
  );
});
channel.send({ type: 'ready', usage: processUsage() });
