import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { TEST_MODELS_DIR } from '../../../src/inference/test-models.js';
import {
  constantFoldingBombModel,
  deepIfModel,
  foldedConstantModel,
  hugeDeclaredInitializerModel,
  inputSizedAllocationModel,
  longExternalPathModel,
  loopConstantTripsModel,
  loopInputTripsModel,
} from '../../support/hostile-models.js';
import { seeded } from './abuse-harness.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * Corrupt and hostile ONNX files for the upload corpus: truncations and byte noise of a real
 * model, other formats' magic bytes, well-formed protobufs that lie (initializers declaring
 * terabytes, external data pointing outside the model's folder, absurd dims and versions), and
 * models that cost without bound (endless loops, memory bombs, deep nesting, 60k-character
 * paths). `loads` marks those onnxruntime accepts within the admission budget (READY);
 * `tooExpensive` those admission must refuse with MODEL_TOO_EXPENSIVE.
 */
export type HostileModel = { label: string; bytes: Uint8Array; loads?: boolean; tooExpensive?: boolean };

const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
const tensorType = (elemType: number, shape: (number | string)[]): Onnx.ITypeProto => ({
  tensorType: { elemType, shape: { dim: shape.map(dim) } },
});

function model(
  graph: Partial<Onnx.IGraphProto>,
  options: { irVersion?: number; opset?: number; domain?: string; doc?: string } = {},
): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: options.irVersion ?? 8,
      producerName: 'abuse corpus',
      docString: options.doc ?? '',
      opsetImport: [{ domain: options.domain ?? '', version: options.opset ?? 13 }],
      graph: {
        name: 'hostile',
        input: [{ name: 'x', type: tensorType(FLOAT, [1, 4]) }],
        output: [{ name: 'y', type: tensorType(FLOAT, [1, 4]) }],
        node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' }],
        ...graph,
      },
    }),
  ).finish();
}

const external = (location: string, extra: Record<string, string> = {}): Onnx.ITensorProto => ({
  name: 'w',
  dataType: FLOAT,
  dims: [1, 4],
  dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
  externalData: [
    { key: 'location', value: location },
    ...Object.entries(extra).map(([key, value]) => ({ key, value })),
  ],
});

export function hostileModels(): HostileModel[] {
  const rnd = seeded('onnx');
  const good = readFileSync(join(TEST_MODELS_DIR, 'mlp-small.onnx'));
  const out: HostileModel[] = [];
  // Truncations at seeded points, and bytes flipped in place.
  for (let i = 0; i < 6; i++) {
    const at = 1 + rnd.int(good.length - 2);
    out.push({ label: `truncated at ${at}/${good.length}`, bytes: good.subarray(0, at) });
  }
  for (let i = 0; i < 4; i++) {
    const bytes = Buffer.from(good);
    for (let j = 0; j < 16; j++) bytes[rnd.int(64)] = rnd.int(256);
    out.push({ label: `header noise #${i}`, bytes });
  }
  const magic = (label: string, head: number[] | string) => {
    const start = typeof head === 'string' ? Buffer.from(head, 'latin1') : Buffer.from(head);
    out.push({ label, bytes: Buffer.concat([start, Buffer.alloc(256, 0x41 + out.length)]) });
  };
  magic('a ZIP (PyTorch checkpoint)', 'PK\x03\x04');
  magic('a pickle', [0x80, 0x04, 0x95]);
  magic('HDF5', '\x89HDF\r\n\x1a\n');
  magic('GGUF', 'GGUF');
  magic('TFLite', '\x1c\x00\x00\x00TFL3');
  magic('text', '<!doctype html><script>alert(1)</script>');
  out.push({ label: 'one byte', bytes: new Uint8Array([0x08]) });
  out.push({ label: 'random bytes', bytes: Uint8Array.from({ length: 4096 }, () => rnd.int(256)) });

  // Well-formed protobufs that lie.
  out.push({
    label: 'initializer declaring 40 GB inline',
    bytes: model({
      input: [{ name: 'x', type: tensorType(FLOAT, [100_000, 100_000]) }],
      output: [{ name: 'y', type: tensorType(FLOAT, [100_000, 100_000]) }],
      initializer: [{ name: 'w', dataType: FLOAT, dims: [100_000, 100_000], rawData: new Uint8Array(16) }],
    }),
  });
  out.push({
    label: 'initializer dims overflowing int64 products',
    bytes: model({
      initializer: [{ name: 'w', dataType: FLOAT, dims: [2 ** 62, 2 ** 62], rawData: new Uint8Array(16) }],
    }),
  });
  out.push({
    label: 'negative initializer dims',
    bytes: model({ initializer: [{ name: 'w', dataType: FLOAT, dims: [-5, 4], rawData: new Uint8Array(16) }] }),
  });
  out.push({ label: 'external data: /etc/passwd', bytes: model({ initializer: [external('/etc/passwd')] }) });
  out.push({
    label: 'external data: ../ out of storage',
    bytes: model({ initializer: [external('../../../../../../../../etc/passwd')] }),
  });
  out.push({
    label: 'external data: a sibling model file',
    bytes: model({ initializer: [external('../other-model/weights.bin')] }),
  });
  out.push({ label: 'external data: missing file', bytes: model({ initializer: [external('weights.bin')] }) });
  out.push({
    label: 'external data: 1 TB length',
    bytes: model({ initializer: [external('weights.bin', { offset: '0', length: String(2 ** 40) })] }),
  });
  out.push({
    label: 'external data: /proc/self/environ',
    bytes: model({ initializer: [external('/proc/self/environ')] }),
  });
  out.push({ label: 'IR version 99', bytes: model({ initializer: [] }, { irVersion: 99 }) });
  out.push({ label: 'opset 999', bytes: model({}, { opset: 999 }) });
  out.push({
    label: 'unknown operator',
    bytes: model({ node: [{ opType: 'RunShellCommand', input: ['x'], output: ['y'], name: 'evil' }] }),
  });
  out.push({
    label: 'custom domain operator',
    bytes: model({ node: [{ opType: 'Exec', domain: 'com.evil', input: ['x'], output: ['y'], name: 'evil' }] }, {}),
  });
  out.push({
    label: 'node reading a value that does not exist',
    bytes: model({ node: [{ opType: 'Identity', input: ['nowhere'], output: ['y'], name: 'id' }] }),
  });
  out.push({
    label: 'a node cycle',
    bytes: model({
      node: [
        { opType: 'Add', input: ['x', 'b'], output: ['a'], name: 'n1' },
        { opType: 'Relu', input: ['a'], output: ['b'], name: 'n2' },
        { opType: 'Identity', input: ['a'], output: ['y'], name: 'n3' },
      ],
    }),
  });
  out.push({
    label: 'a sequence input',
    bytes: model({
      input: [{ name: 'x', type: { sequenceType: { elemType: tensorType(FLOAT, [4]) } } }],
      node: [{ opType: 'SequenceAt', input: ['x', 'i'], output: ['y'], name: 'at' }],
      initializer: [{ name: 'i', dataType: onnx.TensorProto.DataType.INT64, dims: [], int64Data: [0] }],
    }),
  });
  out.push({ label: 'an empty graph', bytes: model({ input: [], output: [], node: [] }) });
  // Loads: an input declaring 2^31-1 × 2^31-1 floats, which no request can fill.
  out.push({
    label: 'input declaring 2^62 elements',
    loads: true,
    bytes: model({
      input: [{ name: 'x', type: tensorType(FLOAT, [2 ** 31 - 1, 2 ** 31 - 1]) }],
      output: [{ name: 'y', type: tensorType(FLOAT, [2 ** 31 - 1, 2 ** 31 - 1]) }],
      node: [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'id' }],
    }),
  });
  // Models that cost without bound (test/support/hostile-models.ts).
  out.push({ label: 'a Loop with a constant 10^12 trip count', bytes: loopConstantTripsModel(), tooExpensive: true });
  out.push({
    label: 'ConstantOfShape of 2^28 floats, folded at load',
    bytes: constantFoldingBombModel(),
    tooExpensive: true,
  });
  out.push({
    label: 'a 1 GiB constant the session would keep',
    bytes: foldedConstantModel(2 ** 28),
    tooExpensive: true,
  });
  out.push({
    label: 'a sparse initializer declaring 2^28 floats',
    bytes: hugeDeclaredInitializerModel(),
    tooExpensive: true,
  });
  out.push({ label: '1000 nested If nodes', bytes: deepIfModel(1000) });
  out.push({ label: 'an external-data path of 60,000 characters', bytes: longExternalPathModel() });
  // Cheap on its smallest inputs, unbounded on others: admitted; its requests are bounded instead.
  out.push({ label: 'a Loop whose trip count is an input', bytes: loopInputTripsModel(), loads: true });
  out.push({ label: 'an allocation sized by an input', bytes: inputSizedAllocationModel(), loads: true });
  // Names with path separators and markup: stored as data, never used as paths.
  out.push({
    label: 'input named like a path',
    loads: true,
    bytes: model({
      input: [{ name: '../../etc/passwd<script>', type: tensorType(FLOAT, ['n']) }],
      output: [{ name: 'y', type: tensorType(FLOAT, ['n']) }],
      node: [{ opType: 'Identity', input: ['../../etc/passwd<script>'], output: ['y'], name: 'id' }],
    }),
  });
  return out;
}
