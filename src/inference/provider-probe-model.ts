// The bytes of test-models.ts's elementwise model (y = Relu(x * 2 + 1), x float32 [batch, 4]),
// inlined so that a worker can check its execution provider at start without reading a file or
// needing onnx-proto (a dev dependency) in production.
export const PROBE_MODEL_B64 =
  'CAgSJG1vZGVsLW1hcmtldHBsYWNlIHRlc3QtbW9kZWwgYnVpbGRlchoBMTIAOr0BChwKAXgKA3R3bxIGc2NhbGVkGgVNdWxfMCIDTXVsCiIKBnNjYWxlZAoDb25lEgdzaGlmdGVkGgVBZGRfMSIDQWRkChoKB3NoaWZ0ZWQSAXkaBlJlbHVfMiIEUmVsdRILZWxlbWVudHdpc2UqDRABQgN0d29KBAAAAEAqDRABQgNvbmVKBAAAgD9aGAoBeBITChEIARINCgcSBWJhdGNoCgIIBGIYCgF5EhMKEQgBEg0KBxIFYmF0Y2gKAggEQgQKABAN';

export const PROBE_INPUT = { name: 'x', dims: [1, 4] } as const;
