/**
 * Odoo `sale.order`s for canonical sales and orders, created and confirmed exactly once per
 * idempotency key, following the shared order lifecycle for orders (`orderAction`: create on
 * first sight, tombstone for a cancel never seen, stale events acknowledged).
 *
 * Odoo has no idempotency keys, so the order is found by its `client_order_ref` (the idempotency
 * key) before anything is created:
 *
 *   1. look the key up; found → use it (confirm it if it is still a quotation), `created: false`;
 *   2. resolve SKUs, customer and pricelist (unknown SKUs → one permanent error, nothing created);
 *   3. create, sent once (no blind HTTP retry); if the answer is lost (timeout, dropped connection,
 *      5xx) go back to 1: a create that was committed is found there and is not repeated;
 *   4. `action_confirm`, also sent once and checked by reading the state when the answer is lost;
 *   5. write the sale's own time back into `date_order` (Odoo stamps the confirmation time).
 *
 * Copies of one key are serialised inside this process, so concurrent redeliveries cannot both
 * reach step 3. Across processes, put a dedupe node (shared PostgreSQL store) before the connector.
 */
import { Money } from '../model/money';
import type { Order } from '../model/types.generated';
import { orderAction, OrderAction, ErpOrderState } from '../runtime/order-lifecycle';
import { odooError } from './client';
import { asSaleOrderSource, documentTime, odooDatetime, prepareSaleOrder, SaleOrderSource } from './map';
import type { OdooSync } from './sync';
import { minorFromOdoo } from './map';

export interface OrderResult {
  system: 'odoo';
  model: 'sale.order';
  id: number;
  /** Odoo's order number, e.g. S00042. */
  name: string;
  state: string;
  /** True when this call created the order; false when it already existed (a redelivery). */
  created: boolean;
  key: string;
  /**
   * What the shared order lifecycle decided (nodes/runtime/order-lifecycle.ts); absent for till
   * sales, which have no lifecycle of their own.
   */
  action?: OrderAction;
  /** The canonical order's status carried by the event (orders only). */
  channelStatus?: string;
  /** True when the event was older news about an order Odoo holds cancelled: acknowledged, nothing written. */
  stale?: boolean;
  /** Odoo's amount_total in the document's currency, exactly. */
  amountTotal?: Money;
  /** amountTotal − the document's grand total, when they differ (tax setup, price precision). */
  variance?: Money;
  /** Other confirmed orders carrying the same key (not touched: someone must look at them). */
  duplicates?: string[];
  /** Stray quotations with the same key that were cancelled (a create Odoo finished after the connector gave up on it). */
  cancelledQuotations?: string[];
}

/** A cancel's result: since the shared lifecycle, always an order Odoo holds (created as a tombstone if need be). */
export type CancelResult = OrderResult;

export interface OrderRow {
  id: number;
  name: string;
  state: string;
  date_order: string;
  amount_total: number;
}

export const ORDER_FIELDS = ['id', 'name', 'state', 'date_order', 'amount_total'];

/** The orders carrying one key: the one to use, the other live ones, and a cancelled one if that is all there is. */
export interface FoundOrders {
  row?: OrderRow;
  others: OrderRow[];
  live: OrderRow[];
  cancelled?: OrderRow;
}

/** Sorts one key's orders (by id): the one to use is a confirmed one first, else the oldest. */
export function foundOrders(rows: OrderRow[]): FoundOrders {
  const live = rows.filter((r) => r.state !== 'cancel');
  const row = live.find((r) => r.state === 'sale') ?? live[0];
  return { row, others: live.filter((r) => r !== row), live, cancelled: rows.find((r) => r.state === 'cancel') };
}

async function findByRef(sync: OdooSync, key: string): Promise<FoundOrders> {
  const rows = await sync.client.searchRead<OrderRow>('sale.order', [['client_order_ref', '=', key]], { fields: ORDER_FIELDS, order: 'id asc', limit: 20 });
  return foundOrders(rows);
}

/** What `sweep` did about the other orders of one key. */
export interface Swept {
  duplicates: string[];
  cancelled: string[];
}

/**
 * Other orders with the same key. Quotations among them can only come from a create Odoo carried
 * out after the connector had stopped waiting for it (or a crash between create and confirm that
 * was then created again): they are cancelled, all keys' in one call. Confirmed ones are reported,
 * never touched.
 */
export async function sweep(sync: OdooSync, kept: Array<{ keep: OrderRow; others: OrderRow[] }>): Promise<Swept[]> {
  const out = kept.map(({ keep, others }) => ({
    stray: others.filter((r) => r.id !== keep.id && (r.state === 'draft' || r.state === 'sent')),
    duplicates: others.filter((r) => r.id !== keep.id && r.state === 'sale').map((r) => r.name),
  }));
  const stray = out.flatMap((o) => o.stray.map((r) => r.id));
  if (stray.length) {
    await sync.client.call('sale.order', 'action_cancel', { ids: stray }, { context: { disable_cancel_warning: true } });
  }
  return out.map((o) => ({ duplicates: o.duplicates, cancelled: o.stray.map((r) => r.name) }));
}

/** The error of a till sale whose key Odoo holds only cancelled: not created again. */
export function cancelledInOdoo(row: OrderRow, key: string): Error {
  return odooError(
    'sale.order',
    `${row.name} for ${key} was cancelled in Odoo; not creating it again (reset it to quotation in Odoo, or delete it, then replay)`,
    {
      retryable: false,
      providerCode: 'cancelled',
    },
  );
}

/** msg.erp's figures beyond the order itself: the variance against the document's grand total, duplicates and cancelled quotations. */
export function checked(result: OrderResult, grandTotal: number, swept: Swept): OrderResult {
  const total = result.amountTotal!.amount;
  const currency = result.amountTotal!.currency;
  return {
    ...result,
    ...(total !== grandTotal ? { variance: { amount: total - grandTotal, currency } } : {}),
    ...(swept.duplicates.length ? { duplicates: swept.duplicates } : {}),
    ...(swept.cancelled.length ? { cancelledQuotations: swept.cancelled } : {}),
  };
}

async function readOrder(sync: OdooSync, id: number): Promise<OrderRow> {
  const [row] = await sync.client.read<OrderRow>('sale.order', [id], ORDER_FIELDS);
  return row;
}

function confirm(sync: OdooSync, id: number): Promise<void> {
  return sync.transition('sale.order', 'action_confirm', id, async () => (await readOrder(sync, id)).state === 'sale');
}

/**
 * Writes a canonical sale or order to Odoo, once per key. A till sale is created and confirmed.
 * An order follows the shared lifecycle (`orderAction`): the first event seen creates it whatever
 * its status; a cancel cancels it (creating it first when Odoo has never seen it, so a late stale
 * create finds it cancelled); any event for an order Odoo holds cancelled is acknowledged as stale.
 */
export async function pushOrder(sync: OdooSync, payload: unknown, key: string): Promise<OrderResult> {
  const doc = asSaleOrderSource(payload);
  if (!key) throw odooError('sale.order', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
  return sync.client.track(sync.locks.run<OrderResult>(key, () => (doc.kind === 'order' ? lifecycle(sync, doc, key) : createAndConfirm(sync, doc, key))));
}

async function lifecycle(sync: OdooSync, doc: Order, key: string): Promise<OrderResult> {
  const found = await findByRef(sync, key);
  const erp: ErpOrderState = found.row ? 'open' : found.cancelled ? 'cancelled' : 'absent';
  const action = orderAction(erp, doc.status);
  const tag = { action, channelStatus: doc.status };
  switch (action) {
    case 'already-cancelled':
      return { ...asResult(found.cancelled!, key, false, doc.currency), ...tag, stale: doc.status !== 'cancelled' };
    case 'cancel':
      return { ...(await cancel(sync, key, doc.currency)), ...tag };
    case 'create-cancelled': {
      // A tombstone: created and confirmed like any order, then cancelled. A crash in between
      // leaves an open order that the cancel's redelivery finds ('cancel').
      const made = await createAndConfirm(sync, doc, key);
      if (made.stale) return { ...made, ...tag };
      const cancelled = await cancel(sync, key, doc.currency);
      return { ...made, ...cancelled, created: made.created, ...tag };
    }
    default: {
      // 'create', or 'exists' (the same path finds it: confirms a left-behind quotation, changes nothing else).
      const result = await createAndConfirm(sync, doc, key);
      return { ...result, ...tag, ...(result.stale ? { action: 'already-cancelled' as const } : {}) };
    }
  }
}

export function asResult(row: OrderRow, key: string, created: boolean, currency: string): OrderResult {
  return {
    system: 'odoo',
    model: 'sale.order',
    id: row.id,
    name: row.name,
    state: row.state,
    created,
    key,
    amountTotal: { amount: minorFromOdoo(row.amount_total, currency), currency },
  };
}

async function createAndConfirm(sync: OdooSync, doc: SaleOrderSource, key: string): Promise<OrderResult> {
  const { found, createdId, uncertain } = await sync.findOrCreate(
    'sale.order',
    () => findByRef(sync, key),
    async () => (await prepareSaleOrder(sync.client, doc, key, sync.options, sync.cache)).values,
    (f) => !f.row && !!f.cancelled,
  );
  if (!found.row && createdId === undefined && found.cancelled) {
    // An order cancelled meanwhile (another process): under the shared rules this is stale news.
    if (doc.kind === 'order') return { ...asResult(found.cancelled, key, false, doc.currency), stale: true };
    throw cancelledInOdoo(found.cancelled, key);
  }
  let row = found.row ?? (await readOrder(sync, createdId!));
  // Found after our own create's answer was lost: this call did create it.
  const created = createdId !== undefined || uncertain;
  if (row.state === 'draft' || row.state === 'sent') {
    await confirm(sync, row.id);
    row = await readOrder(sync, row.id);
  }
  // After an unanswered create, look once more for a late twin of it (see sweep).
  const others = uncertain ? (await findByRef(sync, key)).live.filter((r) => r.id !== row.id) : found.others;
  const [swept] = others.length ? await sweep(sync, [{ keep: row, others }]) : [{ duplicates: [], cancelled: [] }];
  const when = odooDatetime(documentTime(doc));
  if (row.date_order !== when) {
    await sync.client.write('sale.order', [row.id], { date_order: when });
    row = { ...row, date_order: when };
  }
  return checked(asResult(row, key, created, doc.currency), doc.totals.grandTotal.amount, swept);
}

/** Cancels the open order carrying `key` (past Odoo's confirmation wizard); checked by reading it back. */
async function cancel(sync: OdooSync, key: string, currency: string): Promise<OrderResult> {
  const { row, cancelled } = await findByRef(sync, key);
  if (!row) {
    if (cancelled) return asResult(cancelled, key, false, currency);
    throw odooError('sale.order.action_cancel', `no Odoo order carries ${key}`, { retryable: false });
  }
  // disable_cancel_warning: without it Odoo answers a confirmed order with a wizard instead of cancelling.
  const result = await sync.client.call('sale.order', 'action_cancel', { ids: [row.id] }, { context: { disable_cancel_warning: true } });
  const after = await readOrder(sync, row.id);
  if (after.state !== 'cancel') {
    throw odooError(
      'sale.order.action_cancel',
      `Odoo did not cancel ${row.name} (state ${after.state}${result && typeof result === 'object' ? ', it asked for confirmation' : ''})`,
      { retryable: false },
    );
  }
  return asResult(after, key, false, currency);
}
