import { executionProvidersFor, parseDevices } from './inference-devices.js';
import { inferenceConfigFrom, INFERENCE_ENV } from './inference.config.js';
import { z } from 'zod';

describe('devices', () => {
  it('parses device lists into providers', () => {
    const devices = parseDevices('cpu, webgpu:0, cuda:1');
    expect(devices.map((d) => d.label)).toEqual(['cpu', 'webgpu:0', 'cuda:1']);
    expect(devices.map(executionProvidersFor)).toEqual([
      ['cpu'],
      [{ name: 'webgpu' }],
      [{ name: 'cuda', deviceId: 1 }],
    ]);
  });

  it('names the entry it cannot use', () => {
    expect(() => parseDevices('tpu:0')).toThrow(/"tpu:0" is not a device/);
    expect(() => parseDevices('webgpu:1')).toThrow(/default adapter/);
    expect(() => parseDevices(' , ')).toThrow(/lists no device/);
  });

  it('sizes the pool so that workers × intra-op threads ≈ cores', () => {
    const parse = (env: Record<string, string>) => z.object(INFERENCE_ENV).parse(env);
    expect(inferenceConfigFrom(parse({}), 16).inference).toMatchObject({ workers: 16, intraOpNumThreads: 1 });
    expect(inferenceConfigFrom(parse({ INFERENCE_WORKERS: '4' }), 16).inference.intraOpNumThreads).toBe(4);
    expect(inferenceConfigFrom(parse({ INFERENCE_DEVICES: 'cuda:0,cuda:1' }), 16).inference.workers).toBe(2);
    expect(z.object(INFERENCE_ENV).safeParse({ INFERENCE_DEVICES: 'gpu' }).success).toBe(false);
  });
});
