/**
 * Serialises work per key inside one process: copies of one record arriving together (a
 * redelivery racing the original) run one after the other, different keys run side by side.
 * Across processes a dedupe node's store claim decides races; this lock does not.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // The last in line for the key removes it, so idle keys leave nothing behind.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Runs `work` holding every key's turn, taken in sorted order (two callers never wait on each other in a cycle). */
  runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const from = (n: number): Promise<T> => (n === sorted.length ? work() : this.run(sorted[n], () => from(n + 1)));
    return from(0);
  }

  /** Keys with work running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}

const shared = new Map<string, KeyedLock>();

/**
 * The one lock of `scope` (say, an ERP database) in this process. A node redeployed while its old
 * instance still has a create on the wire takes the same lock, so its write of a key waits until
 * the old one has an answer (or gave up) and then looks up what that create did, instead of
 * looking too early, finding nothing and creating a second record.
 */
export function sharedLock(scope: string): KeyedLock {
  let lock = shared.get(scope);
  if (!lock) {
    lock = new KeyedLock();
    shared.set(scope, lock);
  }
  return lock;
}
