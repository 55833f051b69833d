// What every process that opens untrusted models with onnxruntime does the same way: session
// options, tensors to and from onnxruntime's, and the synthetic input that warm-up and admission
// run a model on. Shared by the inference worker and the model validator, so that admission
// measures a model exactly as it will be served (constant folding included).
import * as ort from 'onnxruntime-node';
import { executionProvidersFor, type DeviceSpec } from './inference-devices.js';
import { typedView } from './tensor-codec.js';
import { BYTES_PER_ELEMENT, elementCount, isDType, type WireTensor } from './tensor-types.js';
import type { SignatureSpec } from './tensor-validation.js';

export function ortSessionOptions(device: DeviceSpec, intraOpNumThreads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProvidersFor(device),
    // The pool runs one worker per core by default, so each session keeps to its share of the
    // cores: workers × intraOpNumThreads ≈ cores, no oversubscription.
    intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Fatal only: a failing run's message goes back to the caller (and into the prediction's
    // errorMessage); onnxruntime printing it to stderr as well would only add noise.
    logSeverityLevel: 4,
  };
}

export function toOrtTensor(t: WireTensor): ort.Tensor {
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data, t.dims);
  // typedView is exact for every numeric dtype; bool goes in as a Uint8Array, which is what
  // onnxruntime-node expects for 'bool'.
  return new ort.Tensor(t.dtype as 'float32', typedView(t.dtype as 'float32', t.data) as Float32Array, t.dims);
}

export function fromOrtTensor(name: string, tensor: ort.Tensor): WireTensor {
  const dtype = tensor.type;
  if (!isDType(dtype)) throw new Error(`output "${name}" has dtype ${dtype}, which the marketplace cannot return`);
  const dims = [...tensor.dims];
  if (dtype === 'string') return { name, dtype, dims, data: [...(tensor.data as string[])] };
  // Copy into an ArrayBuffer of our own: onnxruntime's output memory is released after the run.
  const view = tensor.data as Uint8Array;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, elementCount(dims) * BYTES_PER_ELEMENT[dtype]);
  return { name, dtype, dims, data: bytes.slice().buffer };
}

/**
 * A zero (or empty-string) input of the declared shape, symbolic and unknown dims set to 1: the
 * smallest input a model declares.
 *
 * @throws Error when the declared inputs total more than `maxBytes` (no request could be that big).
 */
export function syntheticInputs(inputs: readonly SignatureSpec[], maxBytes: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  let bytes = 0;
  for (const spec of inputs) {
    const dims = spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : 1));
    const n = elementCount(dims);
    const dtype = spec.dtype;
    if (!isDType(dtype)) continue;
    // Strings count a byte each: an empty string still costs its slot.
    bytes += n * (dtype === 'string' ? 1 : BYTES_PER_ELEMENT[dtype]);
    if (!(bytes <= maxBytes)) {
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
