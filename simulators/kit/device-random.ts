/**
 * A small seeded pseudo-random generator for the store-device simulator, so that the same seed
 * always produces the same stores, sales, duplicates, malformed messages and gaps. Not for
 * anything security-related.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number | string) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    if (this.state === 0) this.state = 0x9e3779b9;
  }

  /** A float in [0, 1). */
  next(): number {
    // xorshift32 followed by a multiplicative mix of the output.
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    const mixed = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
    return mixed / 0x1_0000_0000;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks a value by relative weight. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [value, weight] of choices) {
      if (r < weight) return value;
      r -= weight;
    }
    return choices[choices.length - 1][0];
  }

  /** A decimal string of exactly `length` digits. */
  digits(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += String(Math.floor(this.next() * 10));
    return s;
  }

  /** An independent generator derived from this one and a label. */
  fork(label: string): SeededRandom {
    return new SeededRandom((hashString(label) ^ Math.floor(this.next() * 0x1_0000_0000)) >>> 0);
  }
}

/** FNV-1a, 32 bit. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
