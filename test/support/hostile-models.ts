// Generated hostile ONNX models: small files that cost a runtime without bound (time, memory,
// recursion) or carry text that is expensive to clean. Each is a few hundred bytes to 60 KB, built
// with the project's ONNX builder, so tests upload them like any publisher would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { OnnxModelBuilder } from '../../src/inference/onnx-model-builder.js';

const { onnx } = onnxProto;

/** A Loop over `v += 1` with a constant trip count: loads, then runs (practically) forever. */
export function loopConstantTripsModel(trips = 1e12): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'loop-constant' })
    .input('x', 'float32', [1])
    .output('y', 'float32', [1])
    .int64Initializer('trips', [], [trips])
    .node('Loop', ['trips', '', 'x'], ['y'], { body: { graph: incrementBody() } })
    .toBytes();
}

/**
 * The same Loop with its trip count read from an input `n` (int64 [1]): cheap on the smallest
 * input (n = 0, what admission and warm-up feed), endless when a request sends a huge `n`.
 */
export function loopInputTripsModel(): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'loop-input' })
    .input('x', 'float32', [1])
    .input('n', 'int64', [1])
    .output('y', 'float32', [1])
    .node('Squeeze', ['n'], ['trips'])
    .node('Loop', ['trips', '', 'x'], ['y'], { body: { graph: incrementBody() } })
    .toBytes();
}

function incrementBody() {
  return new OnnxModelBuilder({ graphName: 'body' })
    .input('i', 'int64', [])
    .input('cond', 'bool', [])
    .input('v', 'float32', [1])
    .output('cond_out', 'bool', [])
    .output('v_out', 'float32', [1])
    .floatInitializer('one', [1], [1])
    .node('Identity', ['cond'], ['cond_out'])
    .node('Add', ['v', 'one'], ['v_out'])
    .toGraph();
}

/**
 * ConstantOfShape of `elements` floats reduced to a scalar: every input of it is constant, so
 * onnxruntime folds it while creating the session, allocating elements × 4 bytes (1 GiB for
 * 2^28) from a file of a few hundred bytes.
 */
export function constantFoldingBombModel(elements = 2 ** 28): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'constant-bomb' })
    .input('x', 'float32', [1])
    .output('y', 'float32', [1])
    .int64Initializer('shape', [1], [elements])
    .node('ConstantOfShape', ['shape'], ['big'], {})
    .node('ReduceSum', ['big'], ['total'], { keepdims: { int: 1 } })
    .node('Add', ['x', 'total'], ['y'])
    .toBytes();
}

/**
 * A constant of `elements` floats made by folding at load and kept by the session (an input is
 * added to it, so it cannot fold further): a few hundred bytes on disk, elements × 4 in memory.
 */
export function foldedConstantModel(elements: number): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'folded-constant' })
    .input('x', 'float32', [1])
    .output('y', 'float32', [1])
    .int64Initializer('shape', [1], [elements])
    .node('ConstantOfShape', ['shape'], ['big'], {})
    .node('Add', ['x', 'big'], ['sum'])
    .node('ReduceSum', ['sum'], ['y'], { keepdims: { int: 1 } })
    .toBytes();
}

/**
 * ConstantOfShape of a shape read from input `shape` (int64 [1]), reduced to a scalar: nothing
 * on the smallest input (shape [0]), `n` × 4 bytes on a request asking for n.
 */
export function inputSizedAllocationModel(): Uint8Array {
  return new OnnxModelBuilder({ graphName: 'input-sized-allocation' })
    .input('shape', 'int64', [1])
    .output('y', 'float32', [1])
    .node('ConstantOfShape', ['shape'], ['big'], {})
    .node('ReduceSum', ['big'], ['y'], { keepdims: { int: 1 } })
    .toBytes();
}

/**
 * A sparse initializer declaring `elements` floats with a single stored value: onnxruntime makes
 * it dense while loading, so a tiny file asks for elements × 4 bytes.
 */
export function hugeDeclaredInitializerModel(elements = 2 ** 28): Uint8Array {
  const model = new OnnxModelBuilder({ graphName: 'huge-initializer' })
    .input('x', 'float32', [1])
    .output('y', 'float32', [1])
    .node('ReduceSum', ['w'], ['total'], { keepdims: { int: 0 } })
    .node('Add', ['x', 'total'], ['y']);
  const graph = model.toGraph();
  graph.sparseInitializer = [
    {
      dims: [elements],
      values: { name: 'w', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], floatData: [1] },
      indices: { name: 'w_indices', dataType: onnx.TensorProto.DataType.INT64, dims: [1], int64Data: [0] },
    },
  ];
  return encode(graph, 13);
}

/** `depth` If nodes, each one's then-branch holding the next: recursion for every graph walk. */
export function deepIfModel(depth = 2000): Uint8Array {
  let inner = new OnnxModelBuilder({ graphName: `leaf` })
    .output('r', 'float32', [1])
    .node('Identity', ['x'], ['r'])
    .toGraph();
  for (let i = 0; i < depth; i++) {
    const other = new OnnxModelBuilder({ graphName: `else${i}` })
      .output('r', 'float32', [1])
      .node('Identity', ['x'], ['r'])
      .toGraph();
    inner = new OnnxModelBuilder({ graphName: `then${i}` })
      .output('r', 'float32', [1])
      .node('If', ['c'], ['r'], { then_branch: { graph: inner }, else_branch: { graph: other } })
      .toGraph();
  }
  return new OnnxModelBuilder({ graphName: 'deep-if' })
    .input('x', 'float32', [1])
    .input('c', 'bool', [1])
    .output('y', 'float32', [1])
    .node('If', ['c'], ['y'], { then_branch: { graph: inner }, else_branch: { graph: inner } })
    .toBytes();
}

/** An initializer whose external data location is `length` characters of nested folders. */
export function longExternalPathModel(length = 60_000): Uint8Array {
  const location = 'a/'.repeat(Math.floor(length / 2)).slice(0, length - 8) + 'w.bin.cc';
  return new OnnxModelBuilder({ graphName: 'long-external-path' })
    .input('x', 'float32', [1, 4])
    .output('y', 'float32', [1, 4])
    .tensorInitializer({
      name: 'w',
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims: [1, 4],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }],
    })
    .node('Add', ['x', 'w'], ['y'])
    .toBytes();
}

function encode(graph: ReturnType<OnnxModelBuilder['toGraph']>, opset: number): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'model-marketplace hostile-model generator',
      opsetImport: [{ domain: '', version: opset }],
      graph,
    }),
  ).finish();
}

/** Writes a generated model to a fresh temporary folder and returns its path. */
export function writeModel(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return path;
}
