/**
 * The oversell guard on order intake (docs/inventory.md, "The reserve node"): what each canonical
 * document does to the inventory ledger. An order reserves (or is short: an oversell risk); a
 * cancelled order releases; a shipment consumes; a return received with restock puts units back;
 * a till sale takes units off the store's location at once (a till return puts them back).
 */
import type { Order, Return, Sale, Shipment } from '../model/types.generated';
import {
  InventoryInputError,
  type ChannelOrderKey,
  type InventoryLedger,
  type LedgerChange,
  type QuantityLine,
  type ReservationResult,
} from '../runtime/inventory';

export interface IntakeSettings {
  /** The locations orders draw from, in order of preference. */
  locationIds: string[];
  /** Where a returned channel order's restocked units go (a till return goes back to its store). */
  returnLocationId?: string;
}

export type IntakeOutcome =
  /**
   * Output 1: reserved, or a document booked (`change`), or one with nothing to book (`note`);
   * `unknownLocation`: a till sale booked at a location nothing knew (see `sale`).
   */
  | { output: 1; reservation?: ReservationResult; change?: LedgerChange; note?: string; unknownLocation?: string }
  /** Output 2: the oversell risk, naming the channel, the order and each short SKU. */
  | { output: 2; reservation: ReservationResult & { outcome: 'short' } };

/** Order states that still need their stock (cancelled, fulfilled and closed orders do not). */
const OPEN_ORDER = new Set(['pending', 'accepted', 'paid', 'partially_fulfilled']);
/** Return states in which the goods are back. */
const GOODS_BACK = new Set(['received', 'refunded', 'closed']);

/**
 * Books one canonical document. `reconsider` (an operator's `msg.reconsider`): an open order that
 * was short is decided again on the stock free now, instead of answering its first answer.
 */
export async function applyToLedger(
  ledger: InventoryLedger,
  doc: unknown,
  settings: IntakeSettings,
  opts: { reconsider?: boolean } = {},
): Promise<IntakeOutcome> {
  const kind = (doc as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case 'order':
      return order(ledger, doc as Order, settings, opts.reconsider === true);
    case 'shipment':
      return shipment(ledger, doc as Shipment);
    case 'return':
      return giveBack(ledger, doc as Return, settings);
    case 'sale':
      return sale(ledger, doc as Sale, settings);
    default:
      if (typeof doc === 'string')
        throw new InventoryInputError(`the inventory reserve node takes canonical documents as objects, not text: parse the JSON first (a json node)`);
      throw new InventoryInputError(
        `the inventory reserve node takes canonical orders, shipments, returns, sales, stock positions (inventory.position), stock movements (inventory.adjustment) and channel read-backs (inventory.ats), not ${JSON.stringify(kind ?? null)}`,
      );
  }
}

const channelOrder = (channel: { system: string; account?: string } | undefined, orderId: string | undefined, what: string): ChannelOrderKey => {
  if (!channel?.system || !orderId) throw new InventoryInputError(`${what} names no channel order (channel system and id)`);
  return { system: channel.system, account: channel.account ?? '', orderId };
};

const linesOf = (lines: unknown): QuantityLine[] =>
  Array.isArray(lines) ? lines.map((l: { sku?: unknown; quantity?: unknown }) => ({ sku: l?.sku as string, qty: l?.quantity as number })) : (lines as never);

async function order(ledger: InventoryLedger, doc: Order, settings: IntakeSettings, reconsider: boolean): Promise<IntakeOutcome> {
  const ref = channelOrder(doc.channel, doc.channel?.id, 'the order');
  if (!OPEN_ORDER.has(doc.status)) {
    // Cancelled: what it holds is released; fulfilled or closed: what it still holds has shipped
    // (a channel that reports no shipment documents). Either closes the order in the ledger, also
    // one never reserved (its cancel came before its accept), so a later accept reserves nothing.
    const held = await ledger.reservation(ref);
    const source = { system: ref.system, account: ref.account, documentId: `${doc.status}:${ref.orderId}` };
    const settle = () => (doc.status === 'cancelled' ? ledger.release(ref, source) : ledger.consume(ref, source));
    if (!held || held.open.every((a) => a.qty === 0)) {
      await settle();
      return {
        output: 1,
        note: `order ${ref.orderId} of ${ref.account ? `${ref.system}/${ref.account}` : ref.system} holds no reservation: nothing to ${doc.status === 'cancelled' ? 'release' : 'consume'}${held ? '' : ' (recorded: an accept arriving later reserves nothing)'}`,
      };
    }
    return { output: 1, change: await settle() };
  }
  const reservation = await ledger.reserve({ ...ref, lines: linesOf(doc.lines), locationIds: settings.locationIds }, { reconsider });
  if (reservation.outcome === 'cancelled' || reservation.outcome === 'fulfilled') {
    // Not a reservation: it leaves on output 1 with what the order is now (holds nothing).
    const when = reservation.wasReserved ? 'after it was reserved (its units were given back)' : 'before it was accepted';
    return { output: 1, reservation, note: `order ${ref.orderId} was ${reservation.outcome} ${when}: nothing reserved, it holds 0` };
  }
  return reservation.outcome === 'short' ? { output: 2, reservation } : { output: 1, reservation };
}

async function shipment(ledger: InventoryLedger, doc: Shipment): Promise<IntakeOutcome> {
  const ref = channelOrder(doc.order?.channel, doc.order?.channel?.id ?? doc.order?.id, 'the shipment');
  const change = await ledger.consume(ref, { system: ref.system, account: ref.account, documentId: doc.shipmentId }, linesOf(doc.lines));
  return { output: 1, change };
}

async function giveBack(ledger: InventoryLedger, doc: Return, settings: IntakeSettings): Promise<IntakeOutcome> {
  if (!GOODS_BACK.has(doc.status)) return { output: 1, note: `return is ${doc.status}: nothing back on the shelf yet` };
  const restocked = (Array.isArray(doc.lines) ? doc.lines : []).filter((l) => l.restock === true);
  if (restocked.length === 0) return { output: 1, note: 'no line of the return is restocked' };
  const source = { system: doc.channel?.system, account: doc.channel?.account ?? '', documentId: doc.returnId };
  if (doc.originalSale) {
    const lines = restocked.map((l) => ({ sku: l.sku, qty: l.quantity, locationId: doc.originalSale!.storeId }));
    return { output: 1, change: await ledger.restock(source, lines) };
  }
  const ref = channelOrder(doc.originalOrder?.channel, doc.originalOrder?.channel?.id ?? doc.originalOrder?.id, 'the return');
  if (!settings.returnLocationId) throw new InventoryInputError(`return ${doc.returnId} restocks units but the node has no return location set`);
  const lines = restocked.map((l) => ({ sku: l.sku, qty: l.quantity, locationId: settings.returnLocationId! }));
  return { output: 1, change: await ledger.restock(source, lines, ref) };
}

async function sale(ledger: InventoryLedger, doc: Sale, settings: IntakeSettings): Promise<IntakeOutcome> {
  const lines = Array.isArray(doc.lines) ? doc.lines : [];
  const source = { system: 'pos', account: '', documentId: doc.saleId };
  const sold = lines.filter((l) => l.quantity > 0).map((l) => ({ sku: l.sku, qty: l.quantity }));
  const returned = lines.filter((l) => l.quantity < 0).map((l) => ({ sku: l.sku, qty: -l.quantity, locationId: doc.storeId }));
  if (sold.length === 0 && returned.length === 0) throw new InventoryInputError(`sale ${doc.saleId} has no lines with a quantity`);
  // The till sold it, so it is booked all the same; but a store no order draws from and the ledger
  // holds nothing at (no ERP reading, no earlier booking) may be a typo or a forged store id: flagged.
  const known = settings.locationIds.includes(doc.storeId) || settings.returnLocationId === doc.storeId || (await ledger.hasLocation(doc.storeId));
  const changes: LedgerChange[] = [];
  if (sold.length) changes.push(await ledger.posSale(source, doc.storeId, sold));
  // Units taken back at the till go back on the store's shelf.
  if (returned.length) changes.push(await ledger.restock(source, returned));
  const change = { duplicate: changes.every((c) => c.duplicate), events: changes.flatMap((c) => c.events) };
  return known ? { output: 1, change } : { output: 1, change, unknownLocation: doc.storeId };
}
