/**
 * What `npm run bench` shows while it runs: a header per scenario (`[i/n] title`) and each of
 * the scenario's progress lines stamped with its elapsed seconds. On a terminal a status line
 * under them (`[i/n] name · 12s in scenario · 1m 03s in all`) is redrawn every second, so a long
 * silent step still shows it is alive; in a pipe or a CI log there is no `\r` noise.
 */
export type Progress = {
  start(index: number, name: string, title: string): void;
  log(message: string): void;
  /** Clears the status line; call once after the last scenario. */
  stop(): void;
};

type Out = { write(s: string): unknown; isTTY?: boolean };

export function createProgress(total: number, out: Out = process.stdout, now = () => performance.now()): Progress {
  const tty = out.isTTY === true;
  const runStart = now();
  let scenarioStart = runStart;
  let label = '';
  let timer: NodeJS.Timeout | undefined;

  const seconds = (from: number) => (now() - from) / 1000;
  const clock = (s: number) =>
    s < 60 ? `${Math.floor(s)}s` : `${Math.floor(s / 60)}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const status = () => `${label} · ${clock(seconds(scenarioStart))} in scenario · ${clock(seconds(runStart))} in all`;
  const clear = () => tty && out.write('\r\x1b[2K');
  const draw = () => tty && label && out.write(`\r\x1b[2K${status()}`);

  return {
    start(index, name, title) {
      clear();
      scenarioStart = now();
      label = `[${index}/${total}] ${name}`;
      out.write(`\n[${index}/${total}] ${title}\n`);
      draw();
      if (tty && !timer) {
        timer = setInterval(draw, 1000);
        timer.unref();
      }
    },
    log(message) {
      clear();
      out.write(`    +${seconds(scenarioStart).toFixed(1).padStart(5)}s  ${message}\n`);
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
      label = '';
    },
  };
}
