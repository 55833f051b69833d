// A small builder for ONNX models over the `onnx-proto` protobuf classes, so the test models the
// project needs are generated from TypeScript (no Python toolchain) and are reproducible byte for
// byte: no timestamps, weights from a seeded PRNG, and protobuf's field order is fixed.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS (`module.exports = { onnx }`), so Node's ESM loader only offers it as
// a default import; a named `import { onnx }` fails at run time.
const { onnx } = onnxProto;

/** Element types, named as onnxruntime names them in `Tensor.Type`. */
export type OnnxDType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool' | 'string';

/** A dimension: a fixed size, or a symbolic name such as "batch" bound at run time. */
export type Dim = number | string;

const DATA_TYPES: Record<OnnxDType, Onnx.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
  string: onnx.TensorProto.DataType.STRING,
};

/** Returns the ONNX `TensorProto.DataType` number for a dtype (e.g. for Cast's `to` attribute). */
export function onnxDataType(dtype: OnnxDType): number {
  return DATA_TYPES[dtype];
}

/**
 * A node attribute. Tagged because a bare JS number cannot say whether ONNX wants an INT or a
 * FLOAT, and operators reject the wrong one.
 */
export type AttributeValue =
  | { int: number }
  | { float: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { string: string }
  /** A subgraph (Loop's body, If's branches): `OnnxModelBuilder.toGraph()`. */
  | { graph: Onnx.IGraphProto };

export interface OnnxModelBuilderOptions {
  /** Graph name, also a hint in onnxruntime's error messages. */
  graphName: string;
  /** Default opset of the ai.onnx domain. */
  opset?: number;
  /**
   * IR version. 8 is what onnx 1.10+ writes for opset 13..15 and what onnxruntime 1.30 loads;
   * tests override it to produce deliberately unsupported models.
   */
  irVersion?: number;
  docString?: string;
}

export const DEFAULT_OPSET = 13;
export const DEFAULT_IR_VERSION = 8;

/** Builds one ONNX model: declare inputs, outputs, initializers and nodes, then `toBytes()`. */
export class OnnxModelBuilder {
  private readonly inputs: Onnx.IValueInfoProto[] = [];
  private readonly outputs: Onnx.IValueInfoProto[] = [];
  private readonly initializers: Onnx.ITensorProto[] = [];
  private readonly nodes: Onnx.INodeProto[] = [];

  constructor(private readonly options: OnnxModelBuilderOptions) {}

  /** Declares a graph input. */
  input(name: string, dtype: OnnxDType, shape: readonly Dim[]): this {
    this.inputs.push(valueInfo(name, dtype, shape));
    return this;
  }

  /** Declares a graph output. */
  output(name: string, dtype: OnnxDType, shape: readonly Dim[]): this {
    this.outputs.push(valueInfo(name, dtype, shape));
    return this;
  }

  /** Adds a float32 constant (weights, biases, scalars); `dims` may be `[]` for a scalar. */
  floatInitializer(name: string, dims: readonly number[], values: ArrayLike<number>): this {
    assertElementCount(name, dims, values.length);
    // raw_data is little-endian by the ONNX spec; DataView makes that explicit on any host.
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims: [...dims], rawData: raw });
    return this;
  }

  /** Adds an int64 constant (shapes for Reshape, axes for reductions). */
  int64Initializer(name: string, dims: readonly number[], values: readonly number[]): this {
    assertElementCount(name, dims, values.length);
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [...dims],
      int64Data: [...values],
    });
    return this;
  }

  /** Adds a bool constant (a Loop's condition). */
  boolInitializer(name: string, dims: readonly number[], values: readonly boolean[]): this {
    assertElementCount(name, dims, values.length);
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.BOOL,
      dims: [...dims],
      int32Data: values.map((v) => (v ? 1 : 0)),
    });
    return this;
  }

  /**
   * Adds an initializer exactly as given: for tests that need a tensor that lies (declared dims
   * its data does not fill, external data locations, huge sizes).
   */
  tensorInitializer(tensor: Onnx.ITensorProto): this {
    this.initializers.push(tensor);
    return this;
  }

  /** Adds a node; `name` defaults to `<opType>_<index>` so error messages point somewhere. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    name = `${opType}_${this.nodes.length}`,
  ): this {
    this.nodes.push({
      opType,
      name,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([attrName, value]) => attribute(attrName, value)),
    });
    return this;
  }

  /** The graph alone, as a subgraph attribute takes it (`{ graph: body.toGraph() }`). */
  toGraph(): Onnx.IGraphProto {
    return {
      name: this.options.graphName,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      node: this.nodes,
    };
  }

  /** Encodes the model as ONNX protobuf bytes. */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: this.options.irVersion ?? DEFAULT_IR_VERSION,
      producerName: 'model-marketplace test-model builder',
      producerVersion: '1',
      docString: this.options.docString ?? '',
      opsetImport: [{ domain: '', version: this.options.opset ?? DEFAULT_OPSET }],
      graph: this.toGraph(),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dtype: OnnxDType, shape: readonly Dim[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPES[dtype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): Onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  if ('graph' in value) return { name, type: T.GRAPH, g: value.graph };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

function assertElementCount(name: string, dims: readonly number[], count: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== count) {
    throw new Error(`initializer ${name}: dims [${dims.join(', ')}] need ${expected} values, got ${count}`);
  }
}

/**
 * Deterministic float32 values uniform in [-bound, bound), from a PRNG seeded by a string, so a
 * model's weights (and so its bytes) are the same on every machine and run. Tests call it with the
 * same seed to compute reference outputs in plain TypeScript.
 */
export function seededUniform(seed: string, count: number, bound: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() * 2 - 1) * bound;
  return out;
}

/**
 * A deterministic generator of numbers uniform in [0, 1), seeded by a string: the same sequence on
 * every machine and run, for anything that must be reproducible (weights, shuffles, splits).
 */
export function seededRandom(seed: string): () => number {
  return mulberry32(fnv1a(seed));
}

// FNV-1a: turns the seed string into 32 bits; any stable hash would do.
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// mulberry32: tiny, fast, and good enough for weights; Math.random cannot be seeded.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
