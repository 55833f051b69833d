// Hostile models in the real pool: runs that never end, warm-ups past their budget, runs past
// the memory limit. Each is stopped by killing its worker process, which is gone afterwards (its
// CPU back to idle), and a bystander's version keeps running at its normal latency meanwhile.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferencePool, PoolVersion } from '../../src/inference/inference-pool.js';
import { validateAndDecodeInputs } from '../../src/inference/tensor-validation.js';
import { AppError } from '../../src/shared/errors.js';
import {
  foldedConstantModel,
  inputSizedAllocationModel,
  loopConstantTripsModel,
  loopInputTripsModel,
  writeModel,
} from '../support/hostile-models.js';
import { alive, cpuSeconds, until } from '../support/processes.js';
import { poolVersion, startTestPool } from './pool-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mm-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f = (shape: string[]) => ({ dtype: 'float32', shape });
function hostileVersion(
  name: string,
  bytes: Uint8Array,
  inputs: Record<string, { dtype: string; shape: string[] }>,
  outputs: Record<string, { dtype: string; shape: string[] }>,
): PoolVersion {
  return {
    id: `${name}-v1`,
    path: writeModel(dir, name, bytes),
    sizeBytes: bytes.byteLength,
    inputs: Object.entries(inputs).map(([n, s]) => ({ name: n, ...s })),
    outputs: Object.entries(outputs).map(([n, s]) => ({ name: n, ...s })),
  };
}

const loopInput = () =>
  hostileVersion(
    'loop-input',
    loopInputTripsModel(),
    { x: f(['1']), n: { dtype: 'int64', shape: ['1'] } },
    { y: f(['1']) },
  );
const trips = (v: PoolVersion, n: number | string) =>
  validateAndDecodeInputs(
    [
      { name: 'x', dtype: 'float32', shape: [1], data: [0] },
      { name: 'n', dtype: 'int64', shape: [1], data: [n] },
    ],
    v.inputs,
    { maxRequestBytes: 1 << 20 },
  ).tensors;

async function honestRun(pool: InferencePool, v: PoolVersion): Promise<number> {
  const { tensors } = validateAndDecodeInputs(
    [{ name: 'input', dtype: 'float32', shape: [1, 16], data: new Array(16).fill(0.5) }],
    v.inputs,
    { maxRequestBytes: 1 << 20 },
  );
  const started = performance.now();
  const r = await pool.run(v, tensors);
  expect(r.outputs[0].dims).toEqual([1, 4]);
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function outcome(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('a run that never ends', () => {
  let pool: InferencePool;
  afterEach(async () => pool?.close());

  it('is killed at its deadline with a final TIMEOUT; its worker is gone and replaced, a bystander runs meanwhile', async () => {
    pool = await startTestPool({ workers: 2 });
    const honest = await poolVersion('mlp-small');
    const hang = loopInput();
    expect(await pool.run(hang, trips(hang, 3))).toMatchObject({ outputs: [{ dims: [1] }] });
    const baseline: number[] = [];
    for (let i = 0; i < 30; i++) baseline.push(await honestRun(pool, honest));
    const pidsBefore = (await pool.stats()).map((s) => s.pid);

    // Two at once: a version may hold only one of the two workers, so the bystander keeps one.
    const started = performance.now();
    const hostile = [
      pool.run(hang, trips(hang, '1000000000000'), { timeoutMs: 1500 }),
      pool.run(hang, trips(hang, '1000000000000'), { timeoutMs: 1500 }),
    ].map(outcome);
    const during: number[] = [];
    while (performance.now() - started < 1200) during.push(await honestRun(pool, honest));
    const [first] = await Promise.all(hostile);
    expect(first).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { reason: 'TIMEOUT', stage: 'running', retryable: false },
    });
    expect(performance.now() - started).toBeLessThan(1500 + 5000);
    // Generous for a shared CI machine: the bystander's median stays within a few times its own.
    expect(median(during)).toBeLessThan(median(baseline) * 5 + 20);

    // The worker that ran it is gone (not abandoned, as a thread would be), and replaced.
    await until(() => pidsBefore.some((pid) => !alive(pid)), 'the hostile worker to be gone');
    const killed = pidsBefore.filter((pid) => !alive(pid));
    await until(() => pool.health().ready === 2, 'a replacement worker');
    const pidsAfter = (await pool.stats()).map((s) => s.pid);
    expect(pidsAfter.filter((pid) => !pidsBefore.includes(pid)).length).toBeGreaterThanOrEqual(1);
    expect(killed.every((pid) => !pidsAfter.includes(pid))).toBe(true);
    // CPU back to idle: the live workers use almost none over a second.
    const cpu0 = pidsAfter.map(cpuSeconds);
    await new Promise((r) => setTimeout(r, 1000));
    const used = pidsAfter.map((pid, i) => cpuSeconds(pid) - cpu0[i]);
    expect(Math.max(...used)).toBeLessThan(0.3);
    await honestRun(pool, honest);
  }, 60_000);

  it('is stopped by the kernel at its worker’s CPU time limit, with no deadline near', async () => {
    pool = await startTestPool({ workerMaxCpuSeconds: 2 });
    const hang = loopInput();
    const [{ pid }] = await pool.stats();
    const started = performance.now();
    const err = await outcome(pool.run(hang, trips(hang, '1000000000000'), { timeoutMs: 120_000 }));
    expect(err).toMatchObject({ details: { reason: 'TIMEOUT', stage: 'running', retryable: false } });
    expect(err.message).toMatch(/more CPU time than an inference process may have/);
    // Two CPU seconds, however long a busy machine takes to give them.
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(alive(pid)).toBe(false);
    await until(() => pool.health().ready === 1, 'a replacement worker');
  }, 90_000);

  it('is killed when the pool closes: close() returns at once and no worker is left', async () => {
    pool = await startTestPool();
    const hang = loopInput();
    const [{ pid }] = await pool.stats();
    const running = outcome(pool.run(hang, trips(hang, '1000000000000'), { timeoutMs: 600_000 }));
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await running).toMatchObject({ details: { reason: 'SHUTTING_DOWN' } });
    expect(alive(pid)).toBe(false);
  }, 30_000);
});

describe('warm-up under the admission budget', () => {
  it('kills one worker when a warm-up overruns, and never warms that version again', async () => {
    const pool = await startTestPool({ workers: 2, warmupBudgetMs: 1000 });
    try {
      const v = hostileVersion('loop-constant', loopConstantTripsModel(), { x: f(['1']) }, { y: f(['1']) });
      const started = performance.now();
      const first = await pool.warm(v);
      expect(first.warmupError).toMatch(/took longer than 1000 ms and was stopped/);
      expect(performance.now() - started).toBeLessThan(1000 + 5000);
      await until(() => pool.health().ready === 2, 'a replacement worker');
      expect(pool.health().restarts).toBe(1);
      // Asked again (a second READY event, a restart of the caller): answered from memory.
      const again = performance.now();
      expect(await pool.warm(v)).toEqual(first);
      expect(performance.now() - again).toBeLessThan(100);
      expect(pool.health().restarts).toBe(1);
      await honestRun(pool, await poolVersion('mlp-small'));
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('memory', () => {
  it('fails a run past the memory limit with a final MEMORY_LIMIT, replaces the worker, and serves the next', async () => {
    const pool = await startTestPool({ workerMaxMemoryMb: 512 });
    try {
      const v = hostileVersion(
        'input-sized-allocation',
        inputSizedAllocationModel(),
        { shape: { dtype: 'int64', shape: ['1'] } },
        { y: f(['1']) },
      );
      const run = (n: number) =>
        pool.run(
          v,
          validateAndDecodeInputs([{ name: 'shape', dtype: 'int64', shape: [1], data: [n] }], v.inputs, {
            maxRequestBytes: 1 << 20,
          }).tensors,
        );
      await run(16);
      const [before] = await pool.stats();
      // 2^28 floats: 1 GiB, twice what the worker may add. It fails at the allocation: no RSS grows.
      const err = await outcome(run(2 ** 28));
      expect(err).toMatchObject({ code: 'BAD_USER_INPUT', details: { reason: 'MEMORY_LIMIT', retryable: false } });
      expect(err.message).toMatch(/Failed to allocate memory/);
      expect(err.message).not.toMatch(/onnxruntime_src|\.cc:\d+/);
      await until(() => !alive(before.pid), 'the worker to be replaced');
      expect((await run(16)).outputs[0].dims).toEqual([1]);
      const [after] = await pool.stats();
      expect(after.pid).not.toBe(before.pid);
      expect(after.rssBytes).toBeLessThan(before.rssBytes + 64 * 2 ** 20);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('counts a session by the memory it takes to load, not by its file size', async () => {
    const pool = await startTestPool();
    try {
      // 300 bytes on disk; constant folding makes a 64 MiB constant the session keeps.
      const bytes = foldedConstantModel(2 ** 24);
      const v = hostileVersion('folding-64mb', bytes, { x: f(['1']) }, { y: f(['1']) });
      expect(bytes.byteLength).toBeLessThan(1000);
      await pool.warm(v);
      const [stats] = await pool.stats();
      expect(stats.sessions).toContain(v.id);
      expect(stats.cacheBytes).toBeGreaterThan(32 * 2 ** 20);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('puts OS limits on every worker: address space, CPU time, no core files', async () => {
    if (process.platform !== 'linux') return;
    const pool = await startTestPool({ workerMaxMemoryMb: 1024, workerMaxCpuSeconds: 600 });
    try {
      const [{ pid, vmBytes }] = await pool.stats();
      const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
      const row = (name: string) =>
        limits
          .split('\n')
          .find((l) => l.startsWith(name))!
          .slice(26)
          .trim()
          .split(/\s+/);
      const [asSoft, asHard] = row('Max address space').map(Number);
      expect(asSoft).toBe(asHard);
      // Its idle size when limited, plus 1024 MB.
      expect(asSoft - vmBytes).toBeGreaterThan(900 * 2 ** 20);
      expect(asSoft - vmBytes).toBeLessThan(1100 * 2 ** 20);
      const [cpuSoft] = row('Max cpu time').map(Number);
      expect(cpuSoft).toBeGreaterThanOrEqual(600);
      expect(cpuSoft).toBeLessThan(700);
      expect(row('Max core file size').slice(0, 2)).toEqual(['0', '0']);
    } finally {
      await pool.close();
    }
  }, 30_000);
});
