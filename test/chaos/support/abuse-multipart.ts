import { seeded } from './abuse-harness.js';

/**
 * GraphQL multipart request bodies built byte by byte (https://github.com/jaydenseric/graphql-multipart-request-spec),
 * so the corpus can break them in ways FormData never would: parts missing, out of order, badly
 * mapped, cut short, with a wrong boundary.
 */
export const UPLOAD =
  'mutation U($modelId: ID!, $version: String!, $file: Upload!) { uploadModelVersion(modelId: $modelId, version: $version, file: $file) { id status } }';

type Part = { name: string; value: string | Uint8Array; filename?: string };

export function encodeParts(boundary: string, parts: Part[], options: { close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  if (options.close ?? true) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** A well-formed upload request (for the corpus to mutate, and for aborted-upload tests). */
export function multipartBody(
  variables: { modelId: string; version: string },
  file: { bytes: Uint8Array; filename: string },
): { boundary: string; body: Buffer } {
  const boundary = 'abuse-boundary-7MA4YWxkTrZu0gW';
  const body = encodeParts(boundary, [
    { name: 'operations', value: JSON.stringify({ query: UPLOAD, variables: { ...variables, file: null } }) },
    { name: 'map', value: JSON.stringify({ 0: ['variables.file'] }) },
    { name: '0', value: file.bytes, filename: file.filename },
  ]);
  return { boundary, body };
}

export type MultipartCase = { label: string; boundary: string; body: Buffer };

/**
 * Broken uploads against `modelId` (owned by the sender). None may create a version: every one
 * is malformed, oversized, or aimed somewhere the sender may not write.
 */
export function multipartCorpus(modelId: string, strangerId: string): MultipartCase[] {
  const rnd = seeded('multipart');
  const b = 'abuse-boundary-7MA4YWxkTrZu0gW';
  const file = new Uint8Array(2048).fill(8);
  const ops = (variables: Record<string, unknown>, query = UPLOAD) =>
    JSON.stringify({ query, variables: { modelId, version: '5.0.0', file: null, ...variables } });
  const map = JSON.stringify({ 0: ['variables.file'] });
  const filePart: Part = { name: '0', value: file, filename: 'm.onnx' };
  const cases: MultipartCase[] = [];
  const add = (label: string, parts: Part[], options: { close?: boolean; boundary?: string } = {}) =>
    cases.push({ label, boundary: options.boundary ?? b, body: encodeParts(b, parts, options) });

  add('no operations', [{ name: 'map', value: map }, filePart]);
  add('no map', [{ name: 'operations', value: ops({}) }, filePart]);
  add('no file part', [
    { name: 'operations', value: ops({}) },
    { name: 'map', value: map },
  ]);
  add('file before operations', [filePart, { name: 'operations', value: ops({}) }, { name: 'map', value: map }]);
  add('map before operations', [{ name: 'map', value: map }, { name: 'operations', value: ops({}) }, filePart]);
  add('operations not JSON', [{ name: 'operations', value: '{"query": ' }, { name: 'map', value: map }, filePart]);
  add('map not JSON', [{ name: 'operations', value: ops({}) }, { name: 'map', value: '{0: [' }, filePart]);
  add('operations an array (batch)', [
    { name: 'operations', value: `[${ops({})}, ${ops({ version: '5.0.1' })}]` },
    { name: 'map', value: JSON.stringify({ 0: ['0.variables.file', '1.variables.file'] }) },
    filePart,
  ]);
  for (const target of [
    'variables.nope',
    'variables',
    'query',
    'variables.modelId',
    'variables.file.deeper',
    '__proto__.polluted',
    'constructor.prototype.polluted',
    'variables.__proto__',
    '',
  ]) {
    add(`map to ${target || 'empty path'}`, [
      { name: 'operations', value: ops({}) },
      { name: 'map', value: JSON.stringify({ 0: [target] }) },
      filePart,
    ]);
  }
  for (const m of [
    '[]',
    '{"0": "variables.file"}',
    '{"0": []}',
    '{"0": [1]}',
    '{"1": ["variables.file"]}',
    'null',
    '"x"',
  ]) {
    add(`map ${m}`, [{ name: 'operations', value: ops({}) }, { name: 'map', value: m }, filePart]);
  }
  add('two files (maxFiles 1)', [
    { name: 'operations', value: ops({}) },
    { name: 'map', value: JSON.stringify({ 0: ['variables.file'], 1: ['variables.file'] }) },
    filePart,
    { name: '1', value: file, filename: 'n.onnx' },
  ]);
  add('file over UPLOAD_MAX_BYTES', [
    { name: 'operations', value: ops({}) },
    { name: 'map', value: map },
    { name: '0', value: new Uint8Array(300 * 1024).fill(1), filename: 'big.onnx' },
  ]);
  add('operations over UPLOAD_MAX_FIELD_BYTES', [
    { name: 'operations', value: ops({ pad: 'p'.repeat(100 * 1024) }) },
    { name: 'map', value: map },
    filePart,
  ]);
  add('no closing boundary', [{ name: 'operations', value: ops({}) }, { name: 'map', value: map }, filePart], {
    close: false,
  });
  add('wrong boundary in the header', [{ name: 'operations', value: ops({}) }, { name: 'map', value: map }, filePart], {
    boundary: 'another-boundary',
  });
  // Cut at seeded points inside each part.
  const whole = encodeParts(b, [{ name: 'operations', value: ops({}) }, { name: 'map', value: map }, filePart]);
  for (let i = 0; i < 8; i++) {
    const at = 1 + rnd.int(whole.length - 1);
    cases.push({ label: `cut at byte ${at}`, boundary: b, body: whole.subarray(0, at) });
  }
  // Seeded byte noise inside the part headers.
  for (let i = 0; i < 8; i++) {
    const body = Buffer.from(whole);
    for (let j = 0; j < 4; j++) body[rnd.int(300)] = rnd.int(256);
    cases.push({ label: `noise #${i}`, boundary: b, body });
  }
  // Well-formed, but aimed where the sender may not write or with bad arguments.
  const wellFormed = (label: string, variables: Record<string, unknown>) =>
    add(label, [{ name: 'operations', value: ops(variables) }, { name: 'map', value: map }, filePart]);
  wellFormed('a model that does not exist', { modelId: '00000000-0000-4000-8000-000000000000' });
  wellFormed('a model id that is not a UUID', { modelId: '../../etc/passwd' });
  wellFormed('a user id as the model id', { modelId: strangerId });
  for (const version of [
    '',
    'x',
    '1',
    '1.0',
    '01.0.0',
    '1.0.0-',
    `1.0.${'9'.repeat(40)}`,
    '1.0.0+build',
    'v'.repeat(10_000),
  ]) {
    wellFormed(`version ${version.slice(0, 20)}`, { version });
  }
  return cases;
}
