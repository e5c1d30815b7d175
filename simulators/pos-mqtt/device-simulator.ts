/**
 * Store-device simulator: N stores × M tills publishing canonical sales, returns and end-of-day
 * closes over MQTT exactly as docs/store-devices.md tells a till to, with the faults real tills
 * produce switched on at will: duplicates (a re-publish after a lost PUBACK), malformed payloads,
 * a store that goes offline and replays its backlog as a burst, and sales lost in transit (a
 * sequence gap). Deterministic for a seed.
 *
 * As a library (tests, benchmarks):
 *
 *   const plan = planSimulation({ count: 1000, seed: 7 });        // documents only, no broker
 *   const manifest = await runSimulation({ brokerUrl, count: 50_000, duplicateRate: 0.01 });
 *
 * The manifest lists exactly what was generated: the unique valid transactions (by business key
 * `sale:<storeId>:<terminalId>:<saleId>`), the duplicates, the malformed messages (with the
 * reason), the dropped sales and the closes, so a test can assert that a receiver ends with
 * exactly `manifest.valid`, reports the `manifest.dropped` gaps and dead-letters the malformed.
 *
 * As a command: `node dist/simulators/pos-mqtt/device-simulator.js --help`.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { Sale } from '../../nodes/model/types.generated';
import { currencyExponent } from '../../nodes/model/money';
import { demoCatalog, type CatalogItem } from '../kit/catalog';
import { SeededRandom } from '../kit/random';
import { malformedMessage, type MalformedReason } from './device-malformed';
import { helpText, parseFlags, type Flags } from '../kit/cli';
import {
  buildSale,
  isReturn,
  paymentTenders,
  refundTenders,
  saleKey,
  TillDay,
  tillCloseKey,
  type LineDiscount,
  type LineSpec,
  type TenderType,
  type TillCloseDocument,
} from './device-sales';
import { assertTopicLevel, tillSubscription, tillTopic } from '../../nodes/pos-mqtt/topic';

export { saleKey, tillCloseKey } from './device-sales';
export type { TillCloseDocument } from './device-sales';

// ---------------------------------------------------------------------------------------------
// Options

export interface OfflineOptions {
  /** How many stores go offline (the first ones of a seeded shuffle); default 1. */
  stores?: number;
  /** Or exactly which stores go offline. */
  storeIds?: string[];
  /** When the outage starts, as a fraction of the day's transactions (0–1); default 0.3. */
  start?: number;
  /** How long it lasts, as a fraction of the day's transactions; default 0.3. */
  duration?: number;
  /** Really close the tills' MQTT connections during the outage (default true). */
  disconnect?: boolean;
  /**
   * On reconnect each till first re-sends the last transaction it published before the outage
   * (its PUBACK was lost with the link). Default: on when duplicateRate > 0.
   */
  resendLast?: boolean;
}

export interface DeviceSimulatorOptions {
  /** Broker URL; default mqtt://127.0.0.1:1883. */
  brokerUrl?: string;
  /** Broker user: a fixed name, a template where `{store}` becomes the store id, or a function. */
  username?: string | ((storeId: string) => string | undefined);
  /** Password: fixed, a `{store}` template, or a function of the store id. */
  password?: string | ((storeId: string) => string | undefined);
  /** MQTT client ids are `<prefix><storeId>-<tillId>`; default "tillwire-till-". */
  clientIdPrefix?: string;
  /** MQTT protocol version: 5 (default; PUBACK reason codes show an ACL refusal) or 4 (3.1.1). */
  protocolVersion?: 4 | 5;
  /** Brand, the second topic level; default "demo". */
  brand?: string;
  /** Number of stores (default 3), or give `storeIds`. */
  stores?: number;
  storeIds?: string[];
  /** Tills per store (default 2), or give `tillIds` (the same ids in every store). */
  tills?: number;
  tillIds?: string[];
  /** Transactions the tills ring up in the day (sales + returns, dropped ones included); default 1000. */
  count?: number;
  /** Total publish rate in messages/s; 0 or absent = as fast as the in-flight window allows. Backlog bursts ignore it. */
  rate?: number;
  /** Most QoS 1 publishes awaiting their PUBACK at any time, over all tills; default 100. */
  maxInflight?: number;
  /** Seed; the same seed and options give the same messages. Default 1. */
  seed?: number | string;
  /** ISO 4217 currency; default GBP. Catalogue prices are used as minor units of it. */
  currency?: string;
  /** The trading day; default 2025-03-14. */
  businessDate?: string;
  /** The stores' UTC offset for occurredAt ("Z", "+03:00"); default "Z". */
  utcOffset?: string;
  /** First sequence number of every till this day (sequences never reset); default 1. */
  startSequence?: number;
  /** Share of transactions that are returns; default 0.05. */
  returnRate?: number;
  /** Share of published transactions re-published once more (same saleId and sequence); default 0. */
  duplicateRate?: number;
  /** Chance per transaction of an extra malformed message (not JSON, or failing the schema); default 0. */
  malformedRate?: number;
  /** Share of transactions the till makes but that never reach the broker (a sequence gap); default 0. */
  dropRate?: number;
  /** Store outage with a backlog replayed on reconnect; `true` = defaults, a number = that many stores. */
  offline?: boolean | number | OfflineOptions;
  /** Send each till's end-of-day close (default true). */
  close?: boolean;
  /** Number of catalogue items to sell from (simulators/kit/catalog.ts); default 500. */
  catalogSize?: number;
  /** Keep every payload in the manifest (default true; turn off for very large benchmark runs). */
  keepPayloads?: boolean;
  /** Give up a connection attempt after this long; default 10 s. */
  connectTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Manifest

export type TransactionType = 'sale' | 'return';

export interface ManifestTransaction {
  /** Business key `sale:<storeId>:<terminalId>:<saleId>`. */
  key: string;
  type: TransactionType;
  storeId: string;
  terminalId: string;
  saleId: string;
  sequence: number;
  topic: string;
  occurredAt: string;
  /** totals.grandTotal.amount (minor units; negative for a return). */
  grandTotal: number;
  /** Tender amounts by type (minor units). */
  tenders: Array<{ type: TenderType; amount: number }>;
  /** Published late, in the backlog burst after an outage. */
  viaBacklog: boolean;
  payload?: Buffer;
}

export interface ManifestDuplicate {
  key: string;
  saleId: string;
  sequence: number;
  topic: string;
  /** retry: re-published after a lost PUBACK; reconnect: the last sale before an outage, re-sent after it. */
  reason: 'retry' | 'reconnect';
  payload?: Buffer;
}

export interface ManifestMalformed {
  storeId: string;
  terminalId: string;
  topic: string;
  reason: MalformedReason;
  detail: string;
  payload: Buffer;
}

export interface ManifestClose {
  key: string;
  storeId: string;
  terminalId: string;
  topic: string;
  doc: TillCloseDocument;
  payload?: Buffer;
}

export interface ManifestOutage {
  storeId: string;
  /** Index of the day's transaction at which the store went offline / came back. */
  fromTransaction: number;
  toTransaction: number;
  /** Messages held back and published in the burst (duplicates and malformed included). */
  backlogMessages: number;
}

export interface RunStats {
  brokerUrl: string;
  startedAt: string;
  elapsedMs: number;
  published: number;
  acked: number;
  failed: number;
  errors: string[];
  reconnects: number;
  messagesPerSecond: number;
}

export interface SimulationManifest {
  seed: number | string;
  brand: string;
  businessDate: string;
  currency: string;
  /** Subscription filter that receives every message of this run. */
  subscription: string;
  stores: Array<{ storeId: string; tills: string[]; username?: string }>;
  /** Unique valid transactions that were published (sales and returns), each once. */
  valid: ManifestTransaction[];
  /** Extra copies of valid transactions (same payload, topic, saleId and sequence). */
  duplicates: ManifestDuplicate[];
  malformed: ManifestMalformed[];
  /** Transactions the tills made that were never published: the gaps a receiver must report. */
  dropped: ManifestTransaction[];
  closes: ManifestClose[];
  outages: ManifestOutage[];
  counts: {
    transactions: number;
    sales: number;
    returns: number;
    valid: number;
    duplicates: number;
    malformed: number;
    malformedNotJson: number;
    malformedSchema: number;
    dropped: number;
    closes: number;
    /** Messages published = valid + duplicates + malformed + closes. */
    messages: number;
  };
  run?: RunStats;
}

// ---------------------------------------------------------------------------------------------
// Plan

type PublishWhat = 'sale' | 'return' | 'duplicate' | 'malformed' | 'close';

export type PlanAction =
  | { type: 'publish'; till: number; topic: string; payload: Buffer; what: PublishWhat; burst: boolean }
  | { type: 'disconnect'; store: number }
  | { type: 'reconnect'; store: number };

export interface TillRef {
  index: number;
  store: number;
  storeId: string;
  tillId: string;
  clientId: string;
}

export interface SimulationPlan {
  options: ResolvedOptions;
  tills: TillRef[];
  actions: PlanAction[];
  manifest: SimulationManifest;
}

interface ResolvedOffline {
  stores: number[];
  from: number;
  to: number;
  disconnect: boolean;
  resendLast: boolean;
}

export interface ResolvedOptions {
  brokerUrl: string;
  username: (storeId: string) => string | undefined;
  password: (storeId: string) => string | undefined;
  clientIdPrefix: string;
  protocolVersion: 4 | 5;
  brand: string;
  storeIds: string[];
  tillIds: string[];
  count: number;
  rate: number;
  maxInflight: number;
  seed: number | string;
  currency: string;
  businessDate: string;
  utcOffset: string;
  startSequence: number;
  returnRate: number;
  duplicateRate: number;
  malformedRate: number;
  dropRate: number;
  offline: ResolvedOffline | undefined;
  close: boolean;
  catalogSize: number;
  keepPayloads: boolean;
  connectTimeoutMs: number;
}

const CITIES = ['LDN', 'MAN', 'BHM', 'GLA', 'LDS', 'BRS', 'EDI', 'LIV', 'NCL', 'CDF', 'BEL', 'NOT'];

function template(value: DeviceSimulatorOptions['username']): (storeId: string) => string | undefined {
  if (value === undefined) return () => undefined;
  if (typeof value === 'function') return value;
  return (storeId) => value.split('{store}').join(storeId);
}

function rateOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new Error(`${name} must be a number from 0 to 1, got ${value}`);
  return v;
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${value}`);
  return v;
}

export function resolveOptions(o: DeviceSimulatorOptions = {}): ResolvedOptions {
  const storeIds =
    o.storeIds ?? Array.from({ length: positiveInt('stores', o.stores, 3) }, (_, i) => `${CITIES[i % CITIES.length]}-${String(i + 1).padStart(3, '0')}`);
  const tillIds = o.tillIds ?? Array.from({ length: positiveInt('tills', o.tills, 2) }, (_, i) => `T${String(i + 1).padStart(2, '0')}`);
  if (storeIds.length === 0 || tillIds.length === 0) throw new Error('at least one store and one till are needed');
  if (new Set(storeIds).size !== storeIds.length) throw new Error('store ids must be unique');
  if (new Set(tillIds).size !== tillIds.length) throw new Error('till ids must be unique');
  const brand = o.brand ?? 'demo';
  assertTopicLevel('brand', brand);
  storeIds.forEach((s) => assertTopicLevel('storeId', s));
  tillIds.forEach((t) => assertTopicLevel('tillId', t));
  const currency = o.currency ?? 'GBP';
  currencyExponent(currency);
  const businessDate = o.businessDate ?? '2025-03-14';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(businessDate) || Number.isNaN(Date.parse(businessDate + 'T00:00:00Z'))) {
    throw new Error(`businessDate must be YYYY-MM-DD, got ${businessDate}`);
  }
  const utcOffset = o.utcOffset ?? 'Z';
  if (!/^(Z|[+-]\d{2}:\d{2})$/.test(utcOffset)) throw new Error(`utcOffset must be Z or ±hh:mm, got ${utcOffset}`);
  const count = positiveInt('count', o.count, 1000);
  const rate = o.rate ?? 0;
  if (!(rate >= 0 && Number.isFinite(rate))) throw new Error(`rate must be ≥ 0 messages/s, got ${o.rate}`);
  const duplicateRate = rateOption('duplicateRate', o.duplicateRate, 0);

  let offline: ResolvedOffline | undefined;
  if (o.offline) {
    const off: OfflineOptions = o.offline === true ? {} : typeof o.offline === 'number' ? { stores: o.offline } : o.offline;
    let stores: number[];
    if (off.storeIds) {
      stores = off.storeIds.map((id) => {
        const i = storeIds.indexOf(id);
        if (i < 0) throw new Error(`offline store '${id}' is not one of the stores`);
        return i;
      });
    } else {
      const n = Math.min(positiveInt('offline.stores', off.stores, 1), storeIds.length);
      const order = storeIds.map((_, i) => i);
      const rng = new SeededRandom(`${o.seed ?? 1}:offline`);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j], order[i]];
      }
      stores = order.slice(0, n).sort((a, b) => a - b);
    }
    const start = rateOption('offline.start', off.start, 0.3);
    const duration = rateOption('offline.duration', off.duration, 0.3);
    const from = Math.floor(start * count);
    const to = Math.min(count, Math.max(from + 1, Math.floor((start + duration) * count)));
    offline = { stores, from, to, disconnect: off.disconnect ?? true, resendLast: off.resendLast ?? duplicateRate > 0 };
  }

  return {
    brokerUrl: o.brokerUrl ?? 'mqtt://127.0.0.1:1883',
    username: template(o.username),
    password: template(o.password),
    clientIdPrefix: o.clientIdPrefix ?? 'tillwire-till-',
    protocolVersion: o.protocolVersion ?? 5,
    brand,
    storeIds,
    tillIds,
    count,
    rate,
    maxInflight: positiveInt('maxInflight', o.maxInflight, 100),
    seed: o.seed ?? 1,
    currency,
    businessDate,
    utcOffset,
    startSequence: positiveInt('startSequence', o.startSequence, 1),
    returnRate: rateOption('returnRate', o.returnRate, 0.05),
    duplicateRate,
    malformedRate: rateOption('malformedRate', o.malformedRate, 0),
    dropRate: rateOption('dropRate', o.dropRate, 0),
    offline,
    close: o.close ?? true,
    catalogSize: positiveInt('catalogSize', o.catalogSize, 500),
    keepPayloads: o.keepPayloads ?? true,
    connectTimeoutMs: positiveInt('connectTimeoutMs', o.connectTimeoutMs, 10_000),
  };
}

const OPEN_SECONDS = 9 * 3600; // the stores trade 09:00–21:00 local time
const TRADING_SECONDS = 12 * 3600;

function localTimestamp(date: string, seconds: number, offset: string): string {
  const s = Math.max(0, Math.min(86_399, Math.floor(seconds)));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${date}T${hh}:${mm}:${ss}${offset}`;
}

interface SoldLine {
  lineId: string;
  item: CatalogItem;
  remaining: number;
  discount?: LineDiscount;
}

interface SoldSale {
  saleId: string;
  lines: SoldLine[];
  tenderType: TenderType;
}

/** One till's day: its own random stream, sequence, clock, sales that can be returned, and totals. */
class TillGenerator {
  private k = 0;
  private seq: number;
  private readonly sold: SoldSale[] = [];
  private cashier: string;
  readonly day: TillDay;
  lastSequence = 0;
  lastOccurredAt: string;

  constructor(
    private readonly rng: SeededRandom,
    private readonly o: ResolvedOptions,
    private readonly catalog: CatalogItem[],
    readonly ref: TillRef,
    private readonly planned: number,
  ) {
    this.seq = o.startSequence;
    this.cashier = `C${rng.int(100, 999)}`;
    this.day = new TillDay(ref.storeId, ref.tillId, o.businessDate, o.currency);
    this.lastOccurredAt = localTimestamp(o.businessDate, OPEN_SECONDS, o.utcOffset);
  }

  private saleId(sequence: number): string {
    const store = String(this.ref.store + 1).padStart(3, '0');
    const till = String(this.o.tillIds.indexOf(this.ref.tillId) + 1).padStart(2, '0');
    return `${store}-${till}-${String(sequence).padStart(6, '0')}`;
  }

  /** The till's next transaction (a sale, or now and then a return). */
  next(): Sale {
    const k = this.k++;
    const sequence = this.seq++;
    const seconds = OPEN_SECONDS + ((k + this.rng.next()) * TRADING_SECONDS) / Math.max(1, this.planned);
    const occurredAt = localTimestamp(this.o.businessDate, seconds, this.o.utcOffset);
    if (this.rng.chance(0.02)) this.cashier = `C${this.rng.int(100, 999)}`; // shift change
    const sale = this.rng.chance(this.o.returnRate) ? this.makeReturn(sequence, occurredAt) : this.makeSale(sequence, occurredAt);
    this.day.add(sale);
    this.lastSequence = sequence;
    this.lastOccurredAt = occurredAt;
    return sale;
  }

  private makeSale(sequence: number, occurredAt: string): Sale {
    const rng = this.rng;
    const lineCount = rng.weighted([
      [1, 40],
      [2, 30],
      [3, 20],
      [4, 10],
    ] as const);
    const used = new Set<number>();
    const lines: LineSpec[] = [];
    while (lines.length < lineCount) {
      const idx = rng.int(0, this.catalog.length - 1);
      if (used.has(idx) && used.size < this.catalog.length) continue;
      used.add(idx);
      const item = this.catalog[idx];
      const quantity = rng.weighted([
        [1, 75],
        [2, 20],
        [3, 5],
      ] as const);
      let discount: LineDiscount | undefined;
      const d = rng.next();
      if (d < 0.15) {
        const pct = rng.pick([10, 20, 25, 50]);
        discount = { kind: 'promotion', perUnit: Math.floor((item.unitPrice * pct) / 100), code: `PROMO${pct}`, description: `${pct}% off` };
      } else if (d < 0.18) {
        discount = { kind: 'manual', perUnit: Math.min(100, item.unitPrice - 1), description: 'Staff markdown' };
      }
      lines.push({ item, quantity, ...(discount && discount.perUnit > 0 ? { discount } : {}) });
    }
    const saleId = this.saleId(sequence);
    const doc = buildSale({
      saleId,
      storeId: this.ref.storeId,
      terminalId: this.ref.tillId,
      cashierId: this.cashier,
      sequence,
      occurredAt,
      businessDate: this.o.businessDate,
      currency: this.o.currency,
      lines,
      tenders: (total) => paymentTenders(rng, total, this.o.currency),
    });
    this.sold.push({
      saleId,
      lines: lines.map((l, i) => ({ lineId: String(i + 1), item: l.item, remaining: l.quantity, discount: l.discount })),
      tenderType: doc.tenders[doc.tenders.length - 1].type,
    });
    if (this.sold.length > 200) this.sold.shift();
    return doc;
  }

  private makeReturn(sequence: number, occurredAt: string): Sale {
    const rng = this.rng;
    const candidates = this.sold.filter((s) => s.lines.some((l) => l.remaining > 0));
    const linked = candidates.length > 0 && rng.chance(0.8) ? rng.pick(candidates) : undefined;
    let lines: LineSpec[];
    if (linked) {
      const open = linked.lines.filter((l) => l.remaining > 0);
      const take = Math.min(open.length, rng.chance(0.2) ? 2 : 1);
      lines = [];
      for (let i = 0; i < take; i++) {
        const l = open.splice(rng.int(0, open.length - 1), 1)[0];
        const qty = rng.int(1, l.remaining);
        l.remaining -= qty;
        lines.push({ item: l.item, quantity: -qty, discount: l.discount, attributes: { originalLineId: l.lineId } });
      }
    } else {
      lines = [{ item: this.catalog[rng.int(0, this.catalog.length - 1)], quantity: -1 }];
    }
    return buildSale({
      saleId: this.saleId(sequence),
      storeId: this.ref.storeId,
      terminalId: this.ref.tillId,
      cashierId: this.cashier,
      sequence,
      occurredAt,
      businessDate: this.o.businessDate,
      currency: this.o.currency,
      lines,
      tenders: (total) => refundTenders(rng, total, this.o.currency, linked?.tenderType),
      ...(linked ? { returnOf: { saleId: linked.saleId, terminalId: this.ref.tillId } } : {}),
    });
  }

  /** A plausible sale used as the starting point of a malformed message (never a real saleId). */
  malformedBase(rng: SeededRandom, n: number): Sale {
    const item = this.catalog[rng.int(0, this.catalog.length - 1)];
    return buildSale({
      saleId: `${this.saleId(0).slice(0, 7)}BAD${String(n).padStart(5, '0')}`,
      storeId: this.ref.storeId,
      terminalId: this.ref.tillId,
      cashierId: this.cashier,
      sequence: Math.max(1, this.lastSequence),
      occurredAt: this.lastOccurredAt,
      businessDate: this.o.businessDate,
      currency: this.o.currency,
      lines: [{ item, quantity: 1 }],
      tenders: (total) => [{ type: 'card', amount: { amount: total, currency: this.o.currency }, reference: `AUTH ${rng.digits(6)}` }],
    });
  }

  closeAt(): string {
    return localTimestamp(this.o.businessDate, OPEN_SECONDS + TRADING_SECONDS + this.rng.int(120, 900), this.o.utcOffset);
  }
}

function tenderSummary(doc: Sale): Array<{ type: TenderType; amount: number }> {
  return doc.tenders.map((t) => ({ type: t.type, amount: t.amount.amount }));
}

/** Generates every message of a run, in publishing order, and its manifest. No network. */
export function planSimulation(options: DeviceSimulatorOptions = {}): SimulationPlan {
  const o = resolveOptions(options);
  const root = new SeededRandom(`tillwire-device-simulator:${o.seed}`);
  const rAssign = root.fork('assign');
  const rFate = root.fork('fate');
  const rMalformed = root.fork('malformed');
  const catalog = demoCatalog(o.catalogSize);

  const tills: TillRef[] = [];
  o.storeIds.forEach((storeId, store) => {
    for (const tillId of o.tillIds) tills.push({ index: tills.length, store, storeId, tillId, clientId: `${o.clientIdPrefix}${storeId}-${tillId}` });
  });
  const tillsOfStore = (store: number) => tills.filter((t) => t.store === store);

  // Which till rings up each of the day's transactions.
  const slotTill = new Int32Array(o.count);
  const planned = new Array<number>(tills.length).fill(0);
  for (let i = 0; i < o.count; i++) {
    const t = rAssign.int(0, tills.length - 1);
    slotTill[i] = t;
    planned[t]++;
  }
  const gens = tills.map((t) => new TillGenerator(root.fork(`till:${t.storeId}:${t.tillId}`), o, catalog, t, planned[t.index]));

  const topic = (t: TillRef, type: 'sales' | 'returns' | 'close') => tillTopic(o.brand, t.storeId, t.tillId, type);
  const keep = (b: Buffer) => (o.keepPayloads ? b : undefined);

  const manifest: SimulationManifest = {
    seed: o.seed,
    brand: o.brand,
    businessDate: o.businessDate,
    currency: o.currency,
    subscription: tillSubscription(o.brand),
    stores: o.storeIds.map((storeId) => {
      const username = o.username(storeId);
      return { storeId, tills: [...o.tillIds], ...(username !== undefined ? { username } : {}) };
    }),
    valid: [],
    duplicates: [],
    malformed: [],
    dropped: [],
    closes: [],
    outages: [],
    counts: {
      transactions: 0,
      sales: 0,
      returns: 0,
      valid: 0,
      duplicates: 0,
      malformed: 0,
      malformedNotJson: 0,
      malformedSchema: 0,
      dropped: 0,
      closes: 0,
      messages: 0,
    },
  };

  const actions: PlanAction[] = [];
  const offlineStores = new Set<number>();
  const backlog = new Map<number, PlanAction[]>();
  // The last transaction each till published (with its payload, kept even when the manifest drops
  // payloads), and that of each till of a store when it went offline: re-sent after the outage.
  const lastSent = new Map<number, { entry: ManifestTransaction; payload: Buffer }>();
  const lastBeforeOutage = new Map<number, { entry: ManifestTransaction; payload: Buffer }>();
  let malformedCount = 0;

  const goOffline = () => {
    for (const store of o.offline!.stores) {
      offlineStores.add(store);
      backlog.set(store, []);
      if (o.offline!.disconnect) actions.push({ type: 'disconnect', store });
      for (const t of tillsOfStore(store)) {
        const last = lastSent.get(t.index);
        if (last) lastBeforeOutage.set(t.index, last);
      }
    }
  };

  const comeBack = () => {
    for (const store of o.offline!.stores) {
      if (!offlineStores.delete(store)) continue;
      if (o.offline!.disconnect) actions.push({ type: 'reconnect', store });
      let burst = 0;
      if (o.offline!.resendLast) {
        for (const t of tillsOfStore(store)) {
          const before = lastBeforeOutage.get(t.index);
          if (!before) continue;
          const { entry: last, payload } = before;
          actions.push({ type: 'publish', till: t.index, topic: last.topic, payload, what: 'duplicate', burst: true });
          manifest.duplicates.push({
            key: last.key,
            saleId: last.saleId,
            sequence: last.sequence,
            topic: last.topic,
            reason: 'reconnect',
            payload: keep(payload),
          });
          burst++;
        }
      }
      for (const a of backlog.get(store)!) {
        if (a.type === 'publish') a.burst = true;
        actions.push(a);
        burst++;
      }
      backlog.delete(store);
      manifest.outages.push({ storeId: o.storeIds[store], fromTransaction: o.offline!.from, toTransaction: o.offline!.to, backlogMessages: burst });
    }
  };

  for (let i = 0; i < o.count; i++) {
    if (o.offline && i === o.offline.from) goOffline();
    if (o.offline && i === o.offline.to) comeBack();
    const t = tills[slotTill[i]];
    const gen = gens[t.index];
    const doc = gen.next();
    const type: TransactionType = isReturn(doc) ? 'return' : 'sale';
    const payload = Buffer.from(JSON.stringify(doc), 'utf8');
    const tp = topic(t, type === 'return' ? 'returns' : 'sales');
    const offline = offlineStores.has(t.store);
    const out = offline ? backlog.get(t.store)! : actions;
    const entry: ManifestTransaction = {
      key: saleKey(doc),
      type,
      storeId: t.storeId,
      terminalId: t.tillId,
      saleId: doc.saleId,
      sequence: doc.sequence,
      topic: tp,
      occurredAt: doc.occurredAt,
      grandTotal: doc.totals.grandTotal.amount,
      tenders: tenderSummary(doc),
      viaBacklog: offline,
      payload: keep(payload),
    };
    manifest.counts.transactions++;
    manifest.counts[type === 'sale' ? 'sales' : 'returns']++;
    if (rFate.chance(o.dropRate)) {
      manifest.dropped.push(entry);
    } else {
      out.push({ type: 'publish', till: t.index, topic: tp, payload, what: type, burst: false });
      manifest.valid.push(entry);
      lastSent.set(t.index, { entry, payload });
      if (rFate.chance(o.duplicateRate)) {
        out.push({ type: 'publish', till: t.index, topic: tp, payload, what: 'duplicate', burst: false });
        manifest.duplicates.push({ key: entry.key, saleId: entry.saleId, sequence: entry.sequence, topic: tp, reason: 'retry', payload: keep(payload) });
      }
    }
    if (rMalformed.chance(o.malformedRate)) {
      const bad = malformedMessage(rMalformed, gen.malformedBase(rMalformed, ++malformedCount));
      const mt = topic(t, 'sales');
      out.push({ type: 'publish', till: t.index, topic: mt, payload: bad.payload, what: 'malformed', burst: false });
      manifest.malformed.push({ storeId: t.storeId, terminalId: t.tillId, topic: mt, reason: bad.reason, detail: bad.detail, payload: bad.payload });
    }
  }
  if (o.offline) comeBack(); // an outage lasting to the end of the day is replayed before the close

  if (o.close) {
    for (const t of tills) {
      const gen = gens[t.index];
      const doc = gen.day.close(gen.closeAt());
      const payload = Buffer.from(JSON.stringify(doc), 'utf8');
      const tp = topic(t, 'close');
      actions.push({ type: 'publish', till: t.index, topic: tp, payload, what: 'close', burst: false });
      manifest.closes.push({ key: tillCloseKey(doc), storeId: t.storeId, terminalId: t.tillId, topic: tp, doc, payload: keep(payload) });
    }
  }

  const c = manifest.counts;
  c.valid = manifest.valid.length;
  c.duplicates = manifest.duplicates.length;
  c.malformed = manifest.malformed.length;
  c.malformedNotJson = manifest.malformed.filter((m) => m.reason === 'not-json').length;
  c.malformedSchema = c.malformed - c.malformedNotJson;
  c.dropped = manifest.dropped.length;
  c.closes = manifest.closes.length;
  c.messages = c.valid + c.duplicates + c.malformed + c.closes;
  return { options: o, tills, actions, manifest };
}

// ---------------------------------------------------------------------------------------------
// Run

function errorText(err: unknown): string {
  const e = err as { message?: string; code?: unknown };
  return e?.code !== undefined ? `${e.message ?? String(err)} (code ${String(e.code)})` : (e?.message ?? String(err));
}

/** Publishes a plan over MQTT (QoS 1, never retained) with a bounded in-flight window. */
export async function publishPlan(plan: SimulationPlan): Promise<RunStats> {
  const o = plan.options;
  const clients: Array<MqttClient | undefined> = new Array(plan.tills.length);
  const stats: RunStats = {
    brokerUrl: o.brokerUrl,
    startedAt: new Date().toISOString(),
    elapsedMs: 0,
    published: 0,
    acked: 0,
    failed: 0,
    errors: [],
    reconnects: 0,
    messagesPerSecond: 0,
  };
  const recordError = (what: string, err: unknown) => {
    stats.failed++;
    if (stats.errors.length < 20) stats.errors.push(`${what}: ${errorText(err)}`);
  };

  const connect = async (t: TillRef): Promise<MqttClient> => {
    const opts: IClientOptions = {
      clientId: t.clientId,
      protocolVersion: o.protocolVersion,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: o.connectTimeoutMs,
    };
    const username = o.username(t.storeId);
    const password = o.password(t.storeId);
    if (username !== undefined) opts.username = username;
    if (password !== undefined) opts.password = password;
    const client = await connectAsync(o.brokerUrl, opts, false);
    client.on('error', (err) => {
      if (stats.errors.length < 20) stats.errors.push(`${t.clientId}: ${errorText(err)}`);
    });
    return client;
  };
  const connectStore = async (tills: TillRef[]) => {
    for (let i = 0; i < tills.length; i += 32) {
      const batch = tills.slice(i, i + 32);
      const connected = await Promise.all(batch.map((t) => connect(t)));
      batch.forEach((t, j) => (clients[t.index] = connected[j]));
    }
  };

  let inflight = 0;
  let wake: (() => void) | undefined;
  const settle = () => {
    inflight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitBelow = async (limit: number) => {
    while (inflight >= limit) await new Promise<void>((resolve) => (wake = resolve));
  };

  const endAll = async () => {
    await Promise.all(clients.map((c) => c?.endAsync().catch(() => undefined)));
  };

  const t0 = performance.now();
  try {
    await connectStore(plan.tills);
    const start = performance.now();
    let paced = 0;
    const pending = new Map<number, Promise<unknown>>();
    for (const a of plan.actions) {
      if (a.type === 'disconnect') {
        const ending = plan.tills
          .filter((t) => t.store === a.store)
          .map((t) => {
            const c = clients[t.index];
            clients[t.index] = undefined;
            return c ? c.endAsync() : Promise.resolve();
          });
        pending.set(a.store, Promise.all(ending));
        continue;
      }
      if (a.type === 'reconnect') {
        await pending.get(a.store);
        pending.delete(a.store);
        await connectStore(plan.tills.filter((t) => t.store === a.store));
        stats.reconnects++;
        continue;
      }
      await waitBelow(o.maxInflight);
      if (o.rate > 0 && !a.burst) {
        const due = start + (paced * 1000) / o.rate;
        paced++;
        const wait = due - performance.now();
        if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      }
      const client = clients[a.till];
      if (!client) throw new Error(`till ${plan.tills[a.till].clientId} has no connection (plan out of order)`);
      inflight++;
      stats.published++;
      const what = `${a.what} on ${a.topic}`;
      client.publish(a.topic, a.payload, { qos: 1, retain: false }, (err) => {
        if (err) recordError(what, err);
        else stats.acked++;
        settle();
      });
    }
    await waitBelow(1);
    await Promise.all(pending.values());
  } finally {
    await endAll();
  }
  stats.elapsedMs = Math.round(performance.now() - t0);
  stats.messagesPerSecond = stats.elapsedMs > 0 ? Math.round((stats.published * 1000) / stats.elapsedMs) : stats.published;
  return stats;
}

/** Plans and publishes a run; resolves with its manifest (with `run` statistics) once every publish is acknowledged. */
export async function runSimulation(options: DeviceSimulatorOptions = {}): Promise<SimulationManifest> {
  const plan = planSimulation(options);
  plan.manifest.run = await publishPlan(plan);
  return plan.manifest;
}

// ---------------------------------------------------------------------------------------------
// Command line

export const CLI_FLAGS = {
  // Broker
  url: { value: 'URL', help: 'broker URL (default mqtt://127.0.0.1:1883)' },
  username: { value: 'NAME', help: "broker user; {store} becomes the store id (e.g. --username '{store}')" },
  password: { value: 'TEXT', help: 'password; {store} becomes the store id. Default: $TILLWIRE_MQTT_PASSWORD' },
  'client-id-prefix': { value: 'TEXT', help: 'client ids are <prefix><storeId>-<tillId> (default tillwire-till-)' },
  protocol: { kind: 'number', value: '4|5', help: 'MQTT 3.1.1 (4) or 5 (default 5)' },
  'max-inflight': { kind: 'number', value: 'N', help: 'QoS 1 publishes awaiting PUBACK, all tills together (default 100)' },
  rate: { kind: 'number', value: 'N', help: 'total messages/s (default 0 = as fast as possible)' },
  // What the tills sell
  brand: { value: 'NAME', help: 'second topic level (default demo)' },
  stores: { kind: 'number', value: 'N', help: 'number of stores (default 3), or:' },
  'store-ids': { kind: 'list', value: 'A,B,...', help: 'exactly these stores' },
  tills: { kind: 'number', value: 'N', help: 'tills per store (default 2), or:' },
  'till-ids': { kind: 'list', value: 'T01,T02,...', help: 'exactly these tills' },
  count: { kind: 'number', value: 'N', help: 'transactions in the day, dropped ones included (default 1000)' },
  seed: { value: 'S', help: 'same seed + options = same messages (default 1)' },
  currency: { value: 'CODE', help: 'ISO 4217 (default GBP)' },
  'business-date': { value: 'DATE', help: 'YYYY-MM-DD (default 2025-03-14)' },
  'utc-offset': { value: 'Z|+hh:mm', help: "stores' offset for occurredAt (default Z)" },
  'start-sequence': { kind: 'number', value: 'N', help: 'first sequence number of every till (default 1)' },
  'return-rate': { kind: 'number', value: 'P', help: 'share of returns, 0-1 (default 0.05)' },
  'no-close': { kind: 'switch', help: 'do not send the end-of-day close messages' },
  // Faults
  'duplicate-rate': { kind: 'number', value: 'P', help: 're-publish a sent sale, same saleId and sequence (default 0)' },
  'malformed-rate': { kind: 'number', value: 'P', help: 'extra message that is not JSON or fails the schema (default 0)' },
  'drop-rate': { kind: 'number', value: 'P', help: 'sale made but never sent: a sequence gap (default 0)' },
  offline: { kind: 'number', value: 'N', help: 'N stores go offline, keep selling, replay the backlog on reconnect' },
  'offline-stores': { kind: 'list', value: 'A,B', help: '...or exactly these stores' },
  'offline-start': { kind: 'number', value: 'F', help: 'outage starts at this fraction of the day (default 0.3)' },
  'offline-duration': { kind: 'number', value: 'F', help: 'and lasts this fraction of the day (default 0.3)' },
  'no-offline-disconnect': { kind: 'switch', help: 'keep the MQTT connection open during the outage (just stop publishing)' },
  // Output
  'dry-run': { kind: 'switch', help: 'generate only; print the summary without connecting' },
  manifest: { value: 'FILE', help: 'write the manifest (keys, sequences, totals, closes) as JSON' },
  'manifest-payloads': { kind: 'switch', help: 'include every payload in the manifest file' },
} as const satisfies Flags;

const HELP = helpText(
  'Tillwire store-device simulator: stores x tills publishing canonical sales, returns and\nend-of-day closes over MQTT (QoS 1, never retained), with optional faults.',
  'node dist/simulators/pos-mqtt/device-simulator.js',
  CLI_FLAGS,
);

interface CliArgs {
  options: DeviceSimulatorOptions;
  dryRun: boolean;
  manifestFile?: string;
  manifestPayloads: boolean;
  help: boolean;
}

export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return { options: {}, dryRun: false, manifestPayloads: false, help: true };
  const o: DeviceSimulatorOptions = {};
  if (v.url !== undefined) o.brokerUrl = v.url;
  if (v.username !== undefined) o.username = v.username;
  if (v.password !== undefined) o.password = v.password;
  if (v['client-id-prefix'] !== undefined) o.clientIdPrefix = v['client-id-prefix'];
  if (v.protocol !== undefined) {
    if (v.protocol !== 4 && v.protocol !== 5) throw new Error('--protocol must be 4 or 5');
    o.protocolVersion = v.protocol;
  }
  if (v['max-inflight'] !== undefined) o.maxInflight = v['max-inflight'];
  if (v.rate !== undefined) o.rate = v.rate;
  if (v.brand !== undefined) o.brand = v.brand;
  if (v.stores !== undefined) o.stores = v.stores;
  if (v['store-ids'] !== undefined) o.storeIds = v['store-ids'];
  if (v.tills !== undefined) o.tills = v.tills;
  if (v['till-ids'] !== undefined) o.tillIds = v['till-ids'];
  if (v.count !== undefined) o.count = v.count;
  if (v.seed !== undefined) o.seed = /^\d+$/.test(v.seed) ? Number(v.seed) : v.seed;
  if (v.currency !== undefined) o.currency = v.currency;
  if (v['business-date'] !== undefined) o.businessDate = v['business-date'];
  if (v['utc-offset'] !== undefined) o.utcOffset = v['utc-offset'];
  if (v['start-sequence'] !== undefined) o.startSequence = v['start-sequence'];
  if (v['return-rate'] !== undefined) o.returnRate = v['return-rate'];
  if (v['no-close']) o.close = false;
  if (v['duplicate-rate'] !== undefined) o.duplicateRate = v['duplicate-rate'];
  if (v['malformed-rate'] !== undefined) o.malformedRate = v['malformed-rate'];
  if (v['drop-rate'] !== undefined) o.dropRate = v['drop-rate'];
  const off: OfflineOptions = {};
  if (v.offline !== undefined) off.stores = v.offline;
  if (v['offline-stores'] !== undefined) off.storeIds = v['offline-stores'];
  if (v['offline-start'] !== undefined) off.start = v['offline-start'];
  if (v['offline-duration'] !== undefined) off.duration = v['offline-duration'];
  if (v['no-offline-disconnect']) off.disconnect = false;
  if (off.stores !== undefined || off.storeIds || off.start !== undefined || off.duration !== undefined) o.offline = off;
  if (o.password === undefined && env.TILLWIRE_MQTT_PASSWORD) o.password = env.TILLWIRE_MQTT_PASSWORD;
  return { options: o, dryRun: !!v['dry-run'], manifestFile: v.manifest, manifestPayloads: !!v['manifest-payloads'], help: false };
}

/** A few lines a person can read at the end of a run. */
export function summarize(m: SimulationManifest): string {
  const c = m.counts;
  const tills = m.stores.reduce((s, st) => s + st.tills.length, 0);
  const lines = [
    `${m.stores.length} stores, ${tills} tills, brand ${m.brand}, business day ${m.businessDate}, ${m.currency}, seed ${m.seed}`,
    `transactions ${c.transactions} (sales ${c.sales}, returns ${c.returns}): published ${c.valid} unique valid, dropped ${c.dropped} (sequence gaps)`,
    `duplicates ${c.duplicates}, malformed ${c.malformed} (${c.malformedNotJson} not JSON, ${c.malformedSchema} failing the schema), closes ${c.closes}`,
  ];
  for (const out of m.outages) {
    lines.push(`store ${out.storeId} offline for transactions ${out.fromTransaction}-${out.toTransaction}; backlog burst of ${out.backlogMessages} messages`);
  }
  lines.push(`messages to publish: ${c.messages}; subscribe to ${m.subscription}`);
  if (m.run) {
    const r = m.run;
    lines.push(
      `published ${r.published} to ${r.brokerUrl} in ${(r.elapsedMs / 1000).toFixed(2)} s (${r.messagesPerSecond} msg/s), acknowledged ${r.acked}, failed ${r.failed}, reconnects ${r.reconnects}`,
    );
    for (const e of r.errors) lines.push(`  error: ${e}`);
  }
  return lines.join('\n');
}

/** The manifest as JSON: payloads dropped, or written as text (JSON) / base64 (anything else). */
export function manifestJson(m: SimulationManifest, withPayloads: boolean): string {
  return JSON.stringify(
    m,
    function replacer(this: unknown, key: string, value: unknown) {
      if (key === 'payload') {
        if (!withPayloads) return undefined;
        const buf = Buffer.isBuffer(this && (this as Record<string, unknown>).payload) ? ((this as Record<string, unknown>).payload as Buffer) : undefined;
        if (!buf) return value;
        const text = buf.toString('utf8');
        return Buffer.from(text, 'utf8').equals(buf) ? { text } : { base64: buf.toString('base64') };
      }
      return value;
    },
    2,
  );
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    let manifest: SimulationManifest;
    if (args.dryRun) manifest = planSimulation(args.options).manifest;
    else manifest = await runSimulation(args.options);
    process.stdout.write(summarize(manifest) + '\n');
    if (args.manifestFile) fs.writeFileSync(args.manifestFile, manifestJson(manifest, args.manifestPayloads));
    return manifest.run && manifest.run.failed > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`device simulator failed: ${errorText(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}
