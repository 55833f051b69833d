import { publisherReason } from './model-validator.js';

const PATH = '/srv/models/9f1c/3b2a.onnx';

describe('publisherReason', () => {
  it("names neither the server's paths nor onnxruntime's internals", () => {
    const reason = publisherReason(
      `Load model from ${PATH} failed:/onnxruntime_src/onnxruntime/core/framework/tensorprotoutils.cc:434 ValidateExternalDataPathFromDir External data path: ../x.bin resolved path: "/srv/x.bin" is outside /srv/models/9f1c`,
      PATH,
    );
    expect(reason).toBe("External data path: ../x.bin is outside the model's folder");
  });

  it('takes linear time on a 60,000-character path repeated in the message, and caps it', () => {
    // The upload that stalled /health/live for 11 s: onnxruntime repeats the publisher's path.
    const location = `/srv/models/9f1c/${'a/'.repeat(30_000)}w.bin`;
    const message = `Load model from ${PATH} failed:External data path validation failed for initializer: w. Error: Failed to get the weakly canonical path: ${location} (${location})`;
    const started = performance.now();
    const reason = publisherReason(message, PATH);
    expect(performance.now() - started).toBeLessThan(200);
    expect(reason.length).toBeLessThanOrEqual(500);
    expect(reason).not.toContain('/srv/models');
  });
});
