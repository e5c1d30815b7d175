/**
 * The push engine behind `tillwire-available-to-sell` (docs/inventory.md, "The push engine"): SKUs
 * whose positions changed go in; canonical `inventory.ats` documents for the channel write nodes
 * come out, only where a channel's figure changed, coalesced per SKU and paced per channel.
 *
 * - Changed SKUs collect while a computation runs, so a burst is computed as a few batches. Each
 *   batch reads from the ledger only the positions of the changed SKUs, of the bundles that contain
 *   them and of those bundles' components (push-plan.ts `affectedSkus`, `skusBehind`).
 * - What each channel last received is the channel write nodes' own record in the store
 *   (core/channel-write.ts `PushedFigure`), read once when the engine starts, then the figures this
 *   engine's queues had confirmed. A SKU whose figure equals it is not pushed.
 * - One `PushQueue` per channel: a newer figure replaces one still waiting, one push per SKU in
 *   flight, retries with backoff, never an older figure after a newer one. `drainPushes` paces it by
 *   the node's rate per channel.
 * - A push counts as delivered when the channel write node's output comes back to the engine
 *   (`confirm`), failed when its Catch does or when neither came within `confirmMs`.
 */
import type { AvailableToSell } from '../model/types.generated';
import type { InventoryLedger } from '../runtime/inventory';
import type { NodeMessage } from '../core/node-red';
import type { KvEntry } from '../runtime/store';
import { TokenBucket } from '../runtime/http';
import { AtsEngine, PositionIndex, skusBehind } from './available-to-sell';
import { affectedSkus, DrainWake, drainPushes, pushesNeeded, PushQueue, type PushTicket } from './push-plan';
import { channelKey, type ChannelRule, type InventoryRules } from './rules';

/** What the engine hands the flow for one push: the channel (`channelKey`), the document and its ticket. */
export interface ChannelPush {
  channel: string;
  doc: AvailableToSell;
  ticket: PushTicket;
}

export interface ChannelPushesOptions {
  /** Pushes per second per channel (sustained; a burst of the same size). */
  ratePerSecond: number;
  /** Pushes per channel waiting for their confirmation at once. */
  maxInFlight: number;
  /** A push not confirmed within this long counts as failed and is retried. */
  confirmMs: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** After a failed computation (store unavailable), the SKUs are tried again after this long. */
  retryComputeMs?: number;
}

export interface ChannelPushesDeps {
  rules: InventoryRules;
  ledger(): Promise<InventoryLedger>;
  /** The store's key-value records (the channel write nodes' `channel-stock:` records). */
  records(prefix: string, afterKey?: string): Promise<KvEntry[]>;
  emit(push: ChannelPush): void;
  onError(err: Error): void;
  /** Called when counts change (for the badge). */
  onChange?(): void;
  /** SKUs of one computation that were skipped (see `counts.skipped`), for a warning naming them. */
  onSkipped?(skus: string[]): void;
}

interface Awaiting {
  seq: number;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const RECORD_PREFIX = 'channel-stock:';
const RECORD_PAGE = 1000;

/**
 * The figures the channel write nodes recorded per system → account → SKU, from their
 * `channel-stock:<system>:<account>:<node type>:<SKU>:<location>` records: only the inventory
 * nodes' figures without a location (the available-to-sell ones) that kept their quantity.
 */
export class RecordedFigures {
  private readonly bySystem = new Map<string, Map<string, Map<string, number>>>();

  add(entry: KvEntry): void {
    const parts = entry.key.split(':');
    if (parts.length < 6 || parts[0] !== 'channel-stock') return;
    const [, system, account, type] = parts;
    const location = parts[parts.length - 1];
    const sku = parts.slice(4, -1).join(':');
    const quantity = (entry.value as { quantity?: unknown } | undefined)?.quantity;
    if (!type.endsWith('-inventory') || location !== '-' || !Number.isSafeInteger(quantity)) return;
    let accounts = this.bySystem.get(system);
    if (!accounts) this.bySystem.set(system, (accounts = new Map()));
    let skus = accounts.get(account);
    if (!skus) accounts.set(account, (skus = new Map()));
    skus.set(sku, quantity as number);
  }

  /**
   * What the channel was last given for the SKU: the records of the rule's account when there are
   * any, else of every account of the system (a write node names its account its own way: a shop
   * domain, a Square node its locations). Undefined when none, or when they disagree.
   */
  figure(rule: Pick<ChannelRule, 'system' | 'account'>, sku: string): number | undefined {
    const accounts = this.bySystem.get(rule.system);
    if (!accounts) return undefined;
    const own = rule.account ? accounts.get(rule.account) : undefined;
    const pool = own ? [own] : [...accounts.values()];
    let out: number | undefined;
    for (const skus of pool) {
      const q = skus.get(sku);
      if (q === undefined) continue;
      if (out !== undefined && out !== q) return undefined;
      out = q;
    }
    return out;
  }
}

export class ChannelPushes {
  private readonly queues = new Map<string, PushQueue>();
  private readonly governors = new Map<string, TokenBucket>();
  private readonly rulesByChannel = new Map<string, ChannelRule>();
  /** The latest document offered per channel + SKU (sent when its ticket is taken). */
  private readonly offered = new Map<string, { seq: number; doc: AvailableToSell }>();
  /** The document of the push in flight (kept for its retry). */
  private readonly sending = new Map<string, { seq: number; doc: AvailableToSell }>();
  private readonly awaiting = new Map<string, Awaiting>();
  private readonly pumping = new Map<string, { again: boolean; wake: DrainWake }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private pending = new Set<string>();
  private all = false;
  private computing?: Promise<void>;
  private recorded?: RecordedFigures;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  /** Last `computedAt` handed out, in ms: each document's is later than the one before. */
  private clock = 0;
  /** `skipped`: SKUs named as changed that no channel was ever told of and that have no position (see `compute`). */
  readonly counts = { pushed: 0, confirmed: 0, failed: 0, skipped: 0 };

  constructor(
    private readonly deps: ChannelPushesDeps,
    private readonly options: ChannelPushesOptions,
  ) {
    for (const rule of deps.rules.channels) {
      const key = channelKey(rule);
      this.rulesByChannel.set(key, rule);
      this.queues.set(key, new PushQueue({ baseBackoffMs: options.baseBackoffMs, maxBackoffMs: options.maxBackoffMs }));
      this.governors.set(key, new TokenBucket(options.ratePerSecond, Math.max(1, Math.ceil(options.ratePerSecond))));
    }
  }

  /** The channels in the rules' order. */
  get channels(): string[] {
    return [...this.queues.keys()];
  }

  /** Figures waiting to be pushed, over every channel. */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting;
    return n;
  }

  get inFlight(): number {
    return this.awaiting.size;
  }

  /** What the channel confirmed last for the SKU in this run (figure, sequence, when). */
  lastDelivered(channel: string, sku: string) {
    return this.queues.get(channel)?.lastDelivered(sku);
  }

  /** These SKUs' positions changed: recompute them (and their bundles) and push what differs. */
  changed(skus: Iterable<string>): void {
    for (const s of skus) if (typeof s === 'string' && s) this.pending.add(s);
    this.kick();
  }

  /** Recompute every SKU the ledger holds and every bundle of the rules. */
  recomputeAll(): void {
    this.all = true;
    this.kick();
  }

  /**
   * The channel write node's answer for a push: `ok` its output, else its Catch; `permanent` when the
   * channel refused the figure itself (not retried: the SKU's next figure is pushed as usual). A late answer
   * (after `confirmMs` counted the push as failed) still records a confirmed figure, never over a newer one.
   */
  confirm(channel: string, sku: string, seq: number, available: number, ok: boolean, permanent = false): boolean {
    const q = this.queues.get(channel);
    if (!q) return false;
    const waiting = this.awaiting.get(`${channel}\u0000${sku}`);
    if (waiting && waiting.seq === seq) {
      if (ok) waiting.resolve();
      else waiting.reject(Object.assign(new Error('the channel write node failed'), { permanent }));
      return true;
    }
    if (ok) q.succeeded({ sku, available, seq, attempt: 0 }, Date.now());
    return true;
  }

  /** Resolves when nothing is being computed (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.computing) await this.computing;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    for (const a of this.awaiting.values()) {
      clearTimeout(a.timer);
      a.reject(new Error('closed'));
    }
    this.awaiting.clear();
  }

  private kick(): void {
    if (this.closed || this.computing) return;
    this.computing = this.computeLoop().finally(() => {
      this.computing = undefined;
      if (!this.closed && (this.pending.size || this.all) && !this.retryTimer) this.kick();
    });
  }

  private async computeLoop(): Promise<void> {
    while (!this.closed && (this.pending.size || this.all)) {
      const all = this.all;
      const changed = this.pending;
      this.pending = new Set();
      this.all = false;
      try {
        await this.compute(all, changed);
      } catch (err) {
        // The store is unavailable (or a query failed): the same SKUs are tried again shortly.
        for (const s of changed) this.pending.add(s);
        this.all ||= all;
        this.deps.onError(err as Error);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.options.retryComputeMs ?? 5000);
        return;
      }
    }
  }

  private async compute(all: boolean, changed: Set<string>): Promise<void> {
    const { rules } = this.deps;
    const ledger = await this.deps.ledger();
    if (!this.recorded) this.recorded = await this.readRecords();
    const locationIds = rules.locations;
    let skus: Set<string>;
    let positions;
    if (all) {
      positions = await ledger.positions({ locationIds });
      skus = new Set([...positions.map((p) => p.sku), ...rules.bundles.keys(), ...changed]);
    } else {
      const probe = new AtsEngine(rules, new PositionIndex());
      skus = affectedSkus(probe, changed);
      const read = new Set<string>();
      for (const s of skus) for (const b of skusBehind(rules, s)) read.add(b);
      positions = await ledger.positions({ skus: [...read], locationIds });
    }
    const engine = new AtsEngine(rules, new PositionIndex(positions));
    const computedAt = new Date((this.clock = Math.max(Date.now(), this.clock + 1))).toISOString();
    // A SKU this run has pushed is offered to its queue whatever the figure (the queue knows what is
    // waiting, in flight and delivered); one it has not is compared with the channel's record.
    const sent = (channel: string, sku: string) => {
      if (this.queues.get(channel)!.tracks(sku)) return undefined;
      return this.recorded!.figure(this.rulesByChannel.get(channel)!, sku);
    };
    // A SKU with no position at the rules' locations and no bundle of the rules is nothing to tell a
    // channel that never received a figure of it (this run or a record): pushing it 0 would name a SKU
    // it never got (a typo, or a SKU of a location no channel sells from). Skipped, and counted.
    const held = new Set(positions.map((p) => p.sku));
    const unknown = (channel: string, sku: string) =>
      !held.has(sku) && !rules.bundles.has(sku) && !this.queues.get(channel)!.tracks(sku) && sent(channel, sku) === undefined;
    const skipped = new Set<string>();
    const touched = new Set<string>();
    for (const push of pushesNeeded(engine, skus, sent)) {
      if (unknown(push.channel, push.sku)) {
        skipped.add(push.sku);
        continue;
      }
      const seq = this.queues.get(push.channel)!.offer(push.sku, push.available);
      if (seq === undefined) continue;
      const rule = this.rulesByChannel.get(push.channel)!;
      this.offered.set(`${push.channel}\u0000${push.sku}`, { seq, doc: engine.document(rule, push.sku, computedAt) });
      touched.add(push.channel);
    }
    for (const channel of touched) this.pump(channel);
    if (skipped.size) {
      this.counts.skipped += skipped.size;
      this.deps.onSkipped?.([...skipped]);
      this.deps.onChange?.();
    }
  }

  private async readRecords(): Promise<RecordedFigures> {
    const out = new RecordedFigures();
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.records(RECORD_PREFIX, after);
      for (const e of page) out.add(e);
      if (page.length < RECORD_PAGE) return out;
      after = page[page.length - 1].key;
    }
  }

  /** Drains the channel's queue; offers made meanwhile are taken by the running drain or the next. */
  private pump(channel: string): void {
    if (this.closed) return;
    const running = this.pumping.get(channel);
    if (running) {
      // The running drain takes the new figures: at once if it is waiting for answers, else on its next round.
      running.again = true;
      running.wake.ring();
      return;
    }
    const state = { again: false, wake: new DrainWake() };
    this.pumping.set(channel, state);
    clearTimeout(this.timers.get(channel));
    const q = this.queues.get(channel)!;
    void (async () => {
      do {
        state.again = false;
        await drainPushes(q, (t) => this.send(channel, t), this.governors.get(channel)!, Date.now, this.options.maxInFlight, state.wake);
      } while (state.again && !this.closed);
      this.pumping.delete(channel);
      this.deps.onChange?.();
      // A retry waiting out its backoff: look again when it is due.
      const at = q.nextAt();
      if (at !== undefined && !this.closed) {
        this.timers.set(
          channel,
          setTimeout(() => this.pump(channel), Math.max(0, at - Date.now())),
        );
      }
    })();
  }

  private send(channel: string, ticket: PushTicket): Promise<void> {
    // Closed (redeployed): nothing more leaves; the figure is dropped, not retried.
    if (this.closed) return Promise.reject(Object.assign(new Error('closed'), { permanent: true }));
    const key = `${channel}\u0000${ticket.sku}`;
    const latest = this.offered.get(key);
    if (latest?.seq === ticket.seq) {
      this.sending.set(key, latest);
      this.offered.delete(key);
    }
    const doc = this.sending.get(key);
    if (doc?.seq !== ticket.seq) return Promise.resolve(); // cannot happen: every ticket had its document
    return new Promise<void>((resolve, reject) => {
      const finish = (ok: boolean) => {
        clearTimeout(entry.timer);
        if (this.awaiting.get(key) === entry) this.awaiting.delete(key);
        if (ok) this.counts.confirmed++;
        else this.counts.failed++;
        this.deps.onChange?.();
      };
      const entry: Awaiting = {
        seq: ticket.seq,
        resolve: () => {
          finish(true);
          resolve();
        },
        reject: (err) => {
          finish(false);
          reject(err);
        },
        timer: setTimeout(() => entry.reject(new Error(`no confirmation within ${this.options.confirmMs} ms`)), this.options.confirmMs),
      };
      this.awaiting.set(key, entry);
      this.counts.pushed++;
      this.deps.emit({ channel, doc: doc.doc, ticket });
    });
  }
}

/** SKUs named per message at most (a bigger change is a "recompute"). */
const MAX_SKUS = 10_000;

/** The SKUs a change message names, or undefined when it names none in a form the node knows. */
export function changedSkus(msg: NodeMessage): string[] | undefined {
  const inv = msg.inventory as { events?: Array<{ sku?: unknown }>; allocations?: Array<{ sku?: unknown }> } | undefined;
  const list = Array.isArray(msg.skus) ? msg.skus : Array.isArray(inv?.events) ? inv.events.map((e) => e?.sku) : inv?.allocations?.map((a) => a?.sku);
  if (!Array.isArray(list)) return undefined;
  if (list.length > MAX_SKUS) throw new Error(`available to sell: ${list.length} SKUs in one message, more than ${MAX_SKUS}; send topic "recompute" instead`);
  const bad = list.find((s) => typeof s !== 'string' || !s || s.length > 128);
  if (bad !== undefined) throw new Error(`available to sell: msg.skus must hold SKUs of 1 to 128 characters, got ${JSON.stringify(bad)}`);
  return [...new Set(list as string[])];
}
