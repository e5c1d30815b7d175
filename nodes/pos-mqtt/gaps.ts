/**
 * Per-till sequence gap detection. Each till numbers its sales and returns; a number that is
 * skipped is a sale that never arrived. A jump is not reported at once: an offline till replays
 * its backlog oldest first, and a redelivery may be late, so a missing number is reported only if
 * it is still missing after a grace period. Filled gaps are forgotten.
 *
 * A till's state is per business date, so a long-running process would gather one per till and day
 * for good: past `maxTills` states the least recently seen without a gap still pending are dropped (a till-day
 * seen again is seeded anew from the sales register, `known`/`seed`).
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
  /** Till-days kept at most (those with a pending gap are never dropped). */
  maxTills?: number;
}

const DEFAULT_MAX_GAP = 10_000;
/** Some days of a large estate's tills (a thousand tills × 10 days). */
const DEFAULT_MAX_TILLS = 10_000;

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
    this.add(k, state);
    if (state.missing.size) this.arm(k, storeId, terminalId, businessDate, state.high);
  }

  /** Till-days tracked now. */
  get size(): number {
    return this.tills.size;
  }

  /** Adds a till-day's state, dropping the least recently seen ones without a pending gap past maxTills (a Map iterates in insertion order). */
  private add(k: string, state: TillState): void {
    this.tills.set(k, state);
    let over = this.tills.size - (this.opts.maxTills ?? DEFAULT_MAX_TILLS);
    for (const [old, st] of this.tills) {
      if (over <= 0 || old === k) break;
      if (st.missing.size) continue;
      this.tills.delete(old);
      over--;
    }
  }

  known(storeId: string, terminalId: string, businessDate: string): boolean {
    return this.tills.has(this.key(storeId, terminalId, businessDate));
  }

  observe(storeId: string, terminalId: string, businessDate: string, sequence: number): void {
    const k = this.key(storeId, terminalId, businessDate);
    const state = this.tills.get(k);
    if (!state) {
      this.add(k, { high: sequence, missing: new Map() });
      return;
    }
    // Most recently seen last: the till-days dropped past maxTills are those idle longest (one
    // dropped and seen again is rebuilt from the register, and may report a gap it reported before).
    this.tills.delete(k);
    this.tills.set(k, state);
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
