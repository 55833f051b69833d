// The child's half of sandbox-process.ts: the frame channel on fd 3, and what the process can say
// about its own memory and CPU. A child whose parent is gone (the pipe closes) exits at once.
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { encodeFrame, FrameReader, type Frame, type FrameHeader } from './ipc-frames.js';
import type { SandboxUsage } from './sandbox-process.js';
import type { WireTensor } from './tensor-types.js';

export type ParentChannel = { send(header: FrameHeader, tensors?: readonly WireTensor[]): void };

/** Opens the channel; `onFrame` gets each frame the parent sends. */
export function connectToParent(maxFrameBytes: number, onFrame: (frame: Frame) => void): ParentChannel {
  const socket = new Socket({ fd: 3, readable: true, writable: true });
  const reader = new FrameReader(maxFrameBytes, onFrame);
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch {
      process.exit(2);
    }
  });
  const leave = () => process.exit(0);
  socket.on('end', leave);
  socket.on('close', leave);
  socket.on('error', leave);
  return {
    send(header, tensors = []) {
      const parts = encodeFrame(header, tensors);
      socket.cork();
      for (const p of parts) socket.write(p);
      socket.uncork();
    },
  };
}

/** The arguments the parent spawned this process with (sandbox-process.ts `init`). */
export function initArgument<T>(): T {
  return JSON.parse(process.argv[process.argv.length - 1]) as T;
}

/**
 * Address space, resident and peak resident memory (/proc/self/status: VmSize, VmRSS, VmHWM)
 * and CPU time used. Off Linux the address space is unknown (0) and RSS comes from Node.
 */
export function processUsage(): SandboxUsage {
  const { user, system } = process.cpuUsage();
  const cpuSeconds = (user + system) / 1e6;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => {
      const at = status.indexOf(`${field}:`);
      return at < 0 ? 0 : Number.parseInt(status.slice(at + field.length + 1).trimStart(), 10) * 1024;
    };
    return { vmBytes: kb('VmSize'), rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuSeconds };
  } catch {
    const rss = process.memoryUsage.rss();
    return { vmBytes: 0, rssBytes: rss, peakRssBytes: process.resourceUsage().maxRSS * 1024, cpuSeconds };
  }
}
