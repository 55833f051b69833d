import { runInThisContext } from 'node:vm';
import { argMax, predictProbabilities, trainClassifier } from './classifier-training.js';
import { buildClassifierOnnx } from './classifier-onnx.js';
import { DIGITS_SPEC, heldOutSplit, IRIS_SPEC, trainDemoClassifier } from './trained-classifiers.js';

// Jest evaluates onnxruntime-common in the test's realm while the native addon returns the main
// realm's typed arrays; share them before onnxruntime loads (see src/inference/test-models.spec.ts).
for (const name of ['Float32Array', 'Float64Array', 'Int32Array', 'BigInt64Array']) {
  Object.defineProperty(globalThis, name, { value: runInThisContext(name), writable: true, configurable: true });
}
const { InferenceSession, Tensor } = await import('onnxruntime-node');

async function runOnnx(bytes: Uint8Array, inputName: string, rows: readonly (readonly number[])[]) {
  const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const out = await session.run({
      [inputName]: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]),
    });
    const classes = out.probabilities.dims[1];
    const flat = out.probabilities.data as Float32Array;
    return {
      labels: Array.from(out.label.data as BigInt64Array, Number),
      probabilities: rows.map((_, r) => Array.from(flat.subarray(r * classes, (r + 1) * classes))),
      inputs: session.inputNames,
      outputs: session.outputNames,
    };
  } finally {
    await session.release();
  }
}

describe.each([
  ['iris', IRIS_SPEC],
  ['digits', DIGITS_SPEC],
])('the %s demo classifier', (_, spec) => {
  const dataset = spec.load();
  const trained = trainDemoClassifier(spec);

  it('is the same file on every run', () => {
    expect(Buffer.from(trainDemoClassifier(spec).bytes).equals(Buffer.from(trained.bytes))).toBe(true);
  });

  // The description's accuracy is measured with the TypeScript forward pass; this is what makes
  // it the accuracy onnxruntime (and so `predict`) gives.
  it('gets the same label from onnxruntime as from the forward pass it was measured with, on every row', async () => {
    const model = trainClassifier(
      dataset.features,
      dataset.labels,
      heldOutSplit(spec, dataset).train,
      dataset.classNames.length,
      spec.training,
    );
    const onnx = await runOnnx(trained.bytes, spec.inputName, dataset.features);
    expect([onnx.inputs, onnx.outputs]).toEqual([[spec.inputName], ['probabilities', 'label']]);
    let mismatches = 0;
    dataset.features.forEach((row, i) => {
      const ts = predictProbabilities(model, row);
      if (argMax(ts) !== onnx.labels[i]) mismatches++;
      ts.forEach((p, k) => expect(Math.abs(p - onnx.probabilities[i][k])).toBeLessThan(1e-4));
    });
    expect(mismatches).toBe(0);
    const correct = heldOutSplit(spec, dataset).test.filter((i) => onnx.labels[i] === dataset.labels[i]).length;
    expect(correct).toBe(trained.heldOut.correct);
  });

  it('states its measured accuracy and example in its description', () => {
    const { correct, total } = trained.heldOut;
    expect(trained.description).toContain(
      `Held-out accuracy: ${((100 * correct) / total).toFixed(1)}% (${correct} of ${total} `,
    );
    expect(trained.description).toContain(JSON.stringify(trained.example.features));
    expect(trained.example.label).toBe(dataset.labels[trained.example.row]);
    expect(heldOutSplit(spec, dataset).test).toContain(trained.example.row);
  });
});

it('builds Softmax and ArgMax over the logits of the last layer', async () => {
  const model = trainClassifier([[0], [1]], [0, 1], [0, 1], 2, {
    hidden: [],
    epochs: 0,
    batchSize: 2,
    learningRate: 0,
    weightDecay: 0,
    minStd: 1,
    seed: 'fixed',
  });
  // Hand-set weights: logits = [z, -z] for z = (x - 0.5) / 1 (the spread 0.5 is floored to 1).
  model.layers[0].weight.set([1, -1]);
  model.layers[0].bias.set([0, 0]);
  const out = await runOnnx(buildClassifierOnnx(model, { graphName: 't', inputName: 'x' }), 'x', [[3.5], [-1.5]]);
  expect(out.labels).toEqual([0, 1]);
  // Softmax of [z, -z] gives e^2z / (e^2z + 1) to the first class: z = 3, then z = -2.
  expect(out.probabilities[0][0]).toBeCloseTo(Math.exp(6) / (Math.exp(6) + 1), 5);
  expect(out.probabilities[1][1]).toBeCloseTo(Math.exp(4) / (Math.exp(4) + 1), 5);
});
