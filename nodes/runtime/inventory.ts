/**
 * The inventory ledger's documents, results and input checks (docs/inventory.md): what the store's
 * `inventory` side takes and gives, independent of SQL. Every quantity is an integer number of units.
 */

/** One SKU at one location: the figures the available-to-sell rules start from. */
export interface InventoryPosition {
  sku: string;
  locationId: string;
  /** Units physically there (ERP snapshots, adjustments, shipments, returns, till sales); may be negative after till sales. */
  onHand: number;
  /** Units promised to accepted channel orders not yet shipped or cancelled. */
  reserved: number;
  inTransit: number;
  safetyStock: number;
  /** States a channel or the ERP reports beside on hand (e.g. Shopify's committed, damaged, quality_control). */
  states: Record<string, number>;
}

/** The record that caused a change: its system ('odoo', 'shopify', 'pos'…), account ('' when none) and id. */
export interface InventorySource {
  system: string;
  account?: string;
  documentId: string;
}

/** A figure of a position an event changes: one of the counters, or `state:<name>`. */
export type InventoryField = 'onHand' | 'reserved' | 'inTransit' | 'safetyStock' | `state:${string}`;

export type InventoryEventKind = 'snapshot' | 'adjustment' | 'levels' | 'reserve' | 'release' | 'consume' | 'restock' | 'pos-sale';

/** One change of one figure, with the document that caused it: what an explanation is made of. */
export interface InventoryEvent {
  id: string;
  sku: string;
  locationId: string;
  field: InventoryField;
  delta: number;
  /** The figure after the change. */
  after: number;
  kind: InventoryEventKind;
  source: Required<InventorySource>;
  /** The channel order the change belongs to (reserve, release, consume; a restock that names it). */
  order?: ChannelOrderKey;
  /** Set when the change left on hand below zero (a till sold what the ledger did not know was there). */
  note?: 'negative-on-hand';
  at: string;
}

/** A channel order: its channel system, account ('' when none) and the channel's own order id. */
export interface ChannelOrderKey {
  system: string;
  account: string;
  orderId: string;
}

export interface QuantityLine {
  sku: string;
  qty: number;
}

/** An accepted channel order asking for stock from `locationIds`, in order of preference. */
export interface ReservationRequest extends ChannelOrderKey {
  lines: QuantityLine[];
  locationIds: string[];
}

export interface Allocation {
  sku: string;
  locationId: string;
  qty: number;
}

export interface ShortLine {
  sku: string;
  requested: number;
  /** Units free for this order over its locations when it was checked (on hand − reserved − safety stock). */
  available: number;
}

export type ReservationResult = ChannelOrderKey &
  (
    | { outcome: 'reserved'; allocations: Allocation[] }
    /** Nothing was reserved: at least one SKU is short; `short` names each with its figures. */
    | { outcome: 'short'; short: ShortLine[] }
    /**
     * The order was cancelled (or fulfilled) as a whole and holds nothing: an accept after that
     * reserves nothing. `wasReserved` false: the cancel came before any accept (webhooks arrive in
     * no fixed order); true: what it had reserved was released (or shipped).
     */
    | { outcome: 'cancelled' | 'fulfilled'; wasReserved: boolean }
  ) & {
    /** True when the order had been reserved (or refused) before: the first result, nothing changed. */
    duplicate: boolean;
    /** True when a short order was decided again on today's stock (`reconsider`): this is the new answer. */
    reconsidered?: boolean;
  };

/** What a release, consume, restock, till sale, snapshot, adjustment or levels change did. */
export interface LedgerChange {
  /** The source document had been applied before: nothing changed. */
  duplicate: boolean;
  /** The events written (none for a duplicate). */
  events: InventoryEvent[];
}

export interface SnapshotLine {
  sku: string;
  locationId: string;
  onHand: number;
  inTransit?: number;
  /** The position's safety stock, set absolutely with on hand (an ERP reading's `safetyStock`); left out, it keeps its figure. */
  safetyStock?: number;
  /** Figures the ERP reports beside on hand, set absolutely with it (e.g. `erp_reserved`); a state left out keeps its figure. */
  states?: Record<string, number>;
}

/** One source document of a batch of snapshots. */
export interface SnapshotDocument {
  source: InventorySource;
  lines: SnapshotLine[];
}

export interface AdjustmentLine {
  sku: string;
  locationId: string;
  delta: number;
  /** Which counter the delta applies to; on hand unless said. */
  field?: 'onHand' | 'inTransit';
}

/** One source document of a batch of adjustments. */
export interface AdjustmentDocument {
  source: InventorySource;
  lines: AdjustmentLine[];
}

export interface LevelsLine {
  sku: string;
  locationId: string;
  safetyStock?: number;
  /** Absolute figures of the named states; a state left out keeps its figure. */
  states?: Record<string, number>;
}

/** A line of a release (cancel) or consume (shipment); `locationId` narrows it to one location's reservation. */
export interface OrderLineChange extends QuantityLine {
  locationId?: string;
}

export interface LocatedLine extends QuantityLine {
  locationId: string;
}

export interface OrderReservation {
  result: Omit<ReservationResult, 'duplicate'>;
  /** Units still reserved per location (0 once shipped or released). */
  open: Allocation[];
}

export interface InventoryExplanation {
  positions: InventoryPosition[];
  /** Most recent first. */
  events: InventoryEvent[];
  /** More events exist than were returned. */
  more: boolean;
}

export interface PositionFilter {
  skus?: readonly string[];
  locationIds?: readonly string[];
  /** These SKU × location pairs exactly (not every SKU at every location given). */
  at?: readonly { sku: string; locationId: string }[];
}

/**
 * The inventory ledger on the store. Every change runs in one transaction of the store; each is
 * idempotent by its source document (or, for a reservation, by its channel order): applied again, it
 * changes nothing and says so; the same key with other content is refused (InventoryConflictError).
 */
export interface InventoryLedger {
  /** Sets on hand (and in transit, safety stock and states, when given) absolutely, as the ERP counted them; events carry the implied deltas. */
  snapshot(source: InventorySource, lines: readonly SnapshotLine[]): Promise<LedgerChange>;
  /**
   * Many snapshot documents in one transaction (an ERP reading of many positions): each idempotent
   * by its own source as `snapshot` is. Per document, its change or the error that refused it
   * (bad input, or a conflict); the others are applied all the same.
   */
  snapshots(documents: readonly SnapshotDocument[]): Promise<(LedgerChange | Error)[]>;
  /** The id of the latest event of each position given that has one, by `positionKey`. */
  latestEvents(positions: readonly { sku: string; locationId: string }[]): Promise<Map<string, string>>;
  /** Adds each line's delta to on hand (or in transit). */
  adjust(source: InventorySource, lines: readonly AdjustmentLine[]): Promise<LedgerChange>;
  /**
   * Many adjustment documents in one transaction (a flow's batch of stock movements): each
   * idempotent by its own source as `adjust` is, and as `snapshots` answers, per document.
   */
  adjustments(documents: readonly AdjustmentDocument[]): Promise<(LedgerChange | Error)[]>;
  /** Sets safety stock and channel-reported states absolutely. */
  setLevels(source: InventorySource, lines: readonly LevelsLine[]): Promise<LedgerChange>;
  /**
   * Checks and reserves in one transaction: all lines or none. An order decided before answers its
   * first answer (`duplicate`); with `reconsider`, an order that was short is decided again on the
   * stock free now (an operator's decision, e.g. after a receipt); a reserved, cancelled or
   * fulfilled order is never decided again.
   */
  reserve(order: ReservationRequest, opts?: { reconsider?: boolean }): Promise<ReservationResult>;
  /**
   * Gives reserved units back (a cancel): every open unit of the order, or the lines given. A whole
   * cancel (no lines) is recorded as the order's decision, even of an order never reserved, so an
   * accept arriving after it reserves nothing. Consume without lines (a fulfilled order) likewise.
   */
  release(order: ChannelOrderKey, source: InventorySource, lines?: readonly OrderLineChange[]): Promise<LedgerChange>;
  /** A shipment: reserved and on hand both drop where the order was reserved. */
  consume(order: ChannelOrderKey, source: InventorySource, lines?: readonly OrderLineChange[]): Promise<LedgerChange>;
  /** A return put back on the shelf: units back on hand at each line's location. */
  restock(source: InventorySource, lines: readonly LocatedLine[], order?: ChannelOrderKey): Promise<LedgerChange>;
  /** A till sale: on hand drops at once, below zero if need be (each such event carries the note). */
  posSale(source: InventorySource, locationId: string, lines: readonly QuantityLine[]): Promise<LedgerChange>;
  /** An order's decision and what it still holds per location (`open`); undefined when it never came. */
  reservation(order: ChannelOrderKey): Promise<OrderReservation | undefined>;
  positions(filter?: PositionFilter): Promise<InventoryPosition[]>;
  /** Whether the ledger holds a position (of any SKU) at `locationId`. */
  hasLocation(locationId: string): Promise<boolean>;
  /** The positions of `sku` (at `locationId`, or everywhere) and the latest events behind them. */
  explain(sku: string, locationId?: string, limit?: number): Promise<InventoryExplanation>;
}

/** A position's key in maps the ledger returns. */
export const positionKey = (sku: string, locationId: string) => JSON.stringify([sku, locationId]);

/** The bounds every inventory input is checked against (docs/inventory.md, "Limits"). */
export const INVENTORY_LIMITS = {
  /** Lines in one document or order. */
  lines: 500,
  /** Documents in one batch of snapshots or adjustments. */
  documents: 500,
  /** Locations one order may draw from. */
  locations: 50,
  /** Units in one line or one delta. */
  qty: 1_000_000,
  /** An absolute figure (on hand, in transit, safety stock, a state). */
  level: 1_000_000_000,
  /** Named states on one position. */
  states: 20,
  /** Events one explanation returns at most. */
  explainEvents: 500,
} as const;

/** An input the ledger refuses, naming what is wrong. */
export class InventoryInputError extends Error {
  override name = 'InventoryInputError';
}

/** The refusals of an array's documents as one text: the first five, then how many more. */
export function refusalsText(reasons: readonly string[]): string {
  return reasons.slice(0, 5).join('; ') + (reasons.length > 5 ? `; and ${reasons.length - 5} more` : '');
}

/** The same order or source document again with other content. */
export class InventoryConflictError extends Error {
  override name = 'InventoryConflictError';
}

const STATE_NAME = /^[a-z][a-z0-9_]{0,39}$/;

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new InventoryInputError(`${what} must be a non-empty string of at most ${max} characters, not ${describe(value)}`);
  }
  return value;
}

function int(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InventoryInputError(`${what} must be a whole number from ${min} to ${max}, not ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function list<T>(value: unknown, what: string, max: number): T[] {
  if (!Array.isArray(value) || value.length === 0) throw new InventoryInputError(`${what} must be a non-empty list`);
  if (value.length > max) throw new InventoryInputError(`${what}: ${value.length} given, at most ${max} allowed`);
  return value as T[];
}

export const sku = (v: unknown, what = 'sku') => text(v, what, 128);
export const identifier = (v: unknown, what: string) => text(v, what, 255);
export const qty = (v: unknown, what: string) => int(v, what, 1, INVENTORY_LIMITS.qty);

export function checkSource(source: InventorySource): Required<InventorySource> {
  if (!source || typeof source !== 'object') throw new InventoryInputError('a source (system, documentId) is required');
  const account = source.account ?? '';
  if (typeof account !== 'string' || account.length > 255) throw new InventoryInputError(`source account must be a string, not ${describe(account)}`);
  return { system: identifier(source.system, 'source system'), account, documentId: identifier(source.documentId, 'source documentId') };
}

export function checkOrderKey(order: ChannelOrderKey): ChannelOrderKey {
  if (!order || typeof order !== 'object') throw new InventoryInputError('an order (system, account, orderId) is required');
  const account = order.account ?? '';
  if (typeof account !== 'string' || account.length > 255) throw new InventoryInputError(`order account must be a string, not ${describe(account)}`);
  return { system: identifier(order.system, 'order system'), account, orderId: identifier(order.orderId, 'orderId') };
}

/** Lines by SKU (a SKU given twice is summed), in the order first given. */
export function checkQuantityLines(lines: unknown, what: string): QuantityLine[] {
  const merged = new Map<string, number>();
  list<QuantityLine>(lines, what, INVENTORY_LIMITS.lines).forEach((l, i) => {
    const s = sku(l?.sku, `${what}[${i}].sku`);
    const q = qty(l?.qty, `${what}[${i}].qty`);
    merged.set(s, (merged.get(s) ?? 0) + q);
  });
  for (const [s, q] of merged)
    if (q > INVENTORY_LIMITS.qty) throw new InventoryInputError(`${what}: ${q} units of ${s} in all, at most ${INVENTORY_LIMITS.qty}`);
  return [...merged].map(([s, q]) => ({ sku: s, qty: q }));
}

export function checkReservation(order: ReservationRequest): ReservationRequest {
  const key = checkOrderKey(order);
  const lines = checkQuantityLines(order.lines, 'order lines');
  const locationIds = list<string>(order.locationIds, 'order locationIds', INVENTORY_LIMITS.locations).map((l, i) => identifier(l, `locationIds[${i}]`));
  if (new Set(locationIds).size !== locationIds.length) throw new InventoryInputError('order locationIds name a location twice');
  return { ...key, lines, locationIds };
}

export function checkOrderLineChanges(lines: readonly OrderLineChange[] | undefined, what: string): OrderLineChange[] | undefined {
  if (lines === undefined) return undefined;
  return list<OrderLineChange>(lines, what, INVENTORY_LIMITS.lines).map((l, i) => ({
    sku: sku(l?.sku, `${what}[${i}].sku`),
    qty: qty(l?.qty, `${what}[${i}].qty`),
    ...(l?.locationId === undefined ? {} : { locationId: identifier(l.locationId, `${what}[${i}].locationId`) }),
  }));
}

export function checkLocatedLines(lines: readonly LocatedLine[], what: string): LocatedLine[] {
  return list<LocatedLine>(lines, what, INVENTORY_LIMITS.lines).map((l, i) => ({
    sku: sku(l?.sku, `${what}[${i}].sku`),
    locationId: identifier(l?.locationId, `${what}[${i}].locationId`),
    qty: qty(l?.qty, `${what}[${i}].qty`),
  }));
}

export function checkSnapshotLines(lines: readonly SnapshotLine[]): SnapshotLine[] {
  const L = INVENTORY_LIMITS.level;
  return unique(
    list<SnapshotLine>(lines, 'snapshot lines', INVENTORY_LIMITS.lines).map((l, i) => ({
      sku: sku(l?.sku, `snapshot lines[${i}].sku`),
      locationId: identifier(l?.locationId, `snapshot lines[${i}].locationId`),
      onHand: int(l?.onHand, `snapshot lines[${i}].onHand`, -L, L),
      ...(l?.inTransit === undefined ? {} : { inTransit: int(l.inTransit, `snapshot lines[${i}].inTransit`, 0, L) }),
      ...(l?.safetyStock === undefined ? {} : { safetyStock: int(l.safetyStock, `snapshot lines[${i}].safetyStock`, 0, L) }),
      ...(l?.states === undefined ? {} : { states: checkStates(l.states, `snapshot lines[${i}]`) }),
    })),
    'snapshot lines',
  );
}

export function checkAdjustmentLines(lines: readonly AdjustmentLine[]): AdjustmentLine[] {
  const Q = INVENTORY_LIMITS.qty;
  return list<AdjustmentLine>(lines, 'adjustment lines', INVENTORY_LIMITS.lines).map((l, i) => {
    const field = l?.field ?? 'onHand';
    if (field !== 'onHand' && field !== 'inTransit')
      throw new InventoryInputError(`adjustment lines[${i}].field must be onHand or inTransit, not ${describe(field)}`);
    const delta = int(l?.delta, `adjustment lines[${i}].delta`, -Q, Q);
    if (delta === 0) throw new InventoryInputError(`adjustment lines[${i}].delta must not be 0`);
    return { sku: sku(l?.sku, `adjustment lines[${i}].sku`), locationId: identifier(l?.locationId, `adjustment lines[${i}].locationId`), delta, field };
  });
}

export function checkLevelsLines(lines: readonly LevelsLine[]): LevelsLine[] {
  const L = INVENTORY_LIMITS.level;
  return unique(
    list<LevelsLine>(lines, 'levels lines', INVENTORY_LIMITS.lines).map((l, i) => {
      const what = `levels lines[${i}]`;
      const out: LevelsLine = { sku: sku(l?.sku, `${what}.sku`), locationId: identifier(l?.locationId, `${what}.locationId`) };
      if (l.safetyStock !== undefined) out.safetyStock = int(l.safetyStock, `${what}.safetyStock`, 0, L);
      if (l.states !== undefined) out.states = checkStates(l.states, what);
      if (out.safetyStock === undefined && out.states === undefined) throw new InventoryInputError(`${what} sets neither safetyStock nor states`);
      return out;
    }),
    'levels lines',
  );
}

/** Named states with their absolute figures (levels and snapshot lines). */
function checkStates(states: unknown, what: string): Record<string, number> {
  if (!states || typeof states !== 'object' || Array.isArray(states)) throw new InventoryInputError(`${what}.states must be an object of figures`);
  const entries = Object.entries(states);
  if (entries.length > INVENTORY_LIMITS.states) throw new InventoryInputError(`${what}.states: ${entries.length} given, at most ${INVENTORY_LIMITS.states}`);
  const out: Record<string, number> = {};
  for (const [name, value] of entries) {
    if (!STATE_NAME.test(name)) throw new InventoryInputError(`${what}.states: '${name.slice(0, 40)}' is not a state name (lower case, digits, _)`);
    out[name] = int(value, `${what}.states.${name}`, 0, INVENTORY_LIMITS.level);
  }
  return out;
}

/** Absolute figures for one SKU × location twice in one document are ambiguous: refused. */
function unique<T extends { sku: string; locationId: string }>(lines: T[], what: string): T[] {
  const seen = new Set<string>();
  for (const l of lines) {
    const k = JSON.stringify([l.sku, l.locationId]);
    if (seen.has(k)) throw new InventoryInputError(`${what} give ${l.sku} at ${l.locationId} twice`);
    seen.add(k);
  }
  return lines;
}
