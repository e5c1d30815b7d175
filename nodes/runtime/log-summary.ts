/**
 * A log that cannot be flooded: the first event of a burst is written at once; what follows is
 * counted and written as one summary line per interval ("37 more webhook deliveries rejected since
 * the last report: 35 × (401) signature does not match; 2 × (413) …"), and on close. A quiet
 * interval ends the burst.
 */
export class LogSummary {
  private burst = false;
  private readonly counts = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  /** Every line recorded since the start (for status badges). */
  total = 0;

  constructor(
    private readonly write: (line: string) => void,
    /** What one event is, e.g. 'webhook delivery rejected'; `plural` names several. */
    private readonly what: string,
    private readonly plural: string,
    private readonly intervalMs = 60_000,
    private readonly maxKinds = 8,
  ) {}

  record(line: string): void {
    this.total++;
    if (!this.burst) {
      this.burst = true;
      this.write(`${this.what}: ${line}`);
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
    this.write(`${n} more ${this.plural} since the last report: ${parts.join('; ')}`);
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
