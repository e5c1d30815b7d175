/**
 * What to push to the channels after stock changed, and the per-channel queue that pushes it.
 *
 * `pushesNeeded`: the (channel, SKU, figure) pushes a set of changed SKUs calls for: only the SKUs
 * that changed and the bundles they are part of, and of those only the figures that differ from
 * what the channel last received. Nothing else is recomputed or sent (the full-sync pattern sends
 * every SKU to every channel on every change).
 *
 * `PushQueue`: one per channel. A figure offered for a SKU replaces the one still waiting for it, so
 * a burst of a thousand changes to one SKU is pushed as the few figures the channel's rate lets
 * through, ending at the latest. Each figure carries a sequence number; at most one push per SKU is
 * in flight, and a failed push is retried only while no later figure is waiting (a later one
 * replaces it). So a channel never receives an older figure after a newer one. docs/inventory.md.
 */
import type { Governor } from '../runtime/http';
import { AtsEngine } from './available-to-sell';
import type { InventoryPosition } from './position';
import { channelKey } from './rules';

export interface Push {
  channel: string;
  sku: string;
  available: number;
}

/** The figure each channel last received per SKU (undefined: never sent). */
export type SentFigures = (channel: string, sku: string) => number | undefined;

/** The changed SKUs and every bundle that contains one of them, directly or through another bundle. */
export function affectedSkus(engine: AtsEngine, changed: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const sku of changed) {
    out.add(sku);
    for (const bundle of engine.rules.partOf.get(sku) ?? []) out.add(bundle);
  }
  return out;
}

/** The pushes the changed SKUs call for, per channel in rule order, SKUs in the order met. */
export function pushesNeeded(engine: AtsEngine, changed: Iterable<string>, sent: SentFigures): Push[] {
  const skus = affectedSkus(engine, changed);
  const out: Push[] = [];
  for (const rule of engine.rules.channels) {
    const channel = channelKey(rule);
    for (const sku of skus) {
      const available = engine.figure(rule, sku);
      if (sent(channel, sku) !== available) out.push({ channel, sku, available });
    }
  }
  return out;
}

/**
 * The changed positions taken into the engine's index, then the pushes they call for. A position
 * that cannot be read still counts as a change: its location now counts 0 for that SKU.
 */
export function pushesAfter(engine: AtsEngine, changed: Iterable<InventoryPosition>, sent: SentFigures): Push[] {
  const skus: string[] = [];
  for (const p of changed) {
    engine.positions.set(p);
    if (typeof p?.sku === 'string') skus.push(p.sku);
  }
  return pushesNeeded(engine, skus, sent);
}

export interface PushTicket {
  sku: string;
  available: number;
  seq: number;
  /** 1 on the first try. */
  attempt: number;
}

export interface Delivered {
  available: number;
  seq: number;
  /** Clock reading when the channel confirmed it. */
  at: number;
}

interface SkuState {
  waiting?: PushTicket;
  inFlight?: PushTicket;
  delivered?: Delivered;
  /** A retried figure waits until then. */
  notBefore: number;
}

export interface PushQueueOptions {
  /** Wait before retry n is `min(maxBackoffMs, baseBackoffMs × 2^(n−1))`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export class PushQueue {
  private seq = 0;
  private readonly state = new Map<string, SkuState>();
  /** SKUs with a figure waiting, in the order they started waiting (oldest first: no SKU starves). */
  private readonly ready = new Set<string>();
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  /** Figures replaced by a later one before they were sent (the coalescing), and pushes retried. */
  coalesced = 0;
  retried = 0;

  constructor(options: PushQueueOptions = {}) {
    this.baseBackoffMs = options.baseBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  /**
   * The SKU's latest figure. Returns its sequence number, or undefined when the channel already has
   * (or is being sent) that figure and nothing else is waiting.
   */
  offer(sku: string, available: number): number | undefined {
    const s = this.entry(sku);
    const ahead = s.inFlight ?? s.delivered;
    if (s.waiting) this.coalesced++;
    if (ahead?.available === available) {
      // what is in flight (or delivered) is already this figure: nothing more to send
      s.waiting = undefined;
      this.ready.delete(sku);
      return undefined;
    }
    s.waiting = { sku, available, seq: ++this.seq, attempt: 1 };
    s.notBefore = 0;
    this.ready.add(sku); // a Set keeps its first place in line
    return s.waiting.seq;
  }

  /** The next figure to push now (oldest waiting SKU with nothing in flight and no retry pause), if any. */
  take(now: number): PushTicket | undefined {
    for (const sku of this.ready) {
      const s = this.state.get(sku)!;
      if (s.inFlight || s.notBefore > now) continue;
      this.ready.delete(sku);
      s.inFlight = s.waiting;
      s.waiting = undefined;
      return s.inFlight;
    }
    return undefined;
  }

  /** The channel confirmed the ticket's figure. */
  succeeded(ticket: PushTicket, now: number): void {
    const s = this.entry(ticket.sku);
    if (s.inFlight?.seq === ticket.seq) s.inFlight = undefined;
    if (!s.delivered || s.delivered.seq < ticket.seq) s.delivered = { available: ticket.available, seq: ticket.seq, at: now };
  }

  /**
   * The push failed. A later figure waiting for the SKU replaces it ('superseded'); otherwise the
   * same figure, with its own sequence number, waits out a backoff and is tried again ('retry').
   */
  failed(ticket: PushTicket, now: number): 'retry' | 'superseded' {
    const s = this.entry(ticket.sku);
    if (s.inFlight?.seq === ticket.seq) s.inFlight = undefined;
    if (s.waiting || (s.delivered && s.delivered.seq > ticket.seq)) return 'superseded';
    this.retried++;
    s.waiting = { ...ticket, attempt: ticket.attempt + 1 };
    s.notBefore = now + Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(30, ticket.attempt - 1));
    this.ready.add(ticket.sku);
    return 'retry';
  }

  /**
   * The push failed for good (the channel refused the figure itself: an unknown SKU, a figure out of
   * its range). It is not retried; the next figure offered for the SKU is pushed as usual.
   */
  abandoned(ticket: PushTicket): void {
    const s = this.entry(ticket.sku);
    if (s.inFlight?.seq === ticket.seq) s.inFlight = undefined;
  }

  /** What the channel last confirmed for the SKU: figure, sequence and when. */
  lastDelivered(sku: string): Delivered | undefined {
    return this.state.get(sku)?.delivered;
  }

  /** Whether the queue has had a figure for the SKU (waiting, in flight or delivered). */
  tracks(sku: string): boolean {
    const s = this.state.get(sku);
    return !!(s && (s.waiting || s.inFlight || s.delivered));
  }

  /** SKUs with a figure waiting to be pushed. */
  get waiting(): number {
    return this.ready.size;
  }

  /**
   * When the earliest waiting figure may go (undefined: nothing waiting; may be in the past). Given
   * `now`, the first figure found that may go by then is answer enough: a drain asks before every
   * push, and looking through every waiting SKU each time made a full sync quadratic.
   */
  nextAt(now = -Infinity): number | undefined {
    let at: number | undefined;
    for (const sku of this.ready) {
      const s = this.state.get(sku)!;
      if (s.inFlight) continue;
      if (s.notBefore <= now) return s.notBefore;
      at = Math.min(at ?? Infinity, s.notBefore);
    }
    return at;
  }

  private entry(sku: string): SkuState {
    let s = this.state.get(sku);
    if (!s) this.state.set(sku, (s = { notBefore: 0 }));
    return s;
  }
}

/**
 * Wakes a drain that is waiting: for one of its pushes to be answered, or (rung by the engine) for a
 * figure offered meanwhile, which then goes out at once instead of after the answers in flight
 * (bol.com answers a stock update only once its process status says done, 250 ms or more later).
 */
export class DrainWake {
  private waiting?: { promise: Promise<void>; resolve(): void };

  ring(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  /** Resolves at the next `ring`. */
  next(): Promise<void> {
    if (!this.waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }
}

/**
 * Pushes what is ready, each after the channel's governor allows it, until nothing is ready now and
 * nothing is in flight. Figures offered while it waits are taken at their latest. `send` rejects
 * when the channel did not confirm the figure. Up to `maxInFlight` pushes (each for another SKU:
 * the queue never has two in flight for one) wait for their confirmation at once; 1 sends one at a
 * time. While pushes are in flight it waits for `wake`, which rings when one is answered and, when
 * the caller rings it too, when a figure is offered. Returns how many pushes it made. A retry
 * waiting out its backoff is left for a later call (`queue.nextAt()` says when).
 */
export async function drainPushes(
  queue: PushQueue,
  send: (t: PushTicket) => Promise<void>,
  governor: Governor,
  now: () => number,
  maxInFlight = 1,
  wake = new DrainWake(),
): Promise<number> {
  let pushes = 0;
  let inFlight = 0;
  for (;;) {
    const t = now();
    const at = queue.nextAt(t);
    if (at === undefined || at > t || inFlight >= maxInFlight) {
      if (!inFlight) return pushes;
      await wake.next();
      continue;
    }
    await governor.take();
    const ticket = queue.take(now());
    if (!ticket) continue;
    pushes++;
    inFlight++;
    void send(ticket)
      .then(
        () => queue.succeeded(ticket, now()),
        (err: { permanent?: boolean }) => (err?.permanent ? queue.abandoned(ticket) : void queue.failed(ticket, now())),
      )
      .finally(() => {
        inFlight--;
        wake.ring();
      });
  }
}
