/**
 * The settlement benchmark's data: an Amazon V2 settlement flat file (columns and formats of
 * nodes/amazon/contract.ts) of exactly `lines` transaction rows, and the orders Tillwire knows,
 * both derived from a seed, so every run reads the same bytes.
 *
 * Each order is a function of (seed, index) alone, so the file and the known-order store agree
 * without either being held: one or two items, each with ItemPrice/Principal and
 * ItemFees/Commission, and by chance ItemPrice/Tax, ItemPrice/Shipping (+ ShippingTax),
 * Promotion/Principal and, for FBA orders, ItemFees/FBAPerUnitFulfillmentFee. About one order in
 * 25 is followed by the refund of an earlier order (Refund rows: principal, tax, the commission
 * given back), one row in 25,000 is a fee or reimbursement of the account (storage, advertising,
 * subscription, FBA inventory reimbursement), the first row releases the previous reserve and the
 * last holds 10 % of the net. About 3.3 rows per order: 1,000,000 rows name about 300,000 orders.
 * Posted dates run evenly through a 14-day period that crosses a month end, so the settlement
 * is split into two monthly journals; the rows of one sale (or refund) share its posted time, as
 * in Amazon's files. The summary row's total-amount is Σ every row (the file is
 * consistent), which takes a first pass over the same rows without writing them.
 */
import fs from 'node:fs';
import { SETTLEMENT_COLUMNS, SETTLEMENT_RESERVE_HELD, SETTLEMENT_RESERVE_RELEASED } from '../nodes/amazon/contract';
import { fromMinor } from '../nodes/model/money';
import { createStore } from '../nodes/runtime/create-store';
import type { OrderSeen } from '../nodes/runtime/store';

export interface SettlementFileSpec {
  /** Transaction rows (the file has two more: column names and summary). */
  lines: number;
  seed: number;
  /** EU form: EUR on Amazon.de, amounts with a decimal comma, dates day first. */
  decimalComma?: boolean;
}

export interface SettlementFileFacts {
  file: string;
  bytes: number;
  lines: number;
  /** Orders with rows in the file (sales; refunds name earlier ones). */
  orders: number;
  settlementId: string;
  currency: string;
  /** Σ every row, minor units (the summary row's total-amount). */
  total: number;
  /** The previous settlement's reserve this one releases (minor units). */
  reserveReleased: number;
}

export const SETTLEMENT_ID = '24681357901';
const PERIOD_START = Date.UTC(2026, 9, 22); // 22 Oct – 5 Nov 2026: the settlement crosses a month end
const PERIOD_MS = 14 * 86_400_000;
const RELEASED = 1_234_567;

/** A 32-bit hash of (seed, index, salt): each order's dice, independent of every other order. */
function mix(seed: number, i: number, salt: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt + 7, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded generator of floats in [0, 1) for one order. */
function dice(seed: number, i: number): () => number {
  let salt = 0;
  return () => mix(seed, i, salt++) / 4_294_967_296;
}

interface Item {
  code: string;
  sku: string;
  qty: number;
  principal: number;
  tax: number;
  shipping: number;
  shippingTax: number;
  promotion: number;
  commission: number;
  fbaFee: number;
}

export interface BenchOrder {
  id: string;
  afn: boolean;
  items: Item[];
  /** Σ principal, tax, shipping and promotion: what the customer paid (Tillwire's gross). */
  gross: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Order `i` of the seed; the same (seed, i) always gives the same order. */
export function orderAt(seed: number, i: number): BenchOrder {
  const r = dice(seed, i);
  const id = `${pad(100 + (mix(seed, i, 999) % 900), 3)}-${pad(mix(seed, i, 998) % 10_000_000, 7)}-${pad(i, 7)}`;
  const afn = r() < 0.3;
  const count = r() < 0.12 ? 2 : 1;
  const items: Item[] = [];
  let gross = 0;
  for (let k = 0; k < count; k++) {
    const qty = r() < 0.85 ? 1 : 2;
    const principal = qty * (499 + Math.floor(r() * 19_500));
    const tax = r() < 0.25 ? Math.round(principal * 0.08) : 0;
    const shipping = !afn && r() < 0.25 ? 499 : 0;
    const shippingTax = shipping && tax ? 40 : 0;
    const promotion = r() < 0.08 ? -Math.min(principal, 200 + Math.floor(r() * 800)) : 0;
    const commission = -Math.floor((principal * 15 + 50) / 100);
    const fbaFee = afn ? -322 * qty : 0;
    items.push({
      code: pad(mix(seed, i, 500 + k), 14),
      sku: `SKU-${pad(mix(seed, i, 600 + k) % 5000, 4)}`,
      qty,
      principal,
      tax,
      shipping,
      shippingTax,
      promotion,
      commission,
      fbaFee,
    });
    gross += principal + tax + shipping + shippingTax + promotion;
  }
  return { id, afn, items, gross };
}

interface Row {
  transactionType: string;
  amountType: string;
  description: string;
  amount: number;
  order?: BenchOrder;
  item?: Item;
  promotionId?: string;
  /** Position in the file that sets the row's posted time (rows of one transaction share it). */
  at?: number;
}

function saleRows(o: BenchOrder, out: Row[]): void {
  for (const item of o.items) {
    const add = (amountType: string, description: string, amount: number, promotionId?: string) =>
      out.push({ transactionType: 'Order', amountType, description, amount, order: o, item, promotionId });
    add('ItemPrice', 'Principal', item.principal);
    if (item.tax) add('ItemPrice', 'Tax', item.tax);
    if (item.shipping) add('ItemPrice', 'Shipping', item.shipping);
    if (item.shippingTax) add('ItemPrice', 'ShippingTax', item.shippingTax);
    if (item.promotion) add('Promotion', 'Principal', item.promotion, `PROMO-${item.sku}`);
    add('ItemFees', 'Commission', item.commission);
    if (item.fbaFee) add('ItemFees', 'FBAPerUnitFulfillmentFee', item.fbaFee);
  }
}

/** The refund of an earlier order's first item: principal and tax back to the buyer, part of the commission back to the seller. */
function refundRows(o: BenchOrder, out: Row[]): void {
  const item = o.items[0];
  const add = (amountType: string, description: string, amount: number) =>
    out.push({ transactionType: 'Refund', amountType, description, amount, order: o, item });
  add('ItemPrice', 'Principal', -item.principal);
  if (item.tax) add('ItemPrice', 'Tax', -item.tax);
  add('ItemFees', 'Commission', -Math.trunc((item.commission * 80) / 100));
  add('ItemFees', 'RefundCommission', -Math.trunc((item.commission * 20) / 100));
}

const ACCOUNT_ROWS: ReadonlyArray<[string, string, string, number]> = [
  ['other-transaction', 'other-transaction', 'Storage Fee', -48_210],
  ['Cost of Advertising', 'Cost of Advertising', 'TransactionTotalAmount', -125_000],
  ['other-transaction', 'other-transaction', 'Subscription Fee', -3_999],
  ['FBA Inventory Reimbursement', 'FBA Inventory Reimbursement', 'WAREHOUSE_DAMAGE', 2_450],
];

/** Every transaction row of the file, in order; `orders` is told how many orders were started. */
function* transactionRows(spec: SettlementFileSpec, counted: { orders: number }): Generator<Row> {
  const n = spec.lines;
  let emitted = 0;
  let net = RELEASED;
  yield { transactionType: 'other-transaction', amountType: 'other-transaction', description: SETTLEMENT_RESERVE_RELEASED, amount: RELEASED };
  emitted++;
  const rows: Row[] = [];
  let i = 0;
  while (emitted < n - 1) {
    rows.length = 0;
    const order = orderAt(spec.seed, i);
    saleRows(order, rows);
    for (const row of rows) row.at = emitted;
    const r = mix(spec.seed, i, 1000);
    if (i > 0 && r % 25 === 0) {
      const from = rows.length;
      refundRows(orderAt(spec.seed, Math.max(0, i - 1 - (r % 5000))), rows);
      for (let k = from; k < rows.length; k++) rows[k].at = emitted + 1;
    }
    if (Math.floor((emitted + rows.length) / 25_000) > Math.floor(emitted / 25_000)) {
      const [transactionType, amountType, description, amount] = ACCOUNT_ROWS[Math.floor(emitted / 25_000) % ACCOUNT_ROWS.length];
      rows.push({ transactionType, amountType, description, amount });
    }
    i++;
    for (const row of rows) {
      if (emitted >= n - 1) break;
      net += row.amount;
      emitted++;
      yield row;
    }
  }
  counted.orders = i;
  yield {
    transactionType: 'other-transaction',
    amountType: 'other-transaction',
    description: SETTLEMENT_RESERVE_HELD,
    amount: -Math.floor(Math.max(net, 0) / 10),
  };
}

/** Writes the settlement file to `file` and says what is in it. */
export function writeSettlementFile(file: string, spec: SettlementFileSpec): SettlementFileFacts {
  const currency = spec.decimalComma ? 'EUR' : 'USD';
  const marketplace = spec.decimalComma ? 'Amazon.de' : 'Amazon.com';
  const separator = spec.decimalComma ? ',' : '.';
  const money = (n: number) => fromMinor(n, currency, { decimalSeparator: separator });
  const day = (iso: string) => (spec.decimalComma ? `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)}` : iso.slice(0, 10));
  const dateTime = (ms: number) => {
    const iso = new Date(ms).toISOString();
    return `${day(iso)} ${iso.slice(11, 19)} UTC`;
  };
  const columns: string[] = [...SETTLEMENT_COLUMNS, 'promotion-id'];
  const at = new Map(columns.map((c, i) => [c, i]));
  const line = (cells: Record<string, string>) => {
    const out = new Array<string>(columns.length).fill('');
    for (const [name, value] of Object.entries(cells)) out[at.get(name)!] = value;
    return out.join('\t') + '\n';
  };

  let total = 0;
  for (const row of transactionRows(spec, { orders: 0 })) total += row.amount;

  const fd = fs.openSync(file, 'w');
  let buffer = '';
  const write = (text: string) => {
    buffer += text;
    if (buffer.length > 1 << 20) {
      fs.writeSync(fd, buffer);
      buffer = '';
    }
  };
  const counted = { orders: 0 };
  try {
    write(columns.join('\t') + '\n');
    write(
      line({
        'settlement-id': SETTLEMENT_ID,
        'settlement-start-date': dateTime(PERIOD_START),
        'settlement-end-date': dateTime(PERIOD_START + PERIOD_MS),
        'deposit-date': dateTime(PERIOD_START + PERIOD_MS + 2 * 86_400_000),
        'total-amount': money(total),
        currency,
      }),
    );
    let index = 0;
    let postedFor = -1;
    let posted = '';
    for (const row of transactionRows(spec, counted)) {
      const at = row.at ?? index;
      index++;
      if (at !== postedFor) {
        postedFor = at;
        posted = dateTime(PERIOD_START + Math.floor((at * PERIOD_MS) / spec.lines));
      }
      const cells: Record<string, string> = {
        'settlement-id': SETTLEMENT_ID,
        'transaction-type': row.transactionType,
        'amount-type': row.amountType,
        'amount-description': row.description,
        amount: money(row.amount),
        'posted-date': posted.slice(0, 10),
        'posted-date-time': posted,
      };
      if (row.order && row.item) {
        cells['order-id'] = row.order.id;
        cells['shipment-id'] = `D${row.order.id.slice(-7)}${row.item.code.slice(-4)}`;
        cells['marketplace-name'] = marketplace;
        cells['fulfillment-id'] = row.order.afn ? 'AFN' : 'MFN';
        cells['order-item-code'] = row.item.code;
        cells.sku = row.item.sku;
        if (row.transactionType === 'Refund') cells['adjustment-id'] = `A${row.item.code.slice(-9)}`;
        if (row.description === 'Principal' && row.amountType === 'ItemPrice') cells['quantity-purchased'] = String(row.item.qty);
        if (row.promotionId) cells['promotion-id'] = row.promotionId;
      }
      write(line(cells));
    }
    fs.writeSync(fd, buffer);
  } finally {
    fs.closeSync(fd);
  }
  return {
    file,
    bytes: fs.statSync(file).size,
    lines: spec.lines,
    orders: counted.orders,
    settlementId: SETTLEMENT_ID,
    currency,
    total,
    reserveReleased: RELEASED,
  };
}

/**
 * The orders Tillwire knows, written to a SQLite store through the store's own API, as the order
 * pollers (orderSeen, with the order's gross) and the ERP node (orderAccepted, with the ERP's
 * order number) write them while a shop runs: the first `count` orders of the seed; one in 1,000
 * with a gross one minor unit off the settlement's, one in 2,000 never accepted by the ERP.
 */
export interface OrderIndexFacts {
  file: string;
  orders: number;
  notInErp: number;
  differing: number;
  ms: number;
}

export async function fillOrderIndex(file: string, seed: number, count: number, account: string, currency: string): Promise<OrderIndexFacts> {
  const t0 = performance.now();
  const store = createStore({ backend: 'sqlite', file, synchronous: 'normal' }, undefined, { heartbeatMs: 0 });
  await store.open();
  let notInErp = 0;
  let differing = 0;
  try {
    const CHUNK = 5_000;
    for (let from = 0; from < count; from += CHUNK) {
      const seen: OrderSeen[] = [];
      const accepted: string[] = [];
      for (let i = from; i < Math.min(count, from + CHUNK); i++) {
        const o = orderAt(seed, i);
        const r = mix(seed, i, 2000);
        const off = r % 1000 === 0;
        if (off) differing++;
        seen.push({ system: 'amazon', account, orderId: o.id, gross: o.gross + (off ? 1 : 0), currency });
        if (r % 2000 === 1) notInErp++;
        else accepted.push(o.id);
      }
      await store.orderSeen(seen);
      for (const id of accepted) await store.orderAccepted({ system: 'amazon', account, orderId: id }, 'odoo', `S${id.slice(-7)}`);
    }
  } finally {
    await store.close();
  }
  return { file, orders: count, notInErp, differing, ms: performance.now() - t0 };
}
