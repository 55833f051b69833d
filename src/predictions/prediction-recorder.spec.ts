import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedCost, SucceededRun } from '../billing/metering.types.js';
import { PredictionNotRecordedError, PredictionRecorder } from './prediction-recorder.js';

const em = {} as EntityManager;
const run = (id: string): SucceededRun => ({
  id,
  userId: 'u',
  apiKeyId: null,
  modelId: 'm',
  versionId: 'v',
  device: 'cpu',
  batchSize: 1,
  startedAt: new Date(),
  completedAt: new Date(),
  queueTimeMs: 0,
  inferenceTimeMs: 1,
  pricing: {
    unitPrice: '0',
    freeAllowance: 0,
    currency: 'USD',
    capped: false,
    acceptedAt: new Date(),
    periodStart: '2026-01-01',
  },
});
const cost = (id: string): RecordedCost => ({ id, unitPrice: '0', cost: '0', currency: 'USD' });

/** A metering stand-in whose first statement is held until `release()`, so that a group forms behind it. */
function metering(write: (ids: string[]) => RecordedCost[]) {
  const calls: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    calls,
    release,
    recordSucceeded: async (_em: EntityManager, runs: readonly SucceededRun[]) => {
      const ids = runs.map((r) => r.id);
      calls.push(ids);
      if (calls.length === 1) await gate;
      return write(ids);
    },
  };
}

describe('PredictionRecorder', () => {
  it('records the runs that arrive during one statement together in the next', async () => {
    const m = metering((ids) => ids.map(cost));
    const recorder = new PredictionRecorder((e, runs: readonly SucceededRun[]) => m.recordSucceeded(e, runs));
    const all = ['a', 'b', 'c', 'd'].map((id) => recorder.record(em, run(id)));
    m.release();
    expect((await Promise.all(all)).map((c) => c.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(m.calls).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('retries a failed group one run at a time, so that only the bad run fails', async () => {
    const m = metering((ids) => {
      if (ids.length > 1) throw new Error('a constraint failed for one of them');
      return ids.filter((id) => id !== 'c').map(cost);
    });
    const recorder = new PredictionRecorder((e, runs: readonly SucceededRun[]) => m.recordSucceeded(e, runs));
    const all = ['a', 'b', 'c', 'd'].map((id) => recorder.record(em, run(id)).catch((e: unknown) => e));
    m.release();
    const results = await Promise.all(all);
    expect(results[2]).toBeInstanceOf(PredictionNotRecordedError);
    expect(results.filter((r) => !(r instanceof Error)).map((r) => (r as RecordedCost).id)).toEqual(['a', 'b', 'd']);
    expect(m.calls).toEqual([['a'], ['b', 'c', 'd'], ['b'], ['c'], ['d']]);
  });

  it('fails a whole group at once when the database is unreachable (no statement per run)', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const m = metering((ids) => {
      if (ids.length > 1) throw down;
      return ids.map(cost);
    });
    const recorder = new PredictionRecorder((e, runs: readonly SucceededRun[]) => m.recordSucceeded(e, runs));
    const all = ['a', 'b', 'c', 'd'].map((id) => recorder.record(em, run(id)).catch((e: unknown) => e));
    m.release();
    const results = await Promise.all(all);
    expect(results.slice(1)).toEqual([down, down, down]);
    expect(m.calls).toEqual([['a'], ['b', 'c', 'd']]);
  });
});
