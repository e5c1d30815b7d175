/**
 * A log that cannot be flooded: the first line of a window is written at once, later ones in the
 * same window are only counted, and when the window ends one line says how many there were and
 * what the latest said. A till (or a caller) sending thousands of bad messages costs a few lines.
 */
export class RateLimitedLog {
  private windowOpen = false;
  private suppressed = 0;
  private latest = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly write: (text: string) => void,
    private readonly windowMs = 60_000,
  ) {}

  add(text: string): void {
    if (!this.windowOpen) {
      this.windowOpen = true;
      this.write(text);
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
      return;
    }
    this.suppressed++;
    this.latest = text;
  }

  private flush(): void {
    this.windowOpen = false;
    if (this.suppressed === 0) return;
    const n = this.suppressed;
    this.suppressed = 0;
    this.write(`${n} more like this in the last ${Math.round(this.windowMs / 1000)} s; the latest: ${this.latest}`);
    // that line opens the next window, so a steady flood gives one line per window
    this.windowOpen = true;
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    this.timer.unref();
  }

  /** Drops what is pending (on node close). */
  stop(): void {
    clearTimeout(this.timer);
    this.windowOpen = false;
    this.suppressed = 0;
  }
}
