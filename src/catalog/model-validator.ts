import { dirname } from 'node:path';
import {
  InvalidModelCode,
  InvalidModelError,
  type ModelSignature,
  type TensorSpec,
} from '../inference/model-signature.js';
import { cleanRuntimeMessage } from '../inference/runtime-message.js';
import {
  SandboxProcess,
  sandboxEntry,
  type SandboxExit,
  type SandboxLimitsMode,
  type SandboxUsage,
} from '../inference/sandbox-process.js';
import type { Logger } from '../shared/logger.js';

/**
 * Checks an uploaded model file and reads its signature, away from the API process: the model is
 * untrusted until it has loaded and run once within the admission budget.
 *
 * @throws InvalidModelError when the file is not a model onnxruntime can load, or costs too much
 *   to serve (code MODEL_TOO_EXPENSIVE, the measurement in its reason).
 * @throws ValidationAbortedError when the validator closed first (the version stays PROCESSING).
 */
export interface ModelValidator {
  validate(path: string): Promise<ModelSignature>;
  close(): Promise<void>;
}

/** The validator stopped (shutdown) before it could judge the file: nothing is known about it. */
export class ValidationAbortedError extends Error {
  override readonly name = 'ValidationAbortedError';
}

/**
 * What a model may cost to load and run once on its smallest inputs (INFERENCE_ADMISSION_*):
 * `timeoutMs` of CPU time (the sandbox's, all threads, so a busy machine does not make an honest
 * model look slow) within three times that of wall time (a minute at least), and `maxMemoryMb`
 * beyond an idle sandbox.
 */
export type AdmissionBudget = { timeoutMs: number; maxMemoryMb: number };

export type SandboxValidatorOptions = {
  budget: AdmissionBudget;
  /** Validations at once in this process (INFERENCE_VALIDATION_CONCURRENCY); the rest wait. */
  concurrency: number;
  maxHeapMb: number;
  limitsMode: SandboxLimitsMode;
  /** Synthetic inputs larger than this are not built (INFERENCE_MAX_REQUEST_BYTES). */
  warmupMaxBytes: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
};

/** The frame the parent sends, and what the sandbox answers (model-validator.worker.ts). */
export type ValidationRequest = { type: 'validate'; path: string; warmupMaxBytes: number };
type Measured = { baseRssBytes: number; peakRssBytes: number };
export type ValidationAnswer =
  | { type: 'ready'; usage: SandboxUsage }
  | ({ type: 'validated'; signature: ModelSignature; loadMs: number; runMs: number; runError?: string } & Measured)
  | { type: 'invalid'; code: InvalidModelCode; reason: string; detail: string }
  | ({ type: 'too-expensive'; stage: 'load' | 'run'; detail: string } & Measured)
  | { type: 'failed'; message: string };

const MB = 2 ** 20;
const STARTUP_TIMEOUT_MS = 60_000;
const CPU_POLL_MS = 100;
// Wall time a validation may take: three CPU budgets, and never under a minute. It runs at low
// priority (nice 10 gets about a tenth of a core beside busy neighbours), so on a loaded machine
// its CPU time comes slowly; the budget is CPU time, and the wall bound only ends the wait.
const WALL_BUDGETS = 3;
const MIN_WALL_MS = 60_000;
// Validation runs below the API and the inference workers: an upload never slows serving.
const VALIDATION_NICE = 10;

/**
 * Admission in a sandbox: each upload gets a fresh child process (a clean measurement, nothing
 * left behind), at low priority, limited by the OS to the budget's memory (RLIMIT_AS on top of
 * its idle size) and CPU time, and killed when it passes the budget's wall time. It loads the
 * model as a worker would, runs it once on its smallest declared inputs, and reports the time
 * and the peak memory (RSS) that took. Validations beyond `concurrency` wait their turn.
 */
export class SandboxModelValidator implements ModelValidator {
  private running = 0;
  private readonly waiting: { go(): void; abort(e: Error): void }[] = [];
  private readonly live = new Set<SandboxProcess>();
  private closed = false;

  constructor(private readonly options: SandboxValidatorOptions) {}

  async validate(path: string): Promise<ModelSignature> {
    await this.turn();
    try {
      return await this.inSandbox(path);
    } finally {
      this.running--;
      this.waiting.shift()?.go();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.abort(new ValidationAbortedError('the validator closed'));
    const gone = [...this.live].map((p) => p.exited);
    for (const p of this.live) p.kill('the validator closed');
    await Promise.all(gone);
  }

  private turn(): Promise<void> {
    if (this.closed) return Promise.reject(new ValidationAbortedError('the validator closed'));
    if (this.running < this.options.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) =>
      this.waiting.push({
        go: () => {
          this.running++;
          resolve();
        },
        abort: reject,
      }),
    );
  }

  private inSandbox(path: string): Promise<ModelSignature> {
    const { budget, limitsMode, warmupMaxBytes, maxHeapMb } = this.options;
    return new Promise<ModelSignature>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const finish = (outcome: ModelSignature | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        proc.kill('its validation is over');
        this.live.delete(proc);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const proc = SandboxProcess.spawn({
        entry: sandboxEntry(import.meta.url, 'model-validator.worker'),
        init: {},
        maxHeapMb,
        nice: VALIDATION_NICE,
        maxFrameBytes: 16 * MB,
        onFrame: ({ header }) => {
          const answer = header as ValidationAnswer;
          if (answer.type !== 'ready') {
            finish(this.outcome(answer, path));
            return;
          }
          clearTimeout(timer);
          const limits = {
            extraAddressSpaceBytes: budget.maxMemoryMb * MB,
            cpuSeconds: Math.ceil(budget.timeoutMs / 1000) + 2,
          };
          proc.limit(limitsMode, limits, answer.usage).then(
            () => {
              if (done) return;
              const startedAt = performance.now();
              const cpuAtStart = proc.usage()?.cpuSeconds;
              // CPU time is the budget where the kernel reports it; wall time bounds the wait.
              if (cpuAtStart !== undefined) {
                poll = setInterval(() => {
                  const used = (proc.usage()?.cpuSeconds ?? cpuAtStart) - cpuAtStart;
                  if (used * 1000 > budget.timeoutMs) finish(this.tooSlow(proc, answer.usage, startedAt, used));
                }, CPU_POLL_MS);
              }
              const wallMs =
                cpuAtStart === undefined ? budget.timeoutMs : Math.max(budget.timeoutMs * WALL_BUDGETS, MIN_WALL_MS);
              timer = setTimeout(() => {
                if (cpuAtStart === undefined) return finish(this.tooSlow(proc, answer.usage, startedAt));
                const used = (proc.usage()?.cpuSeconds ?? cpuAtStart) - cpuAtStart;
                // Hardly any CPU in all that time: the machine starved it, the model is not to blame.
                if (used * 1000 >= budget.timeoutMs / 2) finish(this.tooSlow(proc, answer.usage, startedAt, used));
                else
                  finish(
                    new Error(
                      `validation got ${used.toFixed(1)} s of CPU in ${wallMs / 1000} s: the machine is overloaded`,
                    ),
                  );
              }, wallMs);
              proc.send({ type: 'validate', path, warmupMaxBytes } satisfies ValidationRequest);
            },
            (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
          );
        },
        onExit: (exit) => {
          if (this.closed) finish(new ValidationAbortedError('the validator closed'));
          else finish(this.died(exit));
        },
      });
      this.live.add(proc);
      timer = setTimeout(() => finish(new Error('the validation sandbox did not start')), STARTUP_TIMEOUT_MS);
    });
  }

  private outcome(answer: Exclude<ValidationAnswer, { type: 'ready' }>, path: string): ModelSignature | Error {
    const maxMb = this.options.budget.maxMemoryMb;
    switch (answer.type) {
      case 'validated': {
        const usedMb = Math.max(0, answer.peakRssBytes - answer.baseRssBytes) / MB;
        this.options.logger?.info(
          {
            loadMs: round(answer.loadMs),
            runMs: round(answer.runMs),
            memoryMb: round(usedMb),
            runError: answer.runError,
          },
          'model admitted',
        );
        // Where the OS limit could not be applied, the measurement still decides.
        if (usedMb > maxMb) {
          return tooExpensive(`it used ${round(usedMb)} MB of memory, more than the ${maxMb} MB ${ALLOWANCE}`);
        }
        return { inputs: answer.signature.inputs.map(spec), outputs: answer.signature.outputs.map(spec) };
      }
      case 'too-expensive': {
        const asked = /requested buffer of size (\d{1,20})/.exec(answer.detail);
        const heldMb = round(Math.max(0, answer.peakRssBytes - answer.baseRssBytes) / MB);
        const what = asked
          ? `it asked for ${round(Number(asked[1]) / MB)} MB more while holding ${heldMb} MB`
          : `it held ${heldMb} MB when an allocation failed`;
        return tooExpensive(
          `it needs more than the ${maxMb} MB of memory ${ALLOWANCE} (${answer.stage === 'load' ? 'loading' : 'running'}: ${what})`,
        );
      }
      case 'invalid':
        return new InvalidModelError(
          answer.code,
          publisherReason(answer.reason, path),
          cleanRuntimeMessage(answer.detail, { maxChars: 2000 }),
        );
      case 'failed':
        return new Error(`model validation failed: ${cleanRuntimeMessage(answer.message)}`);
    }
  }

  private tooSlow(proc: SandboxProcess, idle: SandboxUsage, startedAt: number, cpuSeconds?: number): Error {
    const rss = proc.usage()?.rssBytes;
    const held = rss === undefined ? '' : `, holding ${round(Math.max(0, rss - idle.rssBytes) / MB)} MB`;
    const wall = ((performance.now() - startedAt) / 1000).toFixed(1);
    const limit = this.options.budget.timeoutMs / 1000;
    const what = 'loading it and running it once on its smallest inputs';
    return tooExpensive(
      cpuSeconds === undefined
        ? `${what} takes longer than the ${limit} s ${ALLOWANCE_TIME} (stopped after ${wall} s${held})`
        : `${what} takes more than the ${limit} s of CPU time ${ALLOWANCE_TIME} (stopped after ${cpuSeconds.toFixed(1)} s of CPU, ${wall} s elapsed${held})`,
    );
  }

  private died(exit: SandboxExit): Error {
    if (exit.signal === 'SIGXCPU') {
      return tooExpensive(
        `it used more CPU time than the ${Math.ceil(this.options.budget.timeoutMs / 1000)} s ${ALLOWANCE_TIME}`,
      );
    }
    if (/out of memory|bad_alloc|Allocation failed/i.test(exit.stderr)) {
      return tooExpensive(`it needs more than the ${this.options.budget.maxMemoryMb} MB of memory ${ALLOWANCE}`);
    }
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    return new InvalidModelError(
      InvalidModelCode.RUNTIME_CRASH,
      `the runtime crashed loading or running this model (${how}); it cannot be served`,
      cleanRuntimeMessage(exit.stderr, { firstLineOnly: false, maxChars: 2000 }),
    );
  }
}

const ALLOWANCE = 'a model may use to load and run once on its smallest inputs';
const ALLOWANCE_TIME = 'a model may take';

const tooExpensive = (what: string) =>
  new InvalidModelError(InvalidModelCode.MODEL_TOO_EXPENSIVE, `too expensive to serve: ${what}`, what);

const round = (n: number) => Math.round(n * 10) / 10;

// The sandbox's answer is data from another process: only the expected fields are kept.
const spec = (t: TensorSpec): TensorSpec => ({
  name: String(t.name),
  dtype: String(t.dtype),
  shape: t.shape.map(String),
});

/**
 * The reason as the publisher (and anyone reading the version) sees it: onnxruntime's messages
 * name the file it loaded ("Load model from /srv/models/<id>/<id>.onnx failed: …"), its folder
 * (external data checks print the "allowed directory") and C++ source locations and signatures
 * ("tensorprotoutils.cc:434 ValidateExternalDataPathFromDir …"). None of that is the publisher's
 * business, and it maps out the server's storage. Linear in the reason's length
 * (runtime-message.ts): the text may hold a path the publisher made 60,000 characters long.
 */
export function publisherReason(reason: string, path: string): string {
  return cleanRuntimeMessage(reason, {
    replace: [
      [path, 'the uploaded file'],
      [dirname(path), "the model's folder"],
    ],
  });
}
