import { pino } from 'pino';
import { shutdownOnce } from './process-lifecycle.js';

/** A logger whose lines the test reads. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}

it('exits 1 at the deadline when a stage never finishes, naming the stage and what was still open', async () => {
  const { logger, lines } = capture();
  const exits: number[] = [];
  const shutdown = shutdownOnce(
    logger,
    async (step) => {
      step('http server');
      step('database');
      await new Promise(() => undefined);
    },
    {
      deadlineMs: 50,
      exit: (code) => exits.push(code),
      openResources: () => ['TCPSocketWrap', 'TCPSocketWrap', 'Timeout'],
    },
  );
  void shutdown('SIGTERM');
  await new Promise((r) => setTimeout(r, 120));
  expect(exits).toEqual([1]);
  const report = lines.find((l) => l.level === 50)!;
  expect(report).toMatchObject({ step: 'database', done: ['http server'], open: { TCPSocketWrap: 2, Timeout: 1 } });
  expect(report.msg).toMatch(/deadline passed while stopping database/);
});

it('exits 0 when every stage finishes in time, once however many signals arrive', async () => {
  const { logger, lines } = capture();
  const exits: number[] = [];
  let stops = 0;
  const shutdown = shutdownOnce(
    logger,
    async (step) => {
      stops++;
      step('jobs');
      await new Promise((r) => setTimeout(r, 10));
    },
    { deadlineMs: 1000, exit: (code) => exits.push(code) },
  );
  await Promise.all([shutdown('SIGINT'), shutdown('SIGINT'), shutdown('SIGTERM')]);
  await new Promise((r) => setTimeout(r, 1100));
  expect({ stops, exits }).toEqual({ stops: 1, exits: [0] });
  expect(lines.map((l) => l.msg)).toEqual(['shutting down', 'stopped']);
});

it('exits 1 when a stage fails, naming it', async () => {
  const { logger, lines } = capture();
  const exits: number[] = [];
  await shutdownOnce(
    logger,
    async (step) => {
      step('event bus');
      throw new Error('boom');
    },
    { deadlineMs: 1000, exit: (code) => exits.push(code) },
  )('SIGTERM');
  expect(exits).toEqual([1]);
  expect(lines.at(-1)).toMatchObject({ msg: 'error during shutdown', step: 'event bus' });
});
