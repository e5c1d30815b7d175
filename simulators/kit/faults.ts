/**
 * Fault injection the ERP simulators share: one seeded draw per API request decides whether it is
 * answered with an error, never answered (timeout), carried out with its answer lost, or carried
 * out slowly; deterministic for a given seed and arrival order. Each simulator decides what an
 * error or a timeout looks like in its own protocol.
 */
import { SeededRandom } from './random';

export interface FaultRates {
  /** Fraction of requests answered with an error before anything is done. */
  errorRate?: number;
  /** Fraction of requests never answered, nothing done. */
  timeoutRate?: number;
  /** Fraction of requests carried out (committed) whose answer is then lost (connection dropped). */
  lostResponseRate?: number;
  /** Fraction of requests carried out only after a delay (the client may have given up). */
  slowRate?: number;
  /** Seed of the draws. */
  seed?: number;
}

export type Fault = 'error' | 'timeout' | 'lost' | 'slow';

/** A rate as a fraction in [0, 1]; anything else is 0. */
export function faultRate(x: unknown): number {
  return typeof x === 'number' && x > 0 ? Math.min(1, x) : 0;
}

export class FaultInjector {
  private rates: Required<FaultRates> = { errorRate: 0, timeoutRate: 0, lostResponseRate: 0, slowRate: 0, seed: 1 };
  private random = new SeededRandom(1);

  constructor(rates: FaultRates = {}) {
    this.set(rates);
  }

  /** New rates, and the draws start again from the seed (`rates.seed`, else `defaultSeed`). */
  set(rates: FaultRates, defaultSeed = 1): void {
    const seed = typeof rates.seed === 'number' ? rates.seed : defaultSeed;
    this.rates = {
      errorRate: faultRate(rates.errorRate),
      timeoutRate: faultRate(rates.timeoutRate),
      lostResponseRate: faultRate(rates.lostResponseRate),
      slowRate: faultRate(rates.slowRate),
      seed,
    };
    this.random = new SeededRandom(seed);
  }

  get settings(): Required<FaultRates> {
    return { ...this.rates };
  }

  /** The fault for one request, or undefined. A request not `eligible` draws nothing, leaving the sequence as it was. */
  draw(eligible = true): Fault | undefined {
    if (!eligible) return undefined;
    const r = this.random.next();
    const { errorRate, timeoutRate, lostResponseRate, slowRate } = this.rates;
    if (r < errorRate) return 'error';
    if (r < errorRate + timeoutRate) return 'timeout';
    if (r < errorRate + timeoutRate + lostResponseRate) return 'lost';
    if (r < errorRate + timeoutRate + lostResponseRate + slowRate) return 'slow';
    return undefined;
  }

  /** One of `items`, from the same seeded sequence (say, which error status). */
  pick<T>(items: readonly T[]): T {
    return this.random.pick(items);
  }
}
