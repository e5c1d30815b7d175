/**
 * An ERP stock reading into the inventory ledger (docs/inventory.md, "ERP snapshots"): each
 * canonical `inventory.position` an ERP node read (Odoo `stock.quant`, Business Central item
 * inventory) is booked as a snapshot of its SKU and location: on hand, in transit and safety stock
 * absolutely, the ERP's reserved figure as the position's state `erp_reserved` (the ledger's own
 * reserved stays its own). Safety stock rides in the same snapshot line, so a reading stays one
 * source document in one ledger transaction; the schema requires the field, so every reading sets
 * it (the Odoo and Business Central nodes read none and send 0: a flow holding a safety stock sets
 * it on their readings before the reserve node). The reading is compared with the ledger: on hand
 * against the ledger's figure just before it (the snapshot event's delta), with the documents the
 * ledger booked since the ERP's previous reading; reserved against the ledger's open reservations.
 * Differences beyond the tolerances come back as drift reports (drift.ts), each with its cause.
 *
 * Each reading counts once: its document is the ERP, the read time, the SKU and location and the
 * figures read, so the same reading again changes nothing, and a reading older than the newest
 * booked for the position is stale and skipped. Figures are part of the key because ERPs give the
 * read time to the second (Odoo): two reads within one second that differ are both real readings.
 * The newest reading per ERP and position is kept in the store (`inventory-erp-reading:` keys).
 */
import { createHash } from 'node:crypto';
import type { InventoryPosition as PositionDoc } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { InventoryInputError, positionKey, type InventoryEvent, type InventoryPosition, type LedgerChange } from '../runtime/inventory';
import type { Store } from '../runtime/store';
import { beyond, onHandCause, reservedCause, type DriftDocument, type DriftReport, type DriftTolerances } from './drift';

/** The state a position keeps the ERP's reserved figure under. */
export const ERP_RESERVED = 'erp_reserved';

/**
 * ERPs whose stock reading carries a reserved figure: Odoo's `stock.quant.reserved_quantity`.
 * Business Central's item `inventory` is on hand only, so its reading is not compared on reserved.
 */
const READS_RESERVED = new Set(['odoo']);

/** Ledger events read back to find the documents behind a drift. */
const LOOKBACK = 200;

export interface ErpReading {
  system: string;
  account: string;
}

/** The newest reading booked per ERP and position, and the ledger's last event then. */
interface ReadingRecord {
  asOf: string;
  onHand: number;
  reserved: number;
  /** The id of the position's latest ledger event once the reading was booked. */
  eventId: string;
}

export type SnapshotOutcome =
  | { outcome: 'booked'; change: LedgerChange; drift: DriftReport[] }
  | { outcome: 'duplicate'; change: LedgerChange; drift: [] }
  | { outcome: 'stale'; newer: string; drift: [] };

/** A reading's document id: read time, SKU, location and figures (hashed past the ledger's 255 characters). */
function documentIdOf(doc: PositionDoc): string {
  // Safety stock only when held: a reading without one keeps the id it had before safety stock was booked.
  const figures = `${doc.onHand}/${doc.reserved}/${doc.inTransit}${doc.safetyStock ? `/${doc.safetyStock}` : ''}`;
  const id = `${doc.asOf} ${doc.sku} @ ${doc.locationId} = ${figures}`;
  if (id.length <= 255) return id;
  const place = createHash('sha256')
    .update(JSON.stringify([doc.sku, doc.locationId]))
    .digest('hex')
    .slice(0, 40);
  return `${doc.asOf} #${place} = ${figures}`;
}

const recordKey = (erp: ErpReading, doc: { sku: string; locationId: string }) =>
  `inventory-erp-reading:${JSON.stringify([erp.system, erp.account, doc.sku, doc.locationId])}`;

const after = (a: string, b: string) => BigInt(a) > BigInt(b);

/** Checks one canonical position document; refuses it naming the problem. */
export function checkPositionDocument(doc: unknown, where = 'the stock reading'): PositionDoc {
  const v = validateDocument('inventory-position', doc);
  if (!v.valid) throw new InventoryInputError(`${where} is not a valid inventory.position: ${v.errors.slice(0, 3).join('; ')}`);
  const p = doc as PositionDoc;
  if (Number.isNaN(Date.parse(p.asOf))) throw new InventoryInputError(`${where}: asOf ${JSON.stringify(p.asOf)} is not a time`);
  for (const f of ['onHand', 'reserved', 'inTransit', 'safetyStock'] as const) {
    if (!Number.isSafeInteger(p[f])) throw new InventoryInputError(`${where}: ${f} must be a whole number of units, not ${p[f]}`);
  }
  return p;
}

/** Books one ERP reading of one position (the caller serialises readings of one position). */
export async function bookErpReading(store: Store, erp: ErpReading, doc: PositionDoc, tolerances: DriftTolerances): Promise<SnapshotOutcome> {
  const [outcome] = await bookErpReadings(store, erp, [doc], tolerances);
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

/**
 * Books readings of distinct positions together (the caller serialises readings of one position):
 * the newest-reading records read in one query, the snapshots in one ledger transaction, the
 * records written in one more. Per reading, its outcome or the error that refused it.
 */
export async function bookErpReadings(
  store: Store,
  erp: ErpReading,
  docs: readonly PositionDoc[],
  tolerances: DriftTolerances,
): Promise<(SnapshotOutcome | Error)[]> {
  const keys = docs.map((doc) => recordKey(erp, doc));
  const records = await store.kvGetMany(keys);
  const previous = keys.map((k) => records.get(k) as ReadingRecord | undefined);
  const out: (SnapshotOutcome | Error)[] = [];
  const current: number[] = [];
  docs.forEach((doc, i) => {
    const before = previous[i];
    if (before && Date.parse(doc.asOf) < Date.parse(before.asOf)) out[i] = { outcome: 'stale', newer: before.asOf, drift: [] };
    else current.push(i);
  });
  if (current.length === 0) return out;

  const readsReserved = READS_RESERVED.has(erp.system);
  const changes = await store.inventory.snapshots(
    current.map((i) => {
      const doc = docs[i];
      const line = {
        sku: doc.sku,
        locationId: doc.locationId,
        onHand: doc.onHand,
        ...(doc.inTransit ? { inTransit: doc.inTransit } : {}),
        safetyStock: doc.safetyStock,
        ...(readsReserved ? { states: { [ERP_RESERVED]: Math.max(0, doc.reserved) } } : {}),
      };
      return { source: { system: erp.system, account: erp.account, documentId: documentIdOf(doc) }, lines: [line] };
    }),
  );
  const booked: { i: number; change: LedgerChange }[] = [];
  current.forEach((i, n) => {
    const change = changes[n];
    if (change instanceof Error) out[i] = change;
    else if (change.duplicate) out[i] = { outcome: 'duplicate', change, drift: [] };
    else booked.push({ i, change });
  });
  if (booked.length === 0) return out;

  const places = booked.map(({ i }) => docs[i]);
  const figures = new Map((await store.inventory.positions({ at: places })).map((p) => [positionKey(p.sku, p.locationId), p]));
  const latest = await store.inventory.latestEvents(places);
  const writes: { key: string; value: ReadingRecord; expected: ReadingRecord | undefined; asOf: string }[] = [];
  for (const { i, change } of booked) {
    const doc = docs[i];
    const now = figures.get(positionKey(doc.sku, doc.locationId));
    const drift = await driftOf(store, erp, doc, previous[i], change, now, tolerances);
    out[i] = { outcome: 'booked', change, drift };
    const record: ReadingRecord = {
      asOf: doc.asOf,
      onHand: doc.onHand,
      reserved: doc.reserved,
      eventId: latest.get(positionKey(doc.sku, doc.locationId)) ?? '0',
    };
    writes.push({ key: keys[i], value: record, expected: previous[i], asOf: doc.asOf });
  }
  const wrote = await store.kvPutMany(writes);
  // Forward only: another process may have booked a newer reading meanwhile.
  for (const [n, w] of writes.entries()) {
    if (wrote[n]) continue;
    const theirs = (await store.kvGet(w.key)) as ReadingRecord | undefined;
    if (!theirs || Date.parse(theirs.asOf) <= Date.parse(w.asOf)) await store.kvPut(w.key, w.value);
  }
  return out;
}

/** A booked reading's drift reports: on hand against the ledger before it, reserved against the open reservations. */
async function driftOf(
  store: Store,
  erp: ErpReading,
  doc: PositionDoc,
  previous: ReadingRecord | undefined,
  change: LedgerChange,
  now: InventoryPosition | undefined,
  tolerances: DriftTolerances,
): Promise<DriftReport[]> {
  const readsReserved = READS_RESERVED.has(erp.system);
  // The documents behind a drift are read only when there is one (after the snapshot; its own events are kind snapshot).
  let recent: InventoryEvent[] | undefined;
  const events = async () => (recent ??= (await store.inventory.explain(doc.sku, doc.locationId, LOOKBACK)).events);
  const drift: DriftReport[] = [];
  const base = { sku: doc.sku, locationId: doc.locationId, reportedBy: erp, readAt: doc.asOf };

  // On hand: compared only against an earlier reading of this ERP (the first one is the opening figure).
  const onHandEvent = change.events.find((e) => e.field === 'onHand');
  if (previous && onHandEvent && beyond(onHandEvent.delta, tolerances.onHand)) {
    const ledger = onHandEvent.after - onHandEvent.delta;
    const since = (await events()).filter((e) => after(e.id, previous.eventId) && e.field === 'onHand' && e.kind !== 'snapshot').map(documentOf);
    const { cause, message } = onHandCause(doc.onHand, ledger, previous, since.reverse());
    drift.push({
      ...base,
      kind: 'erp-on-hand',
      theirs: doc.onHand,
      ours: ledger,
      size: doc.onHand - ledger,
      tolerance: tolerances.onHand,
      cause,
      message,
      documents: since,
    });
  }

  if (readsReserved && now && beyond(doc.reserved - now.reserved, tolerances.reserved)) {
    const open = await openReservations(store, await events(), now);
    const accepted = new Set(
      (await store.orderLookup(open.map((o) => o.documentId)))
        .filter((r) => r.erpSystem === erp.system && r.erpRef)
        .map((r) => JSON.stringify([r.system, r.account, r.orderId])),
    );
    const notInErp = open.filter((o) => !accepted.has(JSON.stringify([o.system, o.account, o.documentId])));
    const { cause, message } = reservedCause(doc.reserved, now.reserved, open, notInErp);
    drift.push({
      ...base,
      kind: 'erp-reserved',
      theirs: doc.reserved,
      ours: now.reserved,
      size: doc.reserved - now.reserved,
      tolerance: tolerances.reserved,
      cause,
      message,
      documents: cause === 'reserved-in-ledger-not-in-erp' && notInErp.length ? notInErp : open,
    });
  }
  return drift;
}

function documentOf(e: InventoryEvent): DriftDocument {
  return { kind: e.kind, system: e.source.system, account: e.source.account, documentId: e.source.documentId, units: e.delta, at: e.at };
}

/** The orders holding units at the position, from its recent reserve events (each order's open units there). */
async function openReservations(store: Store, events: readonly InventoryEvent[], position: InventoryPosition): Promise<DriftDocument[]> {
  const orders = new Map<string, NonNullable<InventoryEvent['order']>>();
  for (const e of events) if (e.kind === 'reserve' && e.order) orders.set(JSON.stringify([e.order.system, e.order.account, e.order.orderId]), e.order);
  const out: DriftDocument[] = [];
  for (const order of orders.values()) {
    const held = await store.inventory.reservation(order);
    const units = (held?.open ?? []).filter((a) => a.sku === position.sku && a.locationId === position.locationId).reduce((n, a) => n + a.qty, 0);
    if (units > 0) out.push({ kind: 'order', system: order.system, account: order.account, documentId: order.orderId, units });
  }
  return out;
}
