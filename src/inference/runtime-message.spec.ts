import { cleanRuntimeMessage, isSourceLocation, RUNTIME_MESSAGE_MAX_CHARS } from './runtime-message.js';

// Messages as onnxruntime 1.30 writes them (captured from real failures).
const IR =
  '/onnxruntime_src/onnxruntime/core/graph/model.cc:180 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 99, max supported IR version: 11';
const ALLOC =
  "Non-zero status code returned while running ConstantOfShape node. Name:'ConstantOfShape_0' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) Failed to allocate memory for requested buffer of size 1073741824";

describe('cleanRuntimeMessage', () => {
  it('drops C++ source locations and signatures, keeping the message', () => {
    expect(cleanRuntimeMessage(IR)).toBe('Unsupported model IR version: 99, max supported IR version: 11');
    expect(cleanRuntimeMessage(ALLOC)).toBe(
      "Non-zero status code returned while running ConstantOfShape node. Name:'ConstantOfShape_0' Status Message: Failed to allocate memory for requested buffer of size 1073741824",
    );
    expect(
      cleanRuntimeMessage('tensorprotoutils.cc:434 ValidateExternalDataPathFromDir External data path does not exist'),
    ).toBe('External data path does not exist');
  });

  it("removes the load prefix and resolved paths, and replaces the server's paths", () => {
    const msg =
      'Load model from /srv/models/m/v.onnx failed:External data path: ../x.bin resolved path: "/srv/x.bin" is outside /srv/models/m';
    expect(
      cleanRuntimeMessage(msg, {
        replace: [
          ['/srv/models/m/v.onnx', 'the uploaded file'],
          ['/srv/models/m', "the model's folder"],
        ],
      }),
    ).toBe("External data path: ../x.bin is outside the model's folder");
  });

  it('keeps a message that only looks like a signature', () => {
    expect(cleanRuntimeMessage('x.cc:12 Invalid rank (got 3) for input')).toBe('Invalid rank (got 3) for input');
    expect(cleanRuntimeMessage('a.cc:1 f(unclosed and then some words')).toBe('f(unclosed and then some words');
  });

  it('caps the length and shortens a long word, keeping its ends', () => {
    const path = `${'a/'.repeat(1500)}w.bin`;
    const out = cleanRuntimeMessage(`Failed to get the weakly canonical path: ${path} (twice: ${path})`);
    expect(out.length).toBeLessThanOrEqual(RUNTIME_MESSAGE_MAX_CHARS);
    expect(out).toMatch(/^Failed to get the weakly canonical path: a\/a\/[a/]*…[a/]*a\/w\.bin \(twice: a\/a/);
    // Past the scanned prefix nothing is read at all.
    const huge = cleanRuntimeMessage(`Failed: ${'a/'.repeat(30_000)}w.bin`);
    expect(huge.length).toBeLessThanOrEqual(RUNTIME_MESSAGE_MAX_CHARS);
    expect(cleanRuntimeMessage('x'.repeat(10_000), { maxChars: 50 })).toHaveLength(50);
  });

  it('takes time linear in its input: hostile text of a megabyte costs milliseconds', () => {
    // Shapes that make backtracking patterns quadratic: nested folders without an extension,
    // locations without a closing parenthesis, runs of spaces and colons.
    const hostile = [
      `${'a/'.repeat(500_000)}`,
      `${'x.cc:1 f( '.repeat(100_000)}`,
      `${'a.cc:1 '.repeat(150_000)}`,
      `Load model from ${'/x'.repeat(300_000)}`,
      `${': '.repeat(400_000)}1`,
    ];
    for (const text of hostile) {
      const started = performance.now();
      cleanRuntimeMessage(text, { replace: [['/x/x', 'the file']] });
      // Generous for a busy CI machine; a quadratic pass over these takes minutes.
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it('recognizes source locations by their shape alone', () => {
    expect(isSourceLocation('/onnxruntime_src/onnxruntime/core/graph/model.cc:180')).toBe(true);
    expect(isSourceLocation('x.hpp:1')).toBe(true);
    expect(isSourceLocation('size:1024')).toBe(false);
    expect(isSourceLocation('x.cc:')).toBe(false);
    expect(isSourceLocation('x.cc:12a')).toBe(false);
  });
});
