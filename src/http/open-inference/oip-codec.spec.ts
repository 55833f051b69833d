import { inferResponse, parseInferRequest } from './oip-codec.js';

const framed = (header: object, ...parts: Buffer[]) => {
  const h = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([h, ...parts]), length: h.length };
};
const bytesElements = (...items: string[]) =>
  Buffer.concat(
    items.flatMap((s) => {
      const b = Buffer.from(s);
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return [n, b];
    }),
  );

describe('Open Inference Protocol bodies', () => {
  it('reads BYTES in binary form (4-byte little-endian lengths) and deeply nested JSON data', () => {
    const strings = bytesElements('héllo', '', 'x');
    const { body, length } = framed(
      { inputs: [{ name: 's', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: strings.length } }] },
      strings,
    );
    expect(parseInferRequest(body, length).inputs).toEqual([
      { name: 's', dtype: 'string', shape: [3], data: ['héllo', '', 'x'] },
    ]);
    const nest = (n: number) =>
      Buffer.from(`{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":${'['.repeat(n)}7${']'.repeat(n)}}]}`);
    expect(parseInferRequest(nest(2000), undefined).inputs[0].data).toEqual([7]);
    // A million levels: flattened without recursion (a recursive walk overflowed the stack).
    expect(parseInferRequest(nest(1_000_000), undefined).inputs[0].data).toEqual([7]);
  });

  it('refuses frames that do not add up, and writes binary outputs after the JSON header', () => {
    const { body, length } = framed(
      { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] },
      Buffer.alloc(4),
    );
    expect(() => parseInferRequest(body, length)).toThrow(/runs past the end/);
    expect(() => parseInferRequest(Buffer.from('{}'), 5)).toThrow(/does not fit/);
    const out = inferResponse({ binaryOutputs: new Set(['*']) }, { name: 'm', version: '1.0.0' }, [
      { name: 's', dtype: 'string', shape: [2], data: ['ab', 'c'], b64: null },
    ]);
    const header = JSON.parse(out.body.subarray(0, out.headerLength).toString()) as { outputs: unknown[] };
    expect(header.outputs).toEqual([
      { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 11 } },
    ]);
    expect(out.body.subarray(out.headerLength)).toEqual(bytesElements('ab', 'c'));
  });
});
