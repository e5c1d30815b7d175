/**
 * One till's messages are processed one after another, in the order they were stored; different
 * tills proceed independently. A message whose processing failed (the store refused a write, say)
 * holds its till's lane until a retry processes it or it is given up: the till's later messages wait
 * behind it rather than overtake it, so a till close still comes after the sales it counts and the
 * sales leave in the till's order. The wait is bounded: the inbox retries a failed message after a
 * short back-off and gives it up to the dead-letter store after its attempts.
 */
import { KeyedLock } from '../runtime/keyed-lock';

export class TillLanes {
  /** One till's entries, one after another (the lock is held while an entry holds its lane). */
  private readonly lock = new KeyedLock();
  /** Per lane: the entry whose failure holds it, and how to let the lane go on. */
  private readonly holds = new Map<string, { id: string; release: () => void }>();

  /**
   * Runs `work` for entry `id` after the earlier entries of `lane`. The retry of the entry that
   * holds the lane runs at once (the lane waits for it); when it succeeds, the lane goes on.
   */
  run(lane: string, id: string, work: () => Promise<void>): Promise<void> {
    if (this.holds.get(lane)?.id === id) {
      const retry = work();
      retry.then(
        () => this.release(id),
        () => undefined, // still failing: the lane stays held until the next retry, or until it is given up
      );
      return retry;
    }
    return new Promise<void>((resolve, reject) => {
      void this.lock.run(lane, async () => {
        try {
          await work();
          resolve();
        } catch (err) {
          // The caller hears of the failure now (the inbox schedules the retry); the lane stays taken.
          reject(err);
          await new Promise<void>((release) => this.holds.set(lane, { id, release }));
        }
      });
    });
  }

  /** Entry `id` is done with (given up to the dead-letter store, say): a lane it holds goes on. */
  release(id: string): void {
    for (const [lane, hold] of this.holds) {
      if (hold.id !== id) continue;
      this.holds.delete(lane);
      hold.release();
    }
  }

  /** Lets every held lane go on (the node is closing). */
  releaseAll(): void {
    for (const hold of this.holds.values()) hold.release();
    this.holds.clear();
  }

  /** Lanes held by a failed entry. */
  get held(): number {
    return this.holds.size;
  }
}
