/**
 * The one seeded generator every simulator uses for its data and its faults (mulberry32): the same
 * seed gives the same sequence, so a failing test can be replayed exactly. A text seed is hashed
 * (FNV-1a) to a number first. Not for anything security-related.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number | string) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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

/** The generator as a bare function of [0, 1), for code that only needs numbers. */
export function seededRandom(seed: number | string): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
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
