/**
 * The Odoo connector's work, without Node-RED: create-and-confirm a `sale.order` for a canonical
 * sale or order exactly once, cancel one, and read stock as canonical `inventory.position`s.
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
import { backoffMs, ConnectorError, RetryPolicy, delay } from '../runtime/http';
import { toMinor, currencyExponent, Money } from '../model/money';
import type { InventoryPosition } from '../model/types.generated';
import { gaveUp, isRetryable, notifyRetry, OdooClient, odooError, RetryListener } from './client';
import {
  asSaleOrderSource,
  documentTime,
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
  /** Odoo's amount_total in the document's currency, exactly. */
  amountTotal?: Money;
  /** amountTotal − the document's grand total, when they differ (tax setup, price precision). */
  variance?: Money;
  /** Other confirmed orders carrying the same key (not touched: someone must look at them). */
  duplicates?: string[];
  /** Stray quotations with the same key that were cancelled (a create Odoo finished after the connector gave up on it). */
  cancelledQuotations?: string[];
}

export interface CancelResult {
  system: 'odoo';
  model: 'sale.order';
  id: number | null;
  name: string | null;
  state: string | null;
  created: false;
  key: string;
}

interface OrderRow {
  id: number;
  name: string;
  state: string;
  date_order: string;
  amount_total: number;
}

const ORDER_FIELDS = ['id', 'name', 'state', 'date_order', 'amount_total'];

/** Serialises work per key within this process. */
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
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}

/** Odoo floats (amount_total…) to exact minor units: by their shortest text, rounded to the currency only when Odoo left float noise. */
export function minorFromOdoo(value: number, currency: string): number {
  try {
    return toMinor(value, currency);
  } catch {
    return toMinor(value.toFixed(currencyExponent(currency)), currency);
  }
}

export interface OdooSyncOptions extends MapOptions {
  /** Attempts and backoff for the checked writes (create, confirm); defaults to the client's policy. */
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: RetryListener;
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

  private async pause(attempt: number, operation: string, err: unknown): Promise<void> {
    const waitMs = backoffMs(attempt, this.policy, this.options.random);
    const info = { operation, attempt, waitMs, reason: `${(err as Error).message}; checking what Odoo did before trying again` };
    this.options.onRetry?.(info);
    notifyRetry(info);
    await (this.options.sleep ?? delay)(Math.min(waitMs, this.policy.maxDelayMs));
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

  /** `action_confirm`, sent once; a lost answer is settled by reading the order's state. */
  private async confirm(id: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.call('sale.order', 'action_confirm', { ids: [id] }, { retry: false });
        return;
      } catch (err) {
        if (!isRetryable(err)) {
          // Refused: fine if someone (an earlier attempt whose answer was lost) already confirmed it.
          if ((await this.readOrder(id)).state === 'sale') return;
          throw err;
        }
        if (attempt >= this.policy.maxAttempts) throw gaveUp(err as ConnectorError, attempt);
        await this.pause(attempt, 'sale.order.action_confirm', err);
        if ((await this.readOrder(id)).state === 'sale') return;
      }
    }
  }

  /**
   * Creates and confirms the `sale.order` for a canonical sale or order, once per key; a cancelled
   * order (status `cancelled`) cancels the Odoo order instead.
   */
  async pushOrder(payload: unknown, key: string): Promise<OrderResult | CancelResult> {
    const doc = asSaleOrderSource(payload);
    if (!key) throw odooError('sale.order', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
    return this.client.track(
      this.locks.run<OrderResult | CancelResult>(key, () =>
        doc.kind === 'order' && doc.status === 'cancelled' ? this.cancel(key) : this.createAndConfirm(doc, key),
      ),
    );
  }

  private async createAndConfirm(doc: SaleOrderSource, key: string): Promise<OrderResult> {
    let prepared: Awaited<ReturnType<typeof prepareSaleOrder>> | undefined;
    let uncertain = false;
    let createdId: number | undefined;
    let found: Awaited<ReturnType<OdooSync['findByRef']>> | undefined;
    for (let attempt = 1; ; attempt++) {
      found = await this.findByRef(key);
      if (found.row) break;
      if (found.cancelled) {
        throw odooError('sale.order', `${found.cancelled.name} for ${key} was cancelled in Odoo; not creating it again (reset it to quotation in Odoo, or delete it, then replay)`, {
          retryable: false,
          providerCode: 'cancelled',
        });
      }
      prepared ??= await prepareSaleOrder(this.client, doc, key, this.options, this.cache);
      try {
        [createdId] = await this.client.create('sale.order', prepared.values, { retry: false });
        break;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (attempt >= this.policy.maxAttempts) throw gaveUp(err as ConnectorError, attempt);
        // The create may or may not have been committed: look again before sending it again.
        uncertain = true;
        await this.pause(attempt, 'sale.order.create', err);
      }
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
    const amountTotal = { amount: minorFromOdoo(row.amount_total, doc.currency), currency: doc.currency };
    const grand = doc.totals.grandTotal.amount;
    return {
      system: 'odoo',
      model: 'sale.order',
      id: row.id,
      name: row.name,
      state: row.state,
      created,
      key,
      amountTotal,
      ...(amountTotal.amount !== grand ? { variance: { amount: amountTotal.amount - grand, currency: doc.currency } } : {}),
      ...(duplicates.length ? { duplicates } : {}),
      ...(cancelled.length ? { cancelledQuotations: cancelled } : {}),
    };
  }

  private async cancel(key: string): Promise<CancelResult> {
    const { row, cancelled } = await this.findByRef(key);
    if (!row) {
      // Nothing to cancel (never created, or already cancelled).
      return { system: 'odoo', model: 'sale.order', id: cancelled?.id ?? null, name: cancelled?.name ?? null, state: cancelled ? 'cancel' : null, created: false, key };
    }
    // disable_cancel_warning: without it Odoo answers a confirmed order with a wizard instead of cancelling.
    const result = await this.client.call('sale.order', 'action_cancel', { ids: [row.id] }, { context: { disable_cancel_warning: true } });
    const after = await this.readOrder(row.id);
    if (after.state !== 'cancel') {
      throw odooError('sale.order.action_cancel', `Odoo did not cancel ${row.name} (state ${after.state}${result && typeof result === 'object' ? ', it asked for confirmation' : ''})`, { retryable: false });
    }
    return { system: 'odoo', model: 'sale.order', id: row.id, name: row.name, state: after.state, created: false, key };
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

export function isConnectorError(err: unknown): err is ConnectorError {
  return err instanceof ConnectorError;
}

/** The SKUs a stock request asks for; undefined means every SKU. */
export function skusFrom(payload: unknown): string[] | undefined {
  if (typeof payload === 'string') {
    const s = payload.trim();
    return s === '' || s === '*' || s.toLowerCase() === 'all' ? undefined : [s];
  }
  if (Array.isArray(payload)) return payload.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim());
  if (payload && typeof payload === 'object' && Array.isArray((payload as { skus?: unknown }).skus)) return skusFrom((payload as { skus: unknown[] }).skus);
  return undefined;
}
