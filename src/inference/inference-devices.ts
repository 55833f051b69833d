// Which onnxruntime execution provider each worker runs on. `INFERENCE_DEVICES` lists devices
// (`cpu`, `webgpu:0`, `cuda:0,cuda:1`); worker i takes device i modulo the list's length.
import type { InferenceSession } from 'onnxruntime-node';

export type DeviceKind = 'cpu' | 'webgpu' | 'cuda';
export type DeviceSpec = { kind: DeviceKind; index: number; /** As reported on predictions. */ label: string };

const DEVICE = /^(cpu|webgpu|cuda)(?::(\d{1,2}))?$/;

/**
 * Parses a device list. WebGPU in onnxruntime-node takes no adapter index (its options have no
 * `deviceId`: Dawn picks the default adapter, first device wins per process), so only `webgpu`
 * or `webgpu:0` is accepted; CUDA takes `deviceId`.
 *
 * @throws Error naming the entry that does not parse.
 */
export function parseDevices(text: string): DeviceSpec[] {
  const entries = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('lists no device (e.g. cpu, webgpu:0, cuda:0,cuda:1)');
  return entries.map((entry) => {
    const m = DEVICE.exec(entry);
    if (!m) throw new Error(`"${entry}" is not a device: use cpu, webgpu[:0] or cuda:<n>`);
    const kind = m[1] as DeviceKind;
    const index = m[2] === undefined ? 0 : Number(m[2]);
    if (kind === 'webgpu' && index !== 0) {
      throw new Error(`"${entry}": onnxruntime-node's WebGPU provider can only use the default adapter (webgpu:0)`);
    }
    if (kind === 'cpu' && index !== 0) throw new Error(`"${entry}": cpu takes no index`);
    return { kind, index, label: kind === 'cpu' ? 'cpu' : `${kind}:${index}` };
  });
}

/** onnxruntime's provider list for a device. CPU is not appended: a failing GPU must be seen. */
export function executionProvidersFor(device: DeviceSpec): InferenceSession.ExecutionProviderConfig[] {
  switch (device.kind) {
    case 'cpu':
      return ['cpu'];
    case 'webgpu':
      return [{ name: 'webgpu' }];
    case 'cuda':
      return [{ name: 'cuda', deviceId: device.index }];
  }
}

export const CPU_DEVICE: DeviceSpec = { kind: 'cpu', index: 0, label: 'cpu' };
