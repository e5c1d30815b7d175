/**
 * Per-till sequence gap detection. Each till numbers its sales and returns; a number that is
 * skipped is a sale that never arrived. A jump is not reported at once: an offline till replays
 * its backlog oldest first, and a redelivery may be late, so a missing number is reported only if
 * it is still missing after a grace period. Filled gaps are forgotten.
 */

export interface GapReport {
  storeId: string;
  terminalId: string;
  businessDate: string;
  /** Missing sequence numbers, ascending. */
  missing: number[];
  /** The sequence whose arrival revealed the gap. */
  seenSequence: number;
  detectedAt: string;
}

interface TillState {
  /** Highest sequence seen. */
  high: number;
  /** Missing numbers below `high` not yet arrived, with when they were first missed. */
  missing: Map<number, number>;
  timer?: NodeJS.Timeout;
}

export interface GapTrackerOptions {
  graceMs: number;
  onGap: (report: GapReport) => void;
  now?: () => number;
  /** Largest jump treated as missing sales; beyond it the till was probably reset (logged once). */
  maxGap?: number;
}

const DEFAULT_MAX_GAP = 10_000;

export class GapTracker {
  private readonly tills = new Map<string, TillState>();
  private readonly now: () => number;

  constructor(private readonly opts: GapTrackerOptions) {
    this.now = opts.now ?? Date.now;
  }

  private key(storeId: string, terminalId: string, businessDate: string): string {
    return `${storeId}\u0000${terminalId}\u0000${businessDate}`;
  }

  /** Seeds a till's state from what is already registered (after a restart). */
  seed(storeId: string, terminalId: string, businessDate: string, sequences: number[]): void {
    const k = this.key(storeId, terminalId, businessDate);
    if (this.tills.has(k) || sequences.length === 0) return;
    const sorted = [...new Set(sequences)].sort((a, b) => a - b);
    const state: TillState = { high: sorted[sorted.length - 1], missing: new Map() };
    // The same rule as observe(): only a jump up to maxGap is missing sales; a larger one is a reset,
    // and enumerating it would take the process down (a till can send any sequence number).
    const maxGap = this.opts.maxGap ?? DEFAULT_MAX_GAP;
    for (let i = 1; i < sorted.length; i++) {
      const jump = sorted[i] - sorted[i - 1] - 1;
      if (jump > 0 && jump <= maxGap) for (let s = sorted[i - 1] + 1; s < sorted[i]; s++) state.missing.set(s, this.now());
    }
    this.tills.set(k, state);
    if (state.missing.size) this.arm(k, storeId, terminalId, businessDate, state.high);
  }

  known(storeId: string, terminalId: string, businessDate: string): boolean {
    return this.tills.has(this.key(storeId, terminalId, businessDate));
  }

  observe(storeId: string, terminalId: string, businessDate: string, sequence: number): void {
    const k = this.key(storeId, terminalId, businessDate);
    const state = this.tills.get(k);
    if (!state) {
      this.tills.set(k, { high: sequence, missing: new Map() });
      return;
    }
    if (sequence <= state.high) {
      state.missing.delete(sequence); // a late arrival fills a gap (or is a duplicate)
      if (state.missing.size === 0 && state.timer) {
        clearTimeout(state.timer);
        state.timer = undefined;
      }
      return;
    }
    const jump = sequence - state.high - 1;
    if (jump > 0 && jump <= (this.opts.maxGap ?? DEFAULT_MAX_GAP)) {
      const at = this.now();
      for (let s = state.high + 1; s < sequence; s++) state.missing.set(s, at);
      this.arm(k, storeId, terminalId, businessDate, sequence);
    }
    state.high = sequence;
  }

  private arm(k: string, storeId: string, terminalId: string, businessDate: string, seen: number): void {
    const state = this.tills.get(k)!;
    if (state.timer) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      const due = this.now() - this.opts.graceMs;
      const missing = [...state.missing]
        .filter(([, at]) => at <= due)
        .map(([s]) => s)
        .sort((a, b) => a - b);
      for (const s of missing) state.missing.delete(s);
      if (missing.length) {
        this.opts.onGap({ storeId, terminalId, businessDate, missing, seenSequence: seen, detectedAt: new Date(this.now()).toISOString() });
      }
      if (state.missing.size) this.arm(k, storeId, terminalId, businessDate, state.high);
    }, this.opts.graceMs);
    state.timer.unref?.();
  }

  /** Missing numbers not yet reported, per till (for status and close-of-day). */
  outstanding(): number {
    let n = 0;
    for (const s of this.tills.values()) n += s.missing.size;
    return n;
  }

  stop(): void {
    for (const s of this.tills.values()) clearTimeout(s.timer);
    this.tills.clear();
  }
}
