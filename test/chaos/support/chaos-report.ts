import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The reliability suite's report: every fault and bad-input class a chaos test tries, with counts.
 * Tests call `reportChaos(...)` once per class; entries go to a JSON-lines file (each Jest test
 * file runs in its own module registry, so nothing in memory is shared), and the global teardown
 * (global-teardown.ts) prints them as a table and writes test-artifacts/chaos-report.json.
 * The global setup and teardown import nothing from here: Jest loads them without the suite's
 * module mapping, so a `./x.js` import of a TypeScript file would not resolve there.
 */
export type ChaosEntry = {
  /** The test file's topic, e.g. 'abuse', 'dependency-faults', 'process-faults', 'soak'. */
  suite: string;
  /** What was done to the system, e.g. 'redis restart during predictions', 'truncated ONNX upload'. */
  fault: string;
  /** How many requests, jobs or inputs of this class were sent. */
  tried: number;
  /** Outcome counts, e.g. { BAD_USER_INPUT: 40, 'SUCCEEDED': 12 }. */
  outcomes: Record<string, number>;
  /** For faults under load: jobs/usage accepted vs completed (they must match). */
  accounting?: { accepted: number; completed: number; usageRecords?: number; billedTwice?: number };
  notes?: string;
};

export const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');
const LINES = join(ARTIFACTS_DIR, 'chaos-report.jsonl');

export function reportChaos(entry: ChaosEntry): void {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  appendFileSync(LINES, `${JSON.stringify({ ...entry, at: new Date().toISOString() })}\n`);
}
