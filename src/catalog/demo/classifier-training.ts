// Trains the demo catalog's small classifiers in plain TypeScript: standardized inputs, zero or
// more ReLU hidden layers, a softmax output, cross-entropy loss, mini-batch Adam. Every random
// choice (initial weights, batch order) comes from a seeded generator, and the arithmetic is IEEE
// doubles in a fixed order, so the same options give the same weights on every run and machine.
import { seededRandom } from '../../inference/onnx-model-builder.js';
import type { DenseLayer } from '../../inference/test-models.js';
import { shuffle } from './datasets.js';

export interface TrainingOptions {
  /** Hidden layer widths: `[]` is softmax (multinomial logistic) regression. */
  hidden: readonly number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the weights (not the biases). */
  weightDecay: number;
  /**
   * Floor for each feature's standard deviation in standardization: a feature that hardly varies
   * in training (a digit image's corner pixel) must not be divided by almost zero.
   */
  minStd: number;
  seed: string;
}

/** A trained classifier: `logits = layers(…relu(layers[0]((x − mean) · invStd)))`. */
export interface TrainedClassifier {
  mean: Float32Array;
  invStd: Float32Array;
  /** Weights row-major `[out, in]`, as ONNX Gemm with `transB = 1` takes them. */
  layers: DenseLayer[];
  classes: number;
  /** Mean cross-entropy on the training rows after each epoch (for tests and logs). */
  lossByEpoch: number[];
}

type Layer = { inF: number; outF: number; w: Float64Array; b: Float64Array };

/**
 * Trains on `features[i]` / `labels[i]` for `i` in `rows` (the training split; nothing outside it
 * is read), with labels `0 … classes − 1`.
 */
export function trainClassifier(
  features: readonly (readonly number[])[],
  labels: readonly number[],
  rows: readonly number[],
  classes: number,
  options: TrainingOptions,
): TrainedClassifier {
  const nIn = features[rows[0]].length;
  const { mean, invStd } = standardization(features, rows, options.minStd);
  const x = rows.map((i) => Float64Array.from(features[i], (v, j) => (v - mean[j]) * invStd[j]));
  const y = rows.map((i) => labels[i]);

  const random = seededRandom(options.seed);
  const widths = [nIn, ...options.hidden, classes];
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const [inF, outF] = [widths[l], widths[l + 1]];
    // He initialization for the ReLU layers, Glorot for the softmax one.
    const bound = l + 2 < widths.length ? Math.sqrt(6 / inF) : Math.sqrt(6 / (inF + outF));
    const w = Float64Array.from({ length: outF * inF }, () => (random() * 2 - 1) * bound);
    layers.push({ inF, outF, w, b: new Float64Array(outF) });
  }
  const grads = layers.map((L) => ({ w: new Float64Array(L.w.length), b: new Float64Array(L.b.length) }));
  const adam = layers.map((L) => ({
    mw: new Float64Array(L.w.length),
    vw: new Float64Array(L.w.length),
    mb: new Float64Array(L.b.length),
    vb: new Float64Array(L.b.length),
  }));
  const acts = widths.map((n) => new Float64Array(n));
  const deltas = widths.map((n) => new Float64Array(n));

  const order = x.map((_, i) => i);
  const lossByEpoch: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffle(order, random);
    let lossSum = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      for (const g of grads) {
        g.w.fill(0);
        g.b.fill(0);
      }
      for (const i of batch) {
        acts[0].set(x[i]);
        forward(layers, acts);
        const out = acts[acts.length - 1];
        lossSum -= Math.log(Math.max(out[y[i]], 1e-12));
        // Softmax with cross-entropy: the output delta is p − onehot(y).
        const top = deltas[deltas.length - 1];
        for (let k = 0; k < classes; k++) top[k] = out[k] - (k === y[i] ? 1 : 0);
        backward(layers, acts, deltas, grads);
      }
      step++;
      for (let l = 0; l < layers.length; l++) {
        adamStep(layers[l].w, grads[l].w, adam[l].mw, adam[l].vw, step, batch.length, options, options.weightDecay);
        adamStep(layers[l].b, grads[l].b, adam[l].mb, adam[l].vb, step, batch.length, options, 0);
      }
    }
    lossByEpoch.push(lossSum / order.length);
  }
  return {
    mean: Float32Array.from(mean),
    invStd: Float32Array.from(invStd),
    layers: layers.map((L) => ({
      inFeatures: L.inF,
      outFeatures: L.outF,
      weight: Float32Array.from(L.w),
      bias: Float32Array.from(L.b),
    })),
    classes,
    lossByEpoch,
  };
}

/** Class probabilities for one row, in float32 weights as the ONNX file holds them (doubles in between). */
export function predictProbabilities(model: TrainedClassifier, row: readonly number[]): number[] {
  let a = row.map((v, j) => (v - model.mean[j]) * model.invStd[j]);
  model.layers.forEach((L, l) => {
    const z = new Array<number>(L.outFeatures);
    for (let o = 0; o < L.outFeatures; o++) {
      let s = L.bias[o];
      for (let k = 0; k < L.inFeatures; k++) s += L.weight[o * L.inFeatures + k] * a[k];
      z[o] = l + 1 < model.layers.length ? Math.max(0, s) : s;
    }
    a = z;
  });
  return softmax(a);
}

/** The index of the largest value; the first one on ties, as ONNX ArgMax picks. */
export function argMax(values: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}

function standardization(features: readonly (readonly number[])[], rows: readonly number[], minStd: number) {
  const n = features[rows[0]].length;
  const mean = new Float64Array(n);
  const invStd = new Float64Array(n);
  for (const i of rows) for (let j = 0; j < n; j++) mean[j] += features[i][j] / rows.length;
  for (let j = 0; j < n; j++) {
    let v = 0;
    for (const i of rows) v += (features[i][j] - mean[j]) ** 2;
    invStd[j] = 1 / Math.max(Math.sqrt(v / rows.length), minStd);
  }
  return { mean, invStd };
}

/** acts[0] holds the input; fills acts[1..] (ReLU between layers, softmax at the end). */
function forward(layers: readonly Layer[], acts: Float64Array[]): void {
  for (let l = 0; l < layers.length; l++) {
    const { inF, outF, w, b } = layers[l];
    const a = acts[l];
    const z = acts[l + 1];
    const last = l + 1 === layers.length;
    for (let o = 0; o < outF; o++) {
      let s = b[o];
      const base = o * inF;
      for (let k = 0; k < inF; k++) s += w[base + k] * a[k];
      z[o] = last ? s : s > 0 ? s : 0;
    }
    if (last) {
      let max = -Infinity;
      for (let o = 0; o < outF; o++) if (z[o] > max) max = z[o];
      let sum = 0;
      for (let o = 0; o < outF; o++) {
        z[o] = Math.exp(z[o] - max);
        sum += z[o];
      }
      for (let o = 0; o < outF; o++) z[o] /= sum;
    }
  }
}

/** deltas[last] holds dLoss/dLogits; accumulates the weight and bias gradients. */
function backward(
  layers: readonly Layer[],
  acts: readonly Float64Array[],
  deltas: Float64Array[],
  grads: { w: Float64Array; b: Float64Array }[],
): void {
  for (let l = layers.length - 1; l >= 0; l--) {
    const { inF, outF, w } = layers[l];
    const a = acts[l];
    const d = deltas[l + 1];
    const g = grads[l];
    for (let o = 0; o < outF; o++) {
      const dv = d[o];
      if (dv === 0) continue;
      g.b[o] += dv;
      const base = o * inF;
      for (let k = 0; k < inF; k++) g.w[base + k] += dv * a[k];
    }
    if (l === 0) break;
    const prev = deltas[l];
    prev.fill(0);
    for (let o = 0; o < outF; o++) {
      const dv = d[o];
      if (dv === 0) continue;
      const base = o * inF;
      for (let k = 0; k < inF; k++) prev[k] += w[base + k] * dv;
    }
    // ReLU: no gradient where the unit was off.
    for (let k = 0; k < inF; k++) if (a[k] <= 0) prev[k] = 0;
  }
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

function adamStep(
  param: Float64Array,
  gradSum: Float64Array,
  m: Float64Array,
  v: Float64Array,
  step: number,
  batchSize: number,
  options: TrainingOptions,
  decay: number,
): void {
  const c1 = 1 - BETA1 ** step;
  const c2 = 1 - BETA2 ** step;
  for (let i = 0; i < param.length; i++) {
    const g = gradSum[i] / batchSize + decay * param[i];
    m[i] = BETA1 * m[i] + (1 - BETA1) * g;
    v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
    param[i] -= (options.learningRate * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + EPSILON);
  }
}
