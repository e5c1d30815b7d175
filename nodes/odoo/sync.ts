/**
 * The Odoo connector's work, without Node-RED: create-and-confirm a `sale.order` for a canonical
 * sale or order exactly once, following the shared order lifecycle for orders (`orderAction`:
 * create on first sight, tombstone for a cancel never seen, stale events acknowledged); write a
 * canonical return as a posted credit note (`account.move` `out_refund`, `returnAction`) linked to
 * its original order, once per `ref`; read stock as canonical `inventory.position`s and done
 * deliveries as canonical `shipment`s.
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
import { ConnectorError, RetryPolicy, delay } from '../runtime/http';
import { createOnce, pauseBeforeRetry, RetryPause } from '../runtime/create-once';
import { toMinor, Money } from '../model/money';
import { addDecimals, divideRound, excludeTax, parseDecimal, percentToFraction, rescale } from '../model/decimal';
import { businessDate } from '../model/business-date';
import type { InventoryPosition, Order, Return, Shipment } from '../model/types.generated';
import { orderAction, OrderAction, ErpOrderState, returnAction, ReturnAction } from '../runtime/order-lifecycle';
import { validateDocument, channelOfOrderKey } from '../model/validate';
import { isRetryable, OdooClient, odooError, SYSTEM } from './client';
import { KeyedLock } from '../runtime/keyed-lock';
import {
  asSaleOrderSource,
  documentTime,
  escapeLike,
  lineFieldNames,
  odooAmount,
  MapOptions,
  newReferenceCache,
  odooDatetime,
  prepareSaleOrder,
  ReferenceCache,
  SaleOrderSource,
} from './map';

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

/** msg.erp for a canonical return (`account.move`, move_type `out_refund`). */
export interface CreditNoteResult {
  system: 'odoo';
  model: 'account.move';
  moveType: 'out_refund';
  /** What the shared lifecycle decided: `credit` writes, `wait` and `none` write nothing. */
  action: ReturnAction;
  returnStatus: string;
  key: string;
  /** Null when nothing was written (`wait`, `none`). */
  id: number | null;
  /** The credit note's number once posted (e.g. RINV/2025/00001). */
  name: string | null;
  /** draft | posted | cancel; null when nothing was written. */
  state: string | null;
  created: boolean;
  /** True for `wait` and `none`, with the reason. */
  skipped?: boolean;
  reason?: string;
  /** The sale.order the credit note is linked to (its `invoice_origin`). */
  originalOrder?: { id: number; name: string; key: string };
  amountTotal?: Money;
  /** amountTotal − the return's refund total, when they differ (excluded taxes, rounding). */
  variance?: Money;
  /** Other credit notes carrying the same ref: drafts are cancelled, posted ones only reported. */
  duplicates?: string[];
  cancelledDrafts?: string[];
}

interface MoveRow {
  id: number;
  name: string;
  state: string;
  amount_total: number;
}

const MOVE_FIELDS = ['id', 'name', 'state', 'amount_total'];

/** How to write a refund of `total` minor units over `qty` units with exact unit prices: one line, or two. */
export function splitExact(qty: number, total: number): Array<{ qty: number; unit: number }> {
  if (total % qty === 0) return [{ qty, unit: total / qty }];
  const base = divideRound(total, qty, 'floor');
  return [
    { qty: qty - 1, unit: base },
    { qty: 1, unit: total - base * (qty - 1) },
  ];
}

/** The client_order_ref(s) the original order or sale of a return may carry. */
export function originalRefs(ret: Return): { label: string; domain: unknown[] } {
  if (ret.originalOrder) {
    const o = ret.originalOrder;
    const keys = o.channel ? [`order:${o.channel.system}:${o.channel.account ?? '-'}:${o.channel.id}`, o.id] : [o.id];
    const uniq = [...new Set(keys)];
    return { label: uniq[0], domain: [['client_order_ref', 'in', uniq]] };
  }
  const s = ret.originalSale!;
  if (s.terminalId) {
    const k = `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;
    return { label: k, domain: [['client_order_ref', '=', k]] };
  }
  return { label: `sale:${s.storeId}:*:${s.saleId}`, domain: [['client_order_ref', '=like', `sale:${escapeLike(s.storeId)}:%:${escapeLike(s.saleId)}`]] };
}

interface OrderRow {
  id: number;
  name: string;
  state: string;
  date_order: string;
  amount_total: number;
}

const ORDER_FIELDS = ['id', 'name', 'state', 'date_order', 'amount_total'];

/** Odoo floats (amount_total…) to exact minor units: by their shortest text, rounded to the currency only when Odoo left float noise. */
export function minorFromOdoo(value: number, currency: string): number {
  // Odoo rounds monetary fields half away from zero ("HALF-UP"); float noise beyond the currency's decimals goes the same way.
  return toMinor(value, currency, { rounding: 'half-away-from-zero' });
}

export interface OdooSyncOptions extends MapOptions {
  /** Attempts and backoff for the checked writes (create, confirm); defaults to the client's policy. */
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Where the shipments read stopped: the last transfer's `date_done` (Odoo UTC text) and id. */
export interface ShipmentCursor {
  doneAt: string;
  id: number;
}

export interface ShipmentsResult {
  shipments: Shipment[];
  /** Transfers that could not be mapped to a valid shipment (left out, named with the reasons). */
  invalid: Array<{ picking: string; errors: string[] }>;
  /** The cursor after this page; unchanged when nothing new was done. */
  cursor: ShipmentCursor | undefined;
  /** True when the page was full: read again for more. */
  more: boolean;
}

export interface StockResult {
  positions: InventoryPosition[];
  /** Requested SKUs Odoo has no active product for. */
  unknown: string[];
  /** SKUs whose stock is not a whole number of units (left out). */
  fractional: string[];
}

export class OdooSync {
  private readonly locks = new KeyedLock();
  private readonly cache: ReferenceCache = newReferenceCache();
  private readonly policy: RetryPolicy;
  private defaultLocation?: { id: number; name: string };

  constructor(
    readonly client: OdooClient,
    readonly options: OdooSyncOptions,
  ) {
    this.policy = { ...client.policy, ...options.policy };
  }

  private pauseFor(operation: string): RetryPause {
    // The outcome is unknown: what Odoo did is checked before the next attempt.
    return { system: SYSTEM, operation, policy: this.policy, random: this.options.random, sleep: this.options.sleep ?? delay };
  }

  /**
   * The orders carrying `key`: the one to use (a confirmed one first, else the oldest), the other
   * live ones, and a cancelled one if that is all there is.
   */
  private async findByRef(key: string): Promise<{ row?: OrderRow; others: OrderRow[]; live: OrderRow[]; cancelled?: OrderRow }> {
    const rows = await this.client.searchRead<OrderRow>('sale.order', [['client_order_ref', '=', key]], { fields: ORDER_FIELDS, order: 'id asc', limit: 20 });
    const live = rows.filter((r) => r.state !== 'cancel');
    const row = live.find((r) => r.state === 'sale') ?? live[0];
    return { row, others: live.filter((r) => r !== row), live, cancelled: rows.find((r) => r.state === 'cancel') };
  }

  /**
   * Other orders with the same key. Quotations among them can only come from a create Odoo carried
   * out after the connector had stopped waiting for it (or a crash between create and confirm that
   * was then created again): they are cancelled. Confirmed ones are reported, never touched.
   */
  private async sweep(keep: OrderRow, others: OrderRow[]): Promise<{ duplicates: string[]; cancelled: string[] }> {
    const stray = others.filter((r) => r.id !== keep.id && (r.state === 'draft' || r.state === 'sent'));
    if (stray.length) {
      await this.client.call('sale.order', 'action_cancel', { ids: stray.map((r) => r.id) }, { context: { disable_cancel_warning: true } });
    }
    return { duplicates: others.filter((r) => r.id !== keep.id && r.state === 'sale').map((r) => r.name), cancelled: stray.map((r) => r.name) };
  }

  private async readOrder(id: number): Promise<OrderRow> {
    const [row] = await this.client.read<OrderRow>('sale.order', [id], ORDER_FIELDS);
    return row;
  }

  /**
   * A state change (`action_confirm`, `action_post`…) sent once, never blindly again: a refusal is
   * fine if the record already reached the state (an earlier attempt whose answer was lost did
   * it), and after a lost answer the state is read before the call is sent again.
   */
  private async transition(model: string, method: string, id: number, reached: () => Promise<boolean>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.call(model, method, { ids: [id] }, { retry: false });
        return;
      } catch (err) {
        if (!isRetryable(err)) {
          if (await reached()) return;
          throw err;
        }
        if (attempt >= this.policy.maxAttempts) throw (err as ConnectorError).with({ attempts: attempt });
        await pauseBeforeRetry(this.pauseFor(`${model}.${method}`), attempt, err);
        if (await reached()) return;
      }
    }
  }

  private confirm(id: number): Promise<void> {
    return this.transition('sale.order', 'action_confirm', id, async () => (await this.readOrder(id)).state === 'sale');
  }

  /**
   * Writes a canonical sale or order to Odoo, once per key. A till sale is created and confirmed.
   * An order follows the shared lifecycle (`orderAction`): the first event seen creates it whatever
   * its status; a cancel cancels it (creating it first when Odoo has never seen it, so a late stale
   * create finds it cancelled); any event for an order Odoo holds cancelled is acknowledged as stale.
   */
  async pushOrder(payload: unknown, key: string): Promise<OrderResult> {
    const doc = asSaleOrderSource(payload);
    if (!key) throw odooError('sale.order', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
    return this.client.track(this.locks.run<OrderResult>(key, () => (doc.kind === 'order' ? this.lifecycle(doc, key) : this.createAndConfirm(doc, key))));
  }

  private async lifecycle(doc: Order, key: string): Promise<OrderResult> {
    const found = await this.findByRef(key);
    const erp: ErpOrderState = found.row ? 'open' : found.cancelled ? 'cancelled' : 'absent';
    const action = orderAction(erp, doc.status);
    const tag = { action, channelStatus: doc.status };
    switch (action) {
      case 'already-cancelled':
        return { ...this.asResult(found.cancelled!, key, false, doc.currency), ...tag, stale: doc.status !== 'cancelled' };
      case 'cancel':
        return { ...(await this.cancel(key, doc.currency)), ...tag };
      case 'create-cancelled': {
        // A tombstone: created and confirmed like any order, then cancelled. A crash in between
        // leaves an open order that the cancel's redelivery finds ('cancel').
        const made = await this.createAndConfirm(doc, key);
        if (made.stale) return { ...made, ...tag };
        const cancelled = await this.cancel(key, doc.currency);
        return { ...made, ...cancelled, created: made.created, ...tag };
      }
      default: {
        // 'create', or 'exists' (the same path finds it: confirms a left-behind quotation, changes nothing else).
        const result = await this.createAndConfirm(doc, key);
        return { ...result, ...tag, ...(result.stale ? { action: 'already-cancelled' as const } : {}) };
      }
    }
  }

  private asResult(row: OrderRow, key: string, created: boolean, currency: string): OrderResult {
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

  /**
   * The record for a key, created once if there is none. Odoo has no idempotency keys, so the
   * create is sent once, never blindly again: when its answer is lost (timeout, dropped
   * connection, 5xx) the key is looked up again first, and a create that was committed is found
   * there. `halt(found)` ends the search without creating (e.g. the key is cancelled in Odoo).
   * `uncertain`: a create's answer was lost, so a late twin may exist (see sweep).
   */
  private async findOrCreate<F extends { row?: { id: number } }>(
    model: string,
    find: () => Promise<F>,
    values: () => Promise<Record<string, unknown>>,
    halt: (found: F) => boolean = () => false,
  ): Promise<{ found: F; createdId?: number; uncertain: boolean }> {
    let last!: F;
    const out = await createOnce<F, Record<string, unknown>, number>({
      lookup: async () => {
        last = await find();
        return last.row || halt(last) ? last : undefined;
      },
      lookupFirst: true,
      prepare: values,
      create: async (prepared) => (await this.client.create(model, prepared, { retry: false }))[0],
      outcomeUnknown: isRetryable,
      pause: this.pauseFor(`${model}.create`),
    });
    return 'found' in out ? { found: out.found, uncertain: out.afterLostAnswer } : { found: last, createdId: out.created, uncertain: out.afterLostAnswer };
  }

  private async createAndConfirm(doc: SaleOrderSource, key: string): Promise<OrderResult> {
    const { found, createdId, uncertain } = await this.findOrCreate(
      'sale.order',
      () => this.findByRef(key),
      async () => (await prepareSaleOrder(this.client, doc, key, this.options, this.cache)).values,
      (f) => !f.row && !!f.cancelled,
    );
    if (!found.row && createdId === undefined && found.cancelled) {
      // An order cancelled meanwhile (another process): under the shared rules this is stale news.
      if (doc.kind === 'order') return { ...this.asResult(found.cancelled, key, false, doc.currency), stale: true };
      throw odooError('sale.order', `${found.cancelled.name} for ${key} was cancelled in Odoo; not creating it again (reset it to quotation in Odoo, or delete it, then replay)`, {
        retryable: false,
        providerCode: 'cancelled',
      });
    }
    let row = found.row ?? (await this.readOrder(createdId!));
    // Found after our own create's answer was lost: this call did create it.
    const created = createdId !== undefined || uncertain;
    if (row.state === 'draft' || row.state === 'sent') {
      await this.confirm(row.id);
      row = await this.readOrder(row.id);
    }
    // After an unanswered create, look once more for a late twin of it (see sweep).
    const others = uncertain ? (await this.findByRef(key)).live.filter((r) => r.id !== row.id) : found.others;
    const { duplicates, cancelled } = others.length ? await this.sweep(row, others) : { duplicates: [], cancelled: [] };
    const when = odooDatetime(documentTime(doc));
    if (row.date_order !== when) {
      await this.client.write('sale.order', [row.id], { date_order: when });
      row = { ...row, date_order: when };
    }
    const result = this.asResult(row, key, created, doc.currency);
    const grand = doc.totals.grandTotal.amount;
    const total = result.amountTotal!.amount;
    return {
      ...result,
      ...(total !== grand ? { variance: { amount: total - grand, currency: doc.currency } } : {}),
      ...(duplicates.length ? { duplicates } : {}),
      ...(cancelled.length ? { cancelledQuotations: cancelled } : {}),
    };
  }

  /** Cancels the open order carrying `key` (past Odoo's confirmation wizard); checked by reading it back. */
  private async cancel(key: string, currency: string): Promise<OrderResult> {
    const { row, cancelled } = await this.findByRef(key);
    if (!row) {
      if (cancelled) return this.asResult(cancelled, key, false, currency);
      throw odooError('sale.order.action_cancel', `no Odoo order carries ${key}`, { retryable: false });
    }
    // disable_cancel_warning: without it Odoo answers a confirmed order with a wizard instead of cancelling.
    const result = await this.client.call('sale.order', 'action_cancel', { ids: [row.id] }, { context: { disable_cancel_warning: true } });
    const after = await this.readOrder(row.id);
    if (after.state !== 'cancel') {
      throw odooError('sale.order.action_cancel', `Odoo did not cancel ${row.name} (state ${after.state}${result && typeof result === 'object' ? ', it asked for confirmation' : ''})`, { retryable: false });
    }
    return this.asResult(after, key, false, currency);
  }

  /**
   * A canonical return as an Odoo credit note (`account.move`, `out_refund`) linked to its original
   * sale.order, once per key (the move's `ref`), following the shared `returnAction` rules.
   */
  async pushReturn(payload: unknown, key: string): Promise<CreditNoteResult> {
    const kind = (payload as { kind?: unknown } | null)?.kind;
    if (kind !== 'return') throw odooError('account.move', `the payload must be a canonical return (kind 'return'), got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`, { retryable: false });
    const check = validateDocument('return', payload);
    if (!check.valid) throw odooError('account.move', `invalid return: ${check.errors.join('; ')}`, { retryable: false });
    const ret = payload as Return;
    if (!key) throw odooError('account.move', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
    const action = returnAction(ret.status);
    const base = { system: 'odoo' as const, model: 'account.move' as const, moveType: 'out_refund' as const, action, returnStatus: ret.status, key };
    if (action !== 'credit') {
      const reason =
        action === 'wait'
          ? `return is ${ret.status}: the credit note is written once the goods are received or the money refunded`
          : 'return was rejected: no credit note';
      return { ...base, id: null, name: null, state: null, created: false, skipped: true, reason };
    }
    // Under the original order's lock too: a refund that follows its order closely (one poll page,
    // one webhook burst) waits for the order's create in this process instead of failing for it.
    const original = originalRefs(ret).label;
    return this.client.track(this.locks.run(original, () => this.locks.run(`return|${key}`, () => this.creditNote(ret, key, base))));
  }

  private async findMoves(key: string): Promise<{ row?: MoveRow; others: MoveRow[] }> {
    const rows = await this.client.searchRead<MoveRow>('account.move', [['move_type', '=', 'out_refund'], ['ref', '=', key]], { fields: MOVE_FIELDS, order: 'id asc', limit: 20 });
    const live = rows.filter((r) => r.state !== 'cancel');
    const row = live.find((r) => r.state === 'posted') ?? live[0];
    return { row, others: live.filter((r) => r !== row) };
  }

  private async readMove(id: number): Promise<MoveRow> {
    const [row] = await this.client.read<MoveRow>('account.move', [id], MOVE_FIELDS);
    return row;
  }

  private post(id: number): Promise<void> {
    return this.transition('account.move', 'action_post', id, async () => (await this.readMove(id)).state === 'posted');
  }

  private async creditNote(ret: Return, key: string, base: Pick<CreditNoteResult, 'system' | 'model' | 'moveType' | 'action' | 'returnStatus' | 'key'>): Promise<CreditNoteResult> {
    let original: { id: number; name: string; key: string } | undefined;
    const { found, createdId, uncertain } = await this.findOrCreate(
      'account.move',
      () => this.findMoves(key),
      async () => {
        const prepared = await this.prepareCreditNote(ret, key);
        original = prepared.original;
        return prepared.values;
      },
    );
    let row = found.row ?? (await this.readMove(createdId!));
    const created = createdId !== undefined || uncertain;
    if (row.state === 'draft') {
      await this.post(row.id);
      row = await this.readMove(row.id);
    }
    // Late twins of an unanswered create: drafts are cancelled, posted ones reported.
    const others = uncertain ? (await this.findMoves(key)).others.filter((r) => r.id !== row.id) : found.others.filter((r) => r.id !== row.id);
    const drafts = others.filter((r) => r.state === 'draft');
    if (drafts.length) await this.client.call('account.move', 'button_cancel', { ids: drafts.map((r) => r.id) });
    const duplicates = others.filter((r) => r.state === 'posted').map((r) => r.name);
    if (!original) {
      const [o] = await this.client.read<{ invoice_origin: string | false }>('account.move', [row.id], ['invoice_origin']);
      const refs = await this.client.searchRead<{ id: number; name: string; client_order_ref: string }>('sale.order', [['name', '=', o?.invoice_origin || '']], { fields: ['id', 'name', 'client_order_ref'], limit: 1 });
      if (refs[0]) original = { id: refs[0].id, name: refs[0].name, key: refs[0].client_order_ref };
    }
    const amountTotal = { amount: minorFromOdoo(row.amount_total, ret.currency), currency: ret.currency };
    const expected = ret.totals?.refundTotal.amount ?? ret.lines.reduce((s, l) => s + l.refundAmount.amount, 0);
    return {
      ...base,
      id: row.id,
      name: row.name,
      state: row.state,
      created,
      ...(original ? { originalOrder: original } : {}),
      amountTotal,
      ...(amountTotal.amount !== expected ? { variance: { amount: amountTotal.amount - expected, currency: ret.currency } } : {}),
      ...(duplicates.length ? { duplicates } : {}),
      ...(drafts.length ? { cancelledDrafts: drafts.map((r) => r.name) } : {}),
    };
  }

  /**
   * The credit note's values: partner and origin from the original sale.order, one line per return
   * line (product by SKU, the refund amount tax included at the original line's taxes). Every
   * missing piece (original order, SKUs, currency) is one permanent error, before anything is written.
   */
  private async prepareCreditNote(ret: Return, key: string): Promise<{ values: Record<string, unknown>; original: { id: number; name: string; key: string } }> {
    const { label, domain } = originalRefs(ret);
    type SoRow = { id: number; name: string; state: string; partner_id: [number, string]; client_order_ref: string; currency_id: [number, string] | false };
    const skus = [...new Set(ret.lines.map((l) => l.sku))];
    const [orders, products, currencies] = await Promise.all([
      this.client.searchRead<SoRow>('sale.order', domain, { fields: ['id', 'name', 'state', 'partner_id', 'client_order_ref', 'currency_id'], order: 'id asc', limit: 20 }),
      this.client.searchRead<{ id: number; default_code: string }>('product.product', [['default_code', 'in', skus]], { fields: ['id', 'default_code'] }),
      this.client.searchRead<{ id: number; name: string }>('res.currency', [['name', '=', ret.currency]], { fields: ['id', 'name'], limit: 1 }),
    ]);
    const so = orders.find((o) => o.state === 'sale') ?? orders.find((o) => o.state !== 'cancel') ?? orders[0];
    const problems: string[] = [];
    if (!so) problems.push(`original order ${label} is not in Odoo yet (send the order first, then replay this return)`);
    const byCode = new Map<string, number[]>();
    for (const p of products) byCode.set(p.default_code, [...(byCode.get(p.default_code) ?? []), p.id]);
    const unknown = skus.filter((s) => !byCode.has(s));
    if (unknown.length) problems.push(`unknown SKU${unknown.length > 1 ? 's' : ''} in Odoo (no active product with that Internal Reference): ${unknown.join(', ')}`);
    const ambiguous = skus.filter((s) => (byCode.get(s)?.length ?? 0) > 1);
    if (ambiguous.length) problems.push(`SKU${ambiguous.length > 1 ? 's' : ''} shared by several Odoo products: ${ambiguous.join(', ')}`);
    if (!currencies.length) problems.push(`Odoo has no currency ${ret.currency}`);
    if (so && so.currency_id && so.currency_id[1] !== ret.currency) problems.push(`the return is in ${ret.currency} but ${so.name} is in ${so.currency_id[1]}`);
    if (problems.length) {
      throw odooError('account.move', `${key}: ${problems.join('; ')}`, { retryable: false, providerCode: !so ? 'original_missing' : unknown.length ? 'unknown_sku' : 'mapping' });
    }
    // The taxes of the original order's line for each product, so the credit mirrors the sale.
    const taxField = lineFieldNames(this.options.version).taxes;
    const soLines = await this.client.searchRead<Record<string, any>>('sale.order.line', [['order_id', '=', so!.id]], { fields: ['product_id', taxField] });
    const taxesByProduct = new Map<number, number[]>();
    for (const l of soLines) if (l.product_id && !taxesByProduct.has(l.product_id[0])) taxesByProduct.set(l.product_id[0], l[taxField] ?? []);
    const taxIds = [...new Set([...taxesByProduct.values()].flat())];
    const taxes = taxIds.length ? await this.client.read<{ id: number; amount: number; price_include: boolean; amount_type: string }>('account.tax', taxIds, ['amount', 'price_include', 'amount_type']) : [];
    const taxById = new Map(taxes.map((t) => [t.id, t]));
    const lines: Array<[0, 0, Record<string, unknown>]> = [];
    for (const line of ret.lines) {
      const productId = byCode.get(line.sku)![0];
      const lineTaxes = taxesByProduct.get(productId);
      // refundAmount is tax included: taxes Odoo adds on top are taken out first (rates to 1/10000 %).
      const excluded = (lineTaxes ?? []).map((id) => taxById.get(id)).filter((t) => t && !t.price_include && t.amount_type === 'percent');
      let total = line.refundAmount.amount;
      if (excluded.length) {
        // Odoo keeps a tax's percentage to 4 decimals: the sum is read exactly and held to that.
        const percent = rescale(addDecimals(excluded.map((t) => parseDecimal(t!.amount, { what: 'tax percentage' }))), 4, 'half-away-from-zero');
        total = excludeTax(total, percentToFraction(percent), 'half-away-from-zero');
      }
      const text = `Return: ${line.sku}${line.reasonText ? ` (${line.reasonText})` : line.reason ? ` (${line.reason})` : ''}`;
      for (const part of splitExact(line.quantity, total)) {
        lines.push([
          0,
          0,
          {
            product_id: productId,
            name: text,
            quantity: part.qty,
            price_unit: odooAmount(part.unit, ret.currency),
            discount: 0,
            ...(lineTaxes ? { tax_ids: [[6, 0, lineTaxes]] } : {}),
          },
        ]);
      }
    }
    const refunded = (ret.refunds ?? []).map((r) => r.issuedAt).sort().at(-1);
    const values = {
      move_type: 'out_refund',
      partner_id: so!.partner_id[0],
      ref: key,
      invoice_origin: so!.name,
      invoice_date: businessDate(refunded ?? ret.createdAt, this.options.timeZone ?? 'UTC'),
      currency_id: currencies[0].id,
      invoice_line_ids: lines,
    };
    return { values, original: { id: so!.id, name: so!.name, key: so!.client_order_ref } };
  }

  /**
   * Done outgoing transfers (`stock.picking`, picking_type_code `outgoing`, state `done`) after
   * `cursor`, oldest first, as validated canonical `shipment`s. Keyset paging on (date_done, id) so
   * transfers validated in the same second are neither lost nor read twice.
   */
  readShipments(cursor?: ShipmentCursor, limit = 200, names?: string[]): Promise<ShipmentsResult> {
    return this.client.track(this.shipments(cursor, limit, names));
  }

  private async shipments(cursor: ShipmentCursor | undefined, limit: number, names?: string[]): Promise<ShipmentsResult> {
    type PickingRow = { id: number; name: string; date_done: string; sale_id: [number, string] | false; origin: string | false; carrier_id: [number, string] | false; carrier_tracking_ref: string | false };
    // Named transfers (a re-read after fixing one in Odoo) ignore the cursor; else those after it.
    const after = names ? [['name', 'in', names]] : cursor ? ['|', ['date_done', '>', cursor.doneAt], '&', ['date_done', '=', cursor.doneAt], ['id', '>', cursor.id]] : [];
    const pickings = await this.client.searchRead<PickingRow>('stock.picking', [['picking_type_code', '=', 'outgoing'], ['state', '=', 'done'], ...after], {
      fields: ['id', 'name', 'date_done', 'sale_id', 'origin', 'carrier_id', 'carrier_tracking_ref'],
      order: 'date_done asc, id asc',
      limit,
    });
    if (!pickings.length) return { shipments: [], invalid: [], cursor, more: false };
    type MoveRow = { picking_id: [number, string]; product_id: [number, string]; quantity: number; state: string };
    const ids = pickings.map((p) => p.id);
    const saleIds = [...new Set(pickings.filter((p) => p.sale_id).map((p) => (p.sale_id as [number, string])[0]))];
    const [moves, orders] = await Promise.all([
      this.client.searchRead<MoveRow>('stock.move', [['picking_id', 'in', ids], ['state', '=', 'done']], { fields: ['picking_id', 'product_id', 'quantity', 'state'], order: 'id' }),
      saleIds.length ? this.client.read<{ id: number; name: string; client_order_ref: string | false }>('sale.order', saleIds, ['name', 'client_order_ref']) : Promise.resolve([]),
    ]);
    const productIds = [...new Set(moves.map((m) => m.product_id[0]))];
    const products = productIds.length ? await this.client.read<{ id: number; default_code: string | false }>('product.product', productIds, ['default_code']) : [];
    const skuOf = new Map(products.map((p) => [p.id, p.default_code]));
    const orderById = new Map(orders.map((o) => [o.id, o]));
    const shipments: Shipment[] = [];
    const invalid: ShipmentsResult['invalid'] = [];
    for (const p of pickings) {
      const errors: string[] = [];
      const qty = new Map<string, number>();
      for (const m of moves.filter((x) => x.picking_id[0] === p.id)) {
        const sku = skuOf.get(m.product_id[0]);
        if (!sku) {
          errors.push(`product ${m.product_id[1]} has no Internal Reference (SKU)`);
          continue;
        }
        if (!Number.isInteger(m.quantity)) errors.push(`${sku}: ${m.quantity} is not a whole number of units`);
        qty.set(sku, (qty.get(sku) ?? 0) + m.quantity);
      }
      const so = p.sale_id ? orderById.get(p.sale_id[0]) : undefined;
      const orderKey = so?.client_order_ref || undefined;
      if (!orderKey) errors.push(so ? `${so.name} has no Customer Reference (client_order_ref): it was not written by Tillwire` : 'not linked to a sales order');
      const lines = [...qty].filter(([, q]) => q > 0).map(([sku, quantity]) => ({ sku, quantity }));
      if (!lines.length && !errors.length) errors.push('nothing was shipped');
      const channel = orderKey ? channelOfOrderKey(orderKey) : undefined;
      const doc: Shipment = {
        kind: 'shipment',
        shipmentId: p.name,
        order: { id: orderKey ?? (p.origin || p.name), ...(channel ? { channel } : {}) },
        shippedAt: `${p.date_done.replace(' ', 'T')}Z`,
        ...(p.carrier_id ? { carrier: p.carrier_id[1] } : {}),
        ...(p.carrier_tracking_ref ? { trackingNumber: p.carrier_tracking_ref } : {}),
        lines,
        source: { system: 'odoo', type: 'stock.picking', id: p.name },
        attributes: { odooPickingId: String(p.id), ...(so ? { odooSaleOrder: so.name } : {}) },
      };
      if (!errors.length) {
        const check = validateDocument('shipment', doc);
        if (!check.valid) errors.push(...check.errors);
      }
      if (errors.length) invalid.push({ picking: p.name, errors });
      else shipments.push(doc);
    }
    const last = pickings[pickings.length - 1];
    return { shipments, invalid, cursor: { doneAt: last.date_done, id: last.id }, more: pickings.length === limit };
  }

  private async pagedSearchRead<T>(model: string, domain: unknown[], fields: string[], page = 1000): Promise<T[]> {
    const out: T[] = [];
    for (let offset = 0; ; offset += page) {
      const rows = await this.client.searchRead<T>(model, domain, { fields, limit: page, offset, order: 'id' });
      out.push(...rows);
      if (rows.length < page) return out;
    }
  }

  private async stockLocation(): Promise<{ id: number; name: string } | undefined> {
    if (this.defaultLocation) return this.defaultLocation;
    const [wh] = await this.client.searchRead<{ lot_stock_id: [number, string] | false }>('stock.warehouse', [], { fields: ['lot_stock_id'], limit: 1, order: 'sequence, id' });
    if (wh?.lot_stock_id) this.defaultLocation = { id: wh.lot_stock_id[0], name: wh.lot_stock_id[1] };
    return this.defaultLocation;
  }

  /**
   * On-hand and reserved stock per SKU and internal location, as canonical positions. `skus`
   * undefined: every storable product with an Internal Reference, including those with no stock
   * (reported as 0 at the main warehouse's stock location, so a sold-out SKU is not left out).
   */
  readStock(skus?: string[], asOf = new Date()): Promise<StockResult> {
    return this.client.track(this.stock(skus, asOf));
  }

  private async stock(skus: string[] | undefined, asOf: Date): Promise<StockResult> {
    const all = skus === undefined;
    const storable = this.client.version >= 18 ? [['is_storable', '=', true]] : [['type', '=', 'product']];
    type ProductRow = { id: number; default_code: string | false };
    const products = all
      ? await this.pagedSearchRead<ProductRow>('product.product', [['default_code', '!=', false], ...storable], ['id', 'default_code'])
      : skus.length
        ? await this.client.searchRead<ProductRow>('product.product', [['default_code', 'in', skus]], { fields: ['id', 'default_code'] })
        : [];
    const skuById = new Map<number, string>();
    for (const p of products) if (p.default_code) skuById.set(p.id, p.default_code);
    const known = new Set(skuById.values());
    const unknown = all ? [] : [...new Set(skus.filter((s) => !known.has(s)))];
    type QuantRow = { product_id: [number, string]; location_id: [number, string]; quantity: number; reserved_quantity: number };
    const ids = [...skuById.keys()];
    const quants = ids.length
      ? await this.pagedSearchRead<QuantRow>(
          'stock.quant',
          [['location_id.usage', '=', 'internal'], ...(all ? [] : [['product_id', 'in', ids]])],
          ['product_id', 'location_id', 'quantity', 'reserved_quantity'],
        )
      : [];
    const totals = new Map<string, { sku: string; productId: number; location: [number, string]; onHand: number; reserved: number }>();
    for (const q of quants) {
      const sku = skuById.get(q.product_id[0]);
      if (!sku) continue;
      const k = `${q.product_id[0]}:${q.location_id[0]}`;
      const t = totals.get(k) ?? { sku, productId: q.product_id[0], location: q.location_id, onHand: 0, reserved: 0 };
      t.onHand += q.quantity;
      t.reserved += q.reserved_quantity;
      totals.set(k, t);
    }
    const withStock = new Set([...totals.values()].map((t) => t.productId));
    const missing = ids.filter((id) => !withStock.has(id));
    if (missing.length) {
      const loc = await this.stockLocation();
      if (loc) for (const id of missing) totals.set(`${id}:${loc.id}`, { sku: skuById.get(id)!, productId: id, location: [loc.id, loc.name], onHand: 0, reserved: 0 });
    }
    const at = new Date(Math.floor(asOf.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const positions: InventoryPosition[] = [];
    const fractional = new Set<string>();
    for (const t of totals.values()) {
      if (!Number.isInteger(t.onHand) || !Number.isInteger(t.reserved)) {
        fractional.add(t.sku);
        continue;
      }
      positions.push({
        kind: 'inventory.position',
        sku: t.sku,
        locationId: t.location[1],
        onHand: t.onHand,
        reserved: Math.max(0, t.reserved),
        inTransit: 0,
        safetyStock: 0,
        asOf: at,
        attributes: { odooProductId: String(t.productId), odooLocationId: String(t.location[0]) },
      });
    }
    positions.sort((a, b) => (a.sku === b.sku ? a.locationId.localeCompare(b.locationId) : a.sku < b.sku ? -1 : 1));
    return { positions, unknown, fractional: [...fractional] };
  }
}
