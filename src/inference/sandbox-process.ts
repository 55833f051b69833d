// A child process that runs untrusted models: spawned with a minimal environment, at a chosen
// priority, talking length-prefixed frames over a pipe (fd 3), bounded by OS resource limits,
// and killable at any moment with SIGKILL (unlike a thread, killing it cannot hurt us). Used by
// the inference pool (long-lived workers) and the model validator (one process per upload).
// Why RLIMIT_AS through prlimit, and the measured figures: README.md in this folder.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameReader, type Frame, type FrameHeader } from './ipc-frames.js';
import { cap } from './runtime-message.js';
import type { WireTensor } from './tensor-types.js';

/** `auto`: apply limits where prlimit exists; `required`: refuse to run without; `off`: none. */
export type SandboxLimitsMode = 'auto' | 'required' | 'off';

export type SandboxLimits = {
  /** Address space (RLIMIT_AS) the process may map beyond what it has mapped when limited. */
  extraAddressSpaceBytes: number;
  /** CPU time (RLIMIT_CPU, all threads) it may use beyond what it has used when limited. */
  cpuSeconds: number;
};

/** What a sandbox reports of itself (sandbox-child.ts `processMemory`). */
export type SandboxUsage = { vmBytes: number; rssBytes: number; peakRssBytes: number; cpuSeconds: number };

export type SandboxExit = { code: number | null; signal: NodeJS.Signals | null; stderr: string; killedFor?: string };

export type SandboxEntry = { path: string; execArgv: string[] };

/** The child's script beside `moduleUrl`: the .ts file under swc (dev, tests), the built .js otherwise. */
export function sandboxEntry(moduleUrl: string, name: string): SandboxEntry {
  const ts = moduleUrl.endsWith('.ts');
  const path = fileURLToPath(new URL(`./${name}.${ts ? 'ts' : 'js'}`, moduleUrl));
  if (!existsSync(path)) throw new Error(`sandbox entry not found at ${path}`);
  return { path, execArgv: ts ? ['--import', '@swc-node/register/esm-register'] : [] };
}

export type SandboxSpawnOptions = {
  entry: SandboxEntry;
  /** Passed to the child as its one argument (JSON). */
  init: unknown;
  /** V8 old-space cap (`--max-old-space-size`). */
  maxHeapMb: number;
  /** Niceness (0 normal, 19 lowest): validation runs below serving. */
  nice?: number;
  /** Largest frame accepted from the child; a bigger one is a protocol breach and kills it. */
  maxFrameBytes: number;
  onFrame(frame: Frame): void;
  /** Called once, when the process is gone (reaped). */
  onExit(exit: SandboxExit): void;
};

const STDERR_TAIL_CHARS = 4096;
// The temporary folder as the process started with it (a later change of TMPDIR, for uploads'
// buffers say, is not where sandboxes' scratch belongs).
const TMP_BASE = tmpdir();

// The child gets no secrets: database URLs, JWT and Stripe keys stay in the API process. GPU
// runtimes need their loader variables; the TypeScript loader (development) its own.
const ENV_KEEP = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_ENV', 'LD_LIBRARY_PATH'];
const ENV_PREFIXES = ['VK_', 'NVIDIA_', 'CUDA_', '__EGL_', 'SWC_'];

function sandboxEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { TMPDIR: tmp };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (ENV_KEEP.includes(k) || ENV_PREFIXES.some((p) => k.startsWith(p)))) env[k] = v;
  }
  // glibc gives each thread that allocates its own 64 MiB arena reservation: with onnxruntime's
  // and V8's threads that is gigabytes of address space counted by RLIMIT_AS, and unused.
  env.MALLOC_ARENA_MAX = '2';
  return env;
}

export class SandboxProcess {
  readonly pid: number;
  readonly exited: Promise<SandboxExit>;
  private readonly child: ChildProcess;
  private readonly channel: Socket;
  private readonly tmp: string;
  private stderr = '';
  private killedFor?: string;
  private gone = false;

  private constructor(options: SandboxSpawnOptions) {
    const { entry } = options;
    // A temporary folder of its own, removed with it: onnxruntime's bundled telemetry library
    // leaves files in TMPDIR (an empty mat-debug-<pid>.log and a .ses) in every process it runs in.
    this.tmp = mkdtempSync(join(TMP_BASE, 'mm-sandbox-'));
    this.child = spawn(
      process.execPath,
      [...entry.execArgv, `--max-old-space-size=${options.maxHeapMb}`, entry.path, JSON.stringify(options.init)],
      { env: sandboxEnv(this.tmp), stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    this.pid = this.child.pid ?? -1;
    this.channel = this.child.stdio[3] as Socket;
    if (options.nice && this.pid > 0) {
      try {
        setPriority(this.pid, options.nice);
      } catch {
        // Not fatal: the process only runs at the API's own priority.
      }
    }
    const reader = new FrameReader(options.maxFrameBytes, (frame) => options.onFrame(frame));
    this.channel.on('data', (chunk: Buffer) => {
      if (this.gone) return;
      try {
        reader.push(chunk);
      } catch (err) {
        this.kill(`it broke the protocol: ${(err as Error).message}`);
      }
    });
    // A child that dies mid-write, or is killed, makes the pipe fail: its exit says the rest.
    this.channel.on('error', () => undefined);
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL_CHARS);
    });
    this.exited = new Promise<SandboxExit>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.gone) return;
        this.gone = true;
        rmSync(this.tmp, { recursive: true, force: true });
        const exit = { code, signal, stderr: cap(this.stderr.trim(), STDERR_TAIL_CHARS), killedFor: this.killedFor };
        options.onExit(exit);
        resolve(exit);
      };
      // 'close', not 'exit': by then stderr has been read to its end (a crash explains itself there).
      this.child.once('close', done);
      this.child.once('error', (err) => {
        this.stderr += `\n${err.message}`;
        done(null, null);
      });
    });
  }

  static spawn(options: SandboxSpawnOptions): SandboxProcess {
    return new SandboxProcess(options);
  }

  get alive(): boolean {
    return !this.gone;
  }

  send(header: FrameHeader, tensors: readonly WireTensor[] = []): void {
    if (this.gone) return;
    const parts = encodeFrame(header, tensors);
    this.channel.cork();
    for (const p of parts) this.channel.write(p);
    this.channel.uncork();
  }

  /**
   * CPU seconds and resident memory of the process as the kernel counts them (/proc), read from
   * outside: it answers while the child is stuck in native code. Undefined off Linux or once gone.
   */
  usage(): { cpuSeconds: number; rssBytes: number } | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // The fields after the command name (which may hold spaces) start after its ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
      return { cpuSeconds, rssBytes: Number(fields[21]) * 4096 };
    } catch {
      return undefined;
    }
  }

  /** SIGKILL now; `reason` is kept for the exit report. Safe to call more than once. */
  kill(reason: string): void {
    if (this.gone) return;
    this.killedFor ??= reason;
    this.child.kill('SIGKILL');
  }

  /**
   * Applies RLIMIT_AS, RLIMIT_CPU and RLIMIT_CORE=0 to the running process (prlimit --pid), on
   * top of what it uses now: the runtime's own reservations differ between builds and loaders
   * (about 0.8 GB of address space compiled, 3.6 GB under the development TypeScript loader), so
   * a fixed figure would be either loose or fatal. Resolves `false` where limits are not
   * available and the mode allows running without them.
   *
   * @throws Error in `required` mode when they cannot be applied.
   */
  async limit(mode: SandboxLimitsMode, limits: SandboxLimits, now: SandboxUsage): Promise<boolean> {
    if (mode === 'off' || (mode === 'auto' && !(await sandboxLimitsAvailable()))) return false;
    const as = Math.ceil(now.vmBytes + limits.extraAddressSpaceBytes);
    const cpu = Math.ceil(now.cpuSeconds + limits.cpuSeconds);
    // CPU: SIGXCPU at the soft limit (the process ends, and its exit says why), SIGKILL a second later.
    const args = ['--pid', String(this.pid), `--as=${as}:${as}`, `--cpu=${cpu}:${cpu + 1}`, '--core=0:0'];
    try {
      await run('prlimit', args);
      return true;
    } catch (err) {
      if (mode === 'required') throw new Error(`could not limit the sandbox process: ${(err as Error).message}`);
      return false;
    }
  }
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(cap(`${err.message} ${stderr}`.trim(), 500))) : resolve(),
    );
  });
}

/**
 * Whether OS limits can be applied here (prlimit on PATH, Linux). Checked once per process; the
 * pool and the validator log a warning when they run without.
 */
let available: Promise<boolean> | undefined;
export function sandboxLimitsAvailable(): Promise<boolean> {
  available ??=
    process.platform === 'linux'
      ? run('prlimit', ['--version']).then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
  return available;
}
