/**
 * A log that cannot be flooded: the first line of a burst is written at once; what follows within
 * the interval is counted and written as one summary line at its end ("37 more in the last 60 s:
 * 35 × 401 signature does not match, 2 × 413 …"). A quiet interval ends the burst.
 */
export class LogSummary {
  private burst = false;
  private readonly counts = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  /** Every line recorded since the start (for status badges). */
  total = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly what: string,
    private readonly intervalMs = 60_000,
    private readonly maxKinds = 8,
  ) {}

  record(line: string): void {
    this.total++;
    if (!this.burst) {
      this.burst = true;
      this.write(line);
      this.arm();
      return;
    }
    const key = this.counts.has(line) || this.counts.size < this.maxKinds ? line : 'other reasons';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Writes what is counted (on close, so nothing counted is lost). */
  flush(): void {
    if (!this.counts.size) return;
    const n = [...this.counts.values()].reduce((a, b) => a + b, 0);
    const parts = [...this.counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c} × ${k}`);
    this.counts.clear();
    this.write(`${n} more ${this.what} in the last ${Math.round(this.intervalMs / 1000)} s: ${parts.join('; ')}`);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    this.burst = false;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      if (this.counts.size) {
        this.flush();
        this.arm();
      } else {
        this.burst = false;
        this.timer = undefined;
      }
    }, this.intervalMs);
    this.timer.unref();
  }
}
