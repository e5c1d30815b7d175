/**
 * The Amazon simulator's settlements: V2 settlement reports built from the orders the simulator
 * serves, so a demo flow can read orders, then the settlement that pays for them, and reconcile
 * the two for real. Layout and formats are the production contract's (nodes/amazon/contract.ts).
 *
 * One settlement per marketplace and period (`periodDays`, 14 by default, from the orders'
 * epoch), once the period has ended on the business clock; it covers the marketplace's Shipped
 * orders purchased in the period. Per order item (amounts the order itself shows, so the
 * customer-facing rows of an order add up to its OrderTotal):
 * - ItemPrice/Principal, ItemPrice/Tax, ItemPrice/Shipping, ItemPrice/ShippingTax (tax-inclusive
 *   marketplaces split the tax out of the price; the US adds it on top, net of the discounts' tax),
 *   Promotion/Principal and Promotion/Shipping (negative);
 * - ItemFees/Commission (−15 % of the item price), ItemFees/FBAPerUnitFulfillmentFee (AFN
 *   orders, per unit), and in the US ItemWithheldTax (the tax Amazon remits itself, negative).
 * Per settlement: `Previous Reserve Amount Balance` (the last period's hold released) and
 * `Current Reserve Amount` (`reservePercent` of this period's order net held back), and the
 * summary row's total-amount = Σ every row's amount.
 */
import { fromMinor, currencyExponent } from '../../nodes/model/money';
import { SETTLEMENT_COLUMNS, SETTLEMENT_RESERVE_HELD, SETTLEMENT_RESERVE_RELEASED } from '../../nodes/amazon/contract';

export interface SettlementFormat {
  /** Days per settlement period (default 14). */
  periodDays?: number;
  /** Serve documents gzip-compressed (`compressionAlgorithm: GZIP`). */
  gzip?: boolean;
  /** Write amounts with a decimal comma ("95,00"), as EU marketplaces' files do. */
  decimalComma?: boolean;
  /** Write dates day first ("03.11.2026 08:00:00 UTC"), as EU marketplaces' files do. */
  dayFirstDates?: boolean;
  /** Add the 24th column `promotion-id` seen in real files. */
  promotionIdColumn?: boolean;
  /** Percent of a period's order net held back as reserve (default 10; 0 for none). */
  reservePercent?: number;
  /** How long after its period's end a settlement's report is created (default an hour). */
  publishDelayMs?: number;
  /** Publish no settlement for a period with nothing to pay: no orders settled, no reserve released (the demo's short periods). */
  omitEmpty?: boolean;
}

/** What the settlement needs of an order item (minor units, as the simulator holds them). */
export interface SettledItem {
  OrderItemId: string;
  SellerSKU: string;
  QuantityOrdered: number;
  ItemPrice: number;
  ItemTax: number;
  PromotionDiscount: number;
  PromotionDiscountTax: number;
  ShippingPrice: number;
  ShippingTax: number;
  ShippingDiscount: number;
  ShippingDiscountTax: number;
  PromotionIds: string[];
}

export interface SettledOrder {
  AmazonOrderId: string;
  PurchaseDate: number;
  OrderStatus: string;
  FulfillmentChannel: 'MFN' | 'AFN';
  marketplace: { id: string; currency: string; taxesIncluded: boolean; salesChannel: string };
  items: SettledItem[];
}

export interface SimSettlement {
  settlementId: string;
  reportId: string;
  reportDocumentId: string;
  marketplaceId: string;
  currency: string;
  start: number;
  end: number;
  createdTime: number;
}

type Cells = Partial<Record<(typeof SETTLEMENT_COLUMNS)[number] | 'promotion-id', string>>;

const DAY = 86_400_000;

/** Every settlement whose report exists at `now` (created by then), newest last. */
export function settlementsUpTo(
  now: number,
  epoch: number,
  marketplaces: ReadonlyArray<{ id: string; currency: string }>,
  format: SettlementFormat,
  firstPeriod = 0,
): SimSettlement[] {
  const period = (format.periodDays ?? 14) * DAY;
  const out: SimSettlement[] = [];
  for (let p = 0; ; p++) {
    const start = epoch + p * period;
    const end = start + period;
    const createdTime = end + (format.publishDelayMs ?? 3_600_000);
    if (createdTime > now) break;
    marketplaces.forEach((mp, m) => {
      // `firstPeriod`: the periods an earlier run of the demo already settled (their ids are taken).
      const n = 20_000_000_000 + (firstPeriod + p) * 100 + m;
      out.push({
        settlementId: String(n),
        reportId: String(n + 30_000_000_000),
        reportDocumentId: `amzn1.spdoc.1.4.na.${n}`,
        marketplaceId: mp.id,
        currency: mp.currency,
        start,
        end,
        createdTime,
      });
    });
  }
  return out;
}

/** The amounts of one order's rows, without the settlement columns. */
function orderRows(o: SettledOrder): Array<{ cells: Cells; amount: number }> {
  const rows: Array<{ cells: Cells; amount: number }> = [];
  const incl = o.marketplace.taxesIncluded;
  const posted = o.PurchaseDate + 60_000;
  const unitFee = currencyExponent(o.marketplace.currency) === 0 ? 400 : 322;
  for (const it of o.items) {
    const base: Cells = {
      'order-id': o.AmazonOrderId,
      'shipment-id': `S${o.AmazonOrderId.replace(/-/g, '').slice(-10)}`,
      'marketplace-name': o.marketplace.salesChannel,
      'fulfillment-id': o.FulfillmentChannel,
      'order-item-code': it.OrderItemId,
      sku: it.SellerSKU,
    };
    const add = (type: string, amountType: string, description: string, amount: number, extra: Cells = {}) => {
      if (amount !== 0 || description === 'Principal')
        rows.push({ cells: { ...base, 'transaction-type': type, 'amount-type': amountType, 'amount-description': description, ...extra }, amount });
    };
    const tax = incl ? it.ItemTax : it.ItemTax - it.PromotionDiscountTax;
    const shipTax = incl ? it.ShippingTax : it.ShippingTax - it.ShippingDiscountTax;
    add('Order', 'ItemPrice', 'Principal', incl ? it.ItemPrice - it.ItemTax : it.ItemPrice, { 'quantity-purchased': String(it.QuantityOrdered) });
    add('Order', 'ItemPrice', 'Tax', tax);
    add('Order', 'ItemPrice', 'Shipping', incl ? it.ShippingPrice - it.ShippingTax : it.ShippingPrice);
    add('Order', 'ItemPrice', 'ShippingTax', shipTax);
    add('Order', 'Promotion', 'Principal', -it.PromotionDiscount, { 'promotion-id': it.PromotionIds[0] ?? '' });
    add('Order', 'Promotion', 'Shipping', -it.ShippingDiscount);
    if (!incl) add('Order', 'ItemWithheldTax', 'MarketplaceFacilitatorTax-Principal', -(tax + shipTax));
    add('Order', 'ItemFees', 'Commission', -Math.floor((it.ItemPrice * 15 + 50) / 100));
    if (o.FulfillmentChannel === 'AFN') add('Order', 'ItemFees', 'FBAPerUnitFulfillmentFee', -unitFee * it.QuantityOrdered);
  }
  for (const r of rows) r.cells['posted-date-time'] = String(posted);
  return rows;
}

/** The orders a settlement pays for. */
function settled(s: SimSettlement, orders: Iterable<SettledOrder>): SettledOrder[] {
  return [...orders].filter((o) => o.marketplace.id === s.marketplaceId && o.OrderStatus === 'Shipped' && o.PurchaseDate >= s.start && o.PurchaseDate < s.end);
}

/** Whether a settlement has anything in it: an order it pays for, or a reserve it releases. */
export function hasContent(s: SimSettlement, orders: Iterable<SettledOrder>, releases: number): boolean {
  return releases !== 0 || settled(s, orders).length > 0;
}

/** The reserve a settlement holds back (positive minor units). */
export function reserveHeld(s: SimSettlement, orders: Iterable<SettledOrder>, format: SettlementFormat): number {
  const net = settled(s, orders).reduce((sum, o) => sum + orderRows(o).reduce((t, r) => t + r.amount, 0), 0);
  return net > 0 ? Math.floor((net * (format.reservePercent ?? 10)) / 100) : 0;
}

/**
 * The lines of the settlement file, header row first, built as they are asked for (a large
 * settlement is streamed, not held). `previous` is the marketplace's previous settlement, if any;
 * without one the settlement releases `carriedReserve`, what an earlier run's last one held.
 */
export function* settlementFile(
  s: SimSettlement,
  previous: SimSettlement | undefined,
  orders: () => Iterable<SettledOrder>,
  format: SettlementFormat,
  carriedReserve = 0,
): Generator<string> {
  const columns: string[] = [...SETTLEMENT_COLUMNS, ...(format.promotionIdColumn ? ['promotion-id'] : [])];
  const money = (n: number) => fromMinor(n, s.currency, { decimalSeparator: format.decimalComma ? ',' : '.' });
  const date = (ms: number, withTime = true) => {
    const iso = new Date(ms).toISOString();
    const [y, mo, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
    const day = format.dayFirstDates ? `${d}.${mo}.${y}` : `${y}-${mo}-${d}`;
    return withTime ? `${day} ${iso.slice(11, 19)} UTC` : day;
  };
  const line = (cells: Cells) => columns.map((c) => cells[c as keyof Cells] ?? '').join('\t') + '\n';

  const mine = settled(s, orders());
  const held = reserveHeld(s, orders(), format);
  const released = previous ? reserveHeld(previous, orders(), format) : carriedReserve;
  let total = released - held;
  for (const o of mine) for (const r of orderRows(o)) total += r.amount;

  yield columns.join('\t') + '\n';
  yield line({
    'settlement-id': s.settlementId,
    'settlement-start-date': date(s.start),
    'settlement-end-date': date(s.end),
    'deposit-date': date(s.end + 2 * DAY),
    'total-amount': money(total),
    currency: s.currency,
  });
  for (const o of mine) {
    for (const r of orderRows(o)) {
      const posted = Number(r.cells['posted-date-time']);
      yield line({
        ...r.cells,
        'settlement-id': s.settlementId,
        amount: money(r.amount),
        'posted-date': date(posted, false),
        'posted-date-time': date(posted),
      });
    }
  }
  const other = (description: string, amount: number) =>
    line({
      'settlement-id': s.settlementId,
      'transaction-type': 'other-transaction',
      'amount-type': 'other-transaction',
      'amount-description': description,
      amount: money(amount),
      'posted-date': date(s.end - 60_000, false),
      'posted-date-time': date(s.end - 60_000),
    });
  if (released) yield other(SETTLEMENT_RESERVE_RELEASED, released);
  if (held) yield other(SETTLEMENT_RESERVE_HELD, -held);
}
