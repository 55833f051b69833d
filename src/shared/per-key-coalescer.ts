/**
 * Runs `task(key)` at most once per `windowMs` per key, trailing: the first call in a window
 * schedules the run at its end, later calls in it are absorbed, so the last change is always
 * handled. `flush` runs what is pending now (shutdown).
 */
export class PerKeyCoalescer {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly windowMs: number,
    private readonly task: (key: string) => Promise<unknown>,
    private readonly onError: (err: unknown, key: string) => void = () => undefined,
  ) {}

  notify(key: string): void {
    if (this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.task(key).catch((err: unknown) => this.onError(err, key));
    }, this.windowMs);
    timer.unref();
    this.pending.set(key, timer);
  }

  async flush(): Promise<void> {
    const keys = [...this.pending.keys()];
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    await Promise.allSettled(keys.map((k) => this.task(k)));
  }
}
