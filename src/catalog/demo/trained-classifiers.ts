// The demo catalog's two real models, trained when the catalog is seeded: species from Fisher's
// Iris measurements and digits from the UCI 8×8 images. Each is trained on a stratified split,
// written to ONNX and measured on the held-out rows; its description states that measurement and
// an example a visitor can paste into `predict`, both computed here, never typed in.
//
// The measurement is a TypeScript forward pass over the float32 weights the file holds, so the
// seed runs no inference on the API's main thread (nor inside a Jest VM realm, where onnxruntime's
// output arrays fail its own type checks). classifier-onnx.spec.ts checks that onnxruntime gives
// the same label on every row, and test/catalog/seed.test.ts that `predict` reaches the stated
// accuracy on the held-out rows.
import { argMax, predictProbabilities, trainClassifier, type TrainingOptions } from './classifier-training.js';
import { buildClassifierOnnx, CLASSIFIER_OUTPUTS } from './classifier-onnx.js';
import { DIGIT_PIXELS, loadDigits, loadIris, stratifiedSplit, type Dataset, type Split } from './datasets.js';
import type { VersionMetadataJson } from '../../entities/model-version.entity.js';

export interface DemoClassifierSpec {
  graphName: string;
  inputName: string;
  load: () => Dataset;
  testFraction: number;
  splitSeed: string;
  training: TrainingOptions;
  /** The class of the held-out row the description shows as its example. */
  exampleClass: number;
  describe: (facts: DescriptionFacts) => string;
}

/** What a description is written from. */
export interface DescriptionFacts {
  dataset: Dataset;
  split: Split;
  correct: number;
  example: Example;
}

export interface Example {
  /** 0-based row in the dataset. */
  row: number;
  features: number[];
  label: number;
  probabilities: number[];
}

export interface TrainedDemoClassifier {
  bytes: Uint8Array;
  description: string;
  heldOut: { correct: number; total: number };
  example: Example;
  trainingMs: number;
  /** The held-out example as a ready input, and the class names on `probabilities`. */
  metadata: VersionMetadataJson;
}

/** The held-out rows of a spec's dataset: the rows its stated accuracy was measured on. */
export function heldOutSplit(spec: DemoClassifierSpec, dataset = spec.load()): Split {
  return stratifiedSplit(dataset.labels, spec.testFraction, spec.splitSeed);
}

/** Trains, writes and measures one demo classifier (deterministic: same bytes on every run). */
export function trainDemoClassifier(spec: DemoClassifierSpec): TrainedDemoClassifier {
  const dataset = spec.load();
  const split = heldOutSplit(spec, dataset);
  const started = performance.now();
  const model = trainClassifier(
    dataset.features,
    dataset.labels,
    split.train,
    dataset.classNames.length,
    spec.training,
  );
  const trainingMs = performance.now() - started;
  const bytes = buildClassifierOnnx(model, { graphName: spec.graphName, inputName: spec.inputName });

  const probabilities = split.test.map((i) => predictProbabilities(model, dataset.features[i]));
  const labels = probabilities.map(argMax);
  const correct = split.test.filter((row, k) => labels[k] === dataset.labels[row]).length;
  // The example is a held-out row of the chosen class that the model gets right: an example is
  // for checking the API by hand; the accuracy line says how often the model is wrong.
  const k = split.test.findIndex(
    (row, j) => dataset.labels[row] === spec.exampleClass && labels[j] === spec.exampleClass,
  );
  if (k < 0) throw new Error(`${spec.graphName}: no held-out row of class ${spec.exampleClass} classified right`);
  const example: Example = {
    row: split.test[k],
    features: dataset.features[split.test[k]],
    label: labels[k],
    probabilities: probabilities[k],
  };
  const description = spec.describe({ dataset, split, correct, example });
  const metadata: VersionMetadataJson = {
    inputs: {
      [spec.inputName]: {
        description: `One row per item, ${dataset.featureNames.length} values: ${featureList(dataset.featureNames)}.`,
        example: { dtype: 'float32', shape: [1, example.features.length], data: [...example.features] },
      },
    },
    outputs: {
      [CLASSIFIER_OUTPUTS.probabilities]: {
        description: 'The probability of each class, in the order of the labels.',
        labels: [...dataset.classNames],
      },
      [CLASSIFIER_OUTPUTS.label]: { description: 'The index of the most probable class in the labels.' },
    },
  };
  return { bytes, description, heldOut: { correct, total: split.test.length }, example, trainingMs, metadata };
}

/** "93.3% (42 of 45 …)": the accuracy line every demo classifier's description has, parsed by tests. */
function accuracyLine(correct: number, split: Split, what: string, fraction: number): string {
  const pct = ((100 * correct) / split.test.length).toFixed(1);
  return (
    `Held-out accuracy: ${pct}% (${correct} of ${split.test.length} ${what} not used in training: ` +
    `a stratified ${Math.round(fraction * 100)}% split).`
  );
}

/** The example as `predict` takes it, and the answer to expect, on lines tests parse. */
function exampleLines(facts: DescriptionFacts, inputName: string, className: string): string[] {
  const { example, dataset } = facts;
  const input = [{ name: inputName, dtype: 'float32', shape: [1, example.features.length], data: example.features }];
  return [
    `Example input (row ${example.row + 1} of the ${dataset.features.length.toLocaleString('en-US')}, a ${className}, held out):`,
    JSON.stringify(input),
    `Expected output: label ["${example.label}"] (${className}); ` +
      `probabilities [${example.probabilities.map((p) => p.toFixed(2)).join(', ')}] (rounded to 2 places).`,
  ];
}

export const IRIS_SPEC: DemoClassifierSpec = {
  graphName: 'iris-species',
  inputName: 'features',
  load: loadIris,
  testFraction: 0.3,
  splitSeed: 'iris-species/split',
  // weightDecay ≈ 1/n for the n = 105 training rows: the L2 penalty of scikit-learn's
  // LogisticRegression at its default C = 1.
  training: {
    hidden: [],
    epochs: 100,
    batchSize: 16,
    learningRate: 0.05,
    weightDecay: 0.01,
    minStd: 1e-6,
    seed: 'iris-species/train',
  },
  exampleClass: 1,
  describe(facts) {
    const { dataset, split, correct, example } = facts;
    return [
      'Predicts the species of an iris flower from four measurements. Trained when this catalog was ' +
        "seeded, on Fisher's Iris data (R. A. Fisher, 1936: 150 flowers, 50 of each species; shipped " +
        'in the repository, CC BY 4.0): softmax regression on standardized inputs.',
      accuracyLine(correct, split, 'flowers', IRIS_SPEC.testFraction),
      '',
      'Input "features": float32 [N, 4], one flower a row, in centimetres: sepal length, sepal width, ' +
        'petal length, petal width.',
      'Outputs: "probabilities": float32 [N, 3], the probability of each class; "label": int64 [N], ' +
        'the most probable class.',
      `Classes: ${dataset.classNames.map((name, i) => `${i} = ${name}`).join(', ')}.`,
      '',
      ...exampleLines(facts, 'features', dataset.classNames[example.label]),
    ].join('\n');
  },
};

export const DIGITS_SPEC: DemoClassifierSpec = {
  graphName: 'digits-8x8',
  inputName: 'pixels',
  load: loadDigits,
  testFraction: 0.25,
  splitSeed: 'digits-8x8/split',
  training: {
    hidden: [32],
    epochs: 20,
    batchSize: 32,
    learningRate: 0.005,
    weightDecay: 1e-4,
    // Pixels are counts 0..16: a pixel that is almost always blank is not blown up by its tiny spread.
    minStd: 1,
    seed: 'digits-8x8/train',
  },
  exampleClass: 3,
  describe(facts) {
    const { split, correct, example } = facts;
    return [
      'Recognizes a handwritten digit, 0 to 9, in an 8×8 image. Trained when this catalog was seeded, ' +
        'on the UCI optical recognition of handwritten digits data (E. Alpaydin and C. Kaynak, 1998: ' +
        '1,797 images by 13 writers, as in scikit-learn load_digits; shipped in the repository, ' +
        `CC BY 4.0): one hidden layer of ${DIGITS_SPEC.training.hidden[0]} ReLU units, softmax output.`,
      accuracyLine(correct, split, 'images', DIGITS_SPEC.testFraction),
      '',
      `Input "pixels": float32 [N, ${DIGIT_PIXELS}], one image a row: 8 rows of 8 pixels, top row first, ` +
        'each the ink in a 4×4 block of the scanned digit, 0 (blank) to 16 (full).',
      'Outputs: "probabilities": float32 [N, 10], the probability of each digit; "label": int64 [N], ' +
        'the most probable digit.',
      'Classes: 0 = digit 0, 1 = digit 1, … 9 = digit 9 (the label is the digit).',
      '',
      ...exampleLines(facts, 'pixels', `digit ${example.label}`),
      'The example image (" " blank, "." 1-4, "+" 5-10, "#" 11-16):',
      ...picture(example.features),
    ].join('\n');
  },
};

function picture(pixels: readonly number[]): string[] {
  const shade = (v: number) => (v === 0 ? ' ' : v <= 4 ? '.' : v <= 10 ? '+' : '#');
  const lines: string[] = [];
  for (let r = 0; r < 8; r++) {
    const row = pixels.slice(r * 8, r * 8 + 8).map(shade);
    lines.push(`|${row.join('')}|`);
  }
  return lines;
}

const featureList = (names: readonly string[]) =>
  names.length <= 8 ? names.join(', ') : `${names.slice(0, 2).join(', ')}, …, ${names.at(-1)}`;
