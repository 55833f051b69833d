// Small, real ONNX models for tests, the seed and the benchmark, built in TypeScript so that each
// one is reproducible byte for byte and its expected outputs can be computed in plain TypeScript.
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnxDataType, OnnxModelBuilder, seededUniform } from './onnx-model-builder.js';

/** One dense layer `y = x · weightᵀ + bias`, weight stored `[out, in]` as PyTorch exports it. */
export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  /** Row-major `[outFeatures, inFeatures]`. */
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * The seeded weights of an MLP test model, layer by layer. The model files are built from exactly
 * these, so tests compare onnxruntime's output with a TypeScript forward pass over them.
 */
export function mlpLayers(seedPrefix: string, widths: readonly number[]): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const inFeatures = widths[i];
    const outFeatures = widths[i + 1];
    // PyTorch's default Linear init range: keeps activations near 1 through the layers, so
    // float32 differences stay small and the comparisons meaningful.
    const bound = 1 / Math.sqrt(inFeatures);
    layers.push({
      inFeatures,
      outFeatures,
      weight: seededUniform(`${seedPrefix}/fc${i + 1}.weight`, outFeatures * inFeatures, bound),
      bias: seededUniform(`${seedPrefix}/fc${i + 1}.bias`, outFeatures, bound),
    });
  }
  return layers;
}

export const MLP_SMALL_WIDTHS = [16, 32, 4] as const;
export const MLP_1024_WIDTHS = [1024, 1024, 1024, 16] as const;

/** elementwise.onnx: y = Relu(x * 2 + 1). */
export function buildElementwiseModel(): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'elementwise' })
    .input('x', 'float32', ['batch', 4])
    .output('y', 'float32', ['batch', 4])
    .floatInitializer('two', [], [2])
    .floatInitializer('one', [], [1])
    .node('Mul', ['x', 'two'], ['scaled'])
    .node('Add', ['scaled', 'one'], ['shifted'])
    .node('Relu', ['shifted'], ['y'])
    .toBytes();
}

/** An MLP of Gemm/Relu layers over `mlpLayers(seedPrefix, widths)`; no Relu after the last. */
function buildMlpModel(graphName: string, widths: readonly number[], input: string, output: string): Uint8Array {
  const layers = mlpLayers(graphName, widths);
  const b = new OnnxModelBuilder({ graphName })
    .input(input, 'float32', ['batch', widths[0]])
    .output(output, 'float32', ['batch', widths[widths.length - 1]]);
  let current = input;
  layers.forEach((layer, i) => {
    const n = i + 1;
    const last = i === layers.length - 1;
    b.floatInitializer(`fc${n}.weight`, [layer.outFeatures, layer.inFeatures], layer.weight);
    b.floatInitializer(`fc${n}.bias`, [layer.outFeatures], layer.bias);
    const gemmOut = last ? output : `fc${n}.out`;
    b.node('Gemm', [current, `fc${n}.weight`, `fc${n}.bias`], [gemmOut], { transB: { int: 1 } }, `fc${n}`);
    if (!last) b.node('Relu', [gemmOut], [`relu${n}.out`], {}, `relu${n}`);
    current = `relu${n}.out`;
  });
  return b.toBytes();
}

/** mlp-small.onnx: input [batch,16] → Gemm 16→32 → Relu → Gemm 32→4 → logits [batch,4]. */
export function buildMlpSmallModel(): Uint8Array {
  return buildMlpModel('mlp-small', MLP_SMALL_WIDTHS, 'input', 'logits');
}

/** mlp-1024.onnx: input [batch,1024] → 1024 → 1024 → logits [batch,16]; about 8.5 MB. */
export function buildMlp1024Model(): Uint8Array {
  return buildMlpModel('mlp-1024', MLP_1024_WIDTHS, 'input', 'logits');
}

/** two-inputs.onnx: y = x * float(k) and s = row sums of k (int64), so two dtypes in and out. */
export function buildTwoInputsModel(): Uint8Array {
  return (
    new OnnxModelBuilder({ graphName: 'two-inputs' })
      .input('x', 'float32', ['batch', 3])
      .input('k', 'int64', ['batch', 3])
      .output('y', 'float32', ['batch', 3])
      .output('s', 'int64', ['batch'])
      .int64Initializer('axes', [1], [1])
      .node('Cast', ['k'], ['k_float'], { to: { int: onnxDataType('float32') } })
      .node('Mul', ['x', 'k_float'], ['y'])
      // Opset 13 moved ReduceSum's axes from an attribute to an input.
      .node('ReduceSum', ['k', 'axes'], ['s'], { keepdims: { int: 0 } })
      .toBytes()
  );
}

/** The dtypes of all-dtypes.onnx, in input order; each input `<dtype>` feeds output `<dtype>_out`. */
export const ALL_DTYPES = ['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool', 'string'] as const;

/** all-dtypes.onnx: one Identity per dtype, every input of shape ["n"] (one shared symbolic dim). */
export function buildAllDtypesModel(): Uint8Array {
  const b = new OnnxModelBuilder({ graphName: 'all-dtypes' });
  for (const dtype of ALL_DTYPES) b.input(dtype, dtype, ['n']);
  for (const dtype of ALL_DTYPES) b.output(`${dtype}_out`, dtype, ['n']);
  for (const dtype of ALL_DTYPES) b.node('Identity', [dtype], [`${dtype}_out`]);
  return b.toBytes();
}

/**
 * throws.onnx: reshapes x ["n"] to [2, 3]. It loads fine (n is unknown until run time) and runs
 * when n = 6; any other n makes onnxruntime fail inside `run`, which is what tests of a model
 * that throws need.
 */
export function buildThrowsModel(): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'throws' })
    .input('x', 'float32', ['n'])
    .output('y', 'float32', [2, 3])
    .int64Initializer('target_shape', [2], [2, 3])
    .node('Reshape', ['x', 'target_shape'], ['y'])
    .toBytes();
}

export interface TestModel {
  fileName: string;
  description: string;
  /** What it computes, in a line a test or a seed description can quote. */
  computes: string;
  /** Large models are not committed; `ensureTestModel` writes them on demand. */
  large: boolean;
  build: () => Uint8Array;
}

/** The test models, by name (the file name without `.onnx`). */
export const TEST_MODELS = {
  elementwise: {
    fileName: 'elementwise.onnx',
    description: 'Element-wise arithmetic on a float32 [batch, 4] tensor.',
    computes: 'y = Relu(x * 2 + 1)',
    large: false,
    build: buildElementwiseModel,
  },
  'mlp-small': {
    fileName: 'mlp-small.onnx',
    description: 'A two-layer MLP classifier, 16 features to 4 logits, dynamic batch.',
    computes: 'logits = Gemm(Relu(Gemm(input, fc1)), fc2), weights seeded by mlpLayers("mlp-small", [16, 32, 4])',
    large: false,
    build: buildMlpSmallModel,
  },
  'mlp-1024': {
    fileName: 'mlp-1024.onnx',
    description: 'A three-layer 1024-wide MLP (about 8.5 MB of float32 weights), for benchmarks.',
    computes:
      'logits = fc3(Relu(fc2(Relu(fc1(input))))), weights seeded by mlpLayers("mlp-1024", [1024, 1024, 1024, 16])',
    large: true,
    build: buildMlp1024Model,
  },
  'two-inputs': {
    fileName: 'two-inputs.onnx',
    description: 'Two inputs of different dtypes (float32 x, int64 k) and two outputs.',
    computes: 'y = x * float(k); s = ReduceSum(k, axis 1) as int64',
    large: false,
    build: buildTwoInputsModel,
  },
  'all-dtypes': {
    fileName: 'all-dtypes.onnx',
    description: `Identity for each of ${ALL_DTYPES.join(', ')}; all inputs share the symbolic dim "n".`,
    computes: '<dtype>_out = <dtype> for every dtype',
    large: false,
    build: buildAllDtypesModel,
  },
  throws: {
    fileName: 'throws.onnx',
    description: 'Loads fine but fails at run time unless the input has exactly 6 elements.',
    computes: 'y = Reshape(x, [2, 3])',
    large: false,
    build: buildThrowsModel,
  },
} as const satisfies Record<string, TestModel>;

export type TestModelName = keyof typeof TEST_MODELS;

export const TEST_MODEL_NAMES = Object.keys(TEST_MODELS) as TestModelName[];

/** Where the committed (small) test models live, relative to the repository root. */
export const TEST_MODELS_DIR = 'test/fixtures/models';

/**
 * Writes test model `name` into `dir` unless the file is already there, and returns its path.
 * Tests and the benchmark use it for `mlp-1024`, which is too big to commit.
 */
export async function ensureTestModel(name: TestModelName, dir: string): Promise<string> {
  const model = TEST_MODELS[name];
  const path = join(dir, model.fileName);
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  // Write then rename: parallel Jest workers may ensure the same file, and a reader must never
  // see a half-written model.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, model.build());
  await rename(tmp, path);
  return path;
}
