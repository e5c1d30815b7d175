/**
 * bol.com Retailer API v10 order (GET /retailer/orders/{order-id}) → canonical Order
 * (docs/canonical-model.md, "Order"), and canonical Shipment → bol shipment request.
 *
 * - bol sends `unitPrice` as a JSON number in euros, the consumer price including VAT, per unit.
 *   It is read as text (model/money.ts), never multiplied as a float: a value with more decimals
 *   than the currency allows is a MappingError. lineTotal = quantity × unitPrice exactly.
 * - The canonical line quantity is the quantity ordered; shipped and cancelled quantities are in
 *   the line attributes and decide the status. Totals are the ordered value.
 * - bol gives no tax breakdown, no shipping charge and no order total in the order resource:
 *   taxesIncluded is true, taxTotal 0, shippingTotal 0, grandTotal = Σ quantity × unitPrice.
 * - Currency: EUR (bol sells in euros). The simulator's top-level `currency` extension (other
 *   currencies, for tests of the money path) is honoured when present.
 */
import { toMinor, currencyExponent } from '../model/money';
import type { Order, Shipment } from '../model/types.generated';

export class MappingError extends Error {
  override name = 'MappingError';
}

export interface MapOptions {
  /** channel.account: the bol retailer id, or the config node's name for the account. */
  account: string;
  /** Currency when the order does not say (bol: always EUR). */
  currency?: string;
  /** Where the retailer SKU comes from: the offer reference (default) or the EAN. */
  skuFrom?: 'reference' | 'ean';
  /** Offer reference (or EAN) → retailer SKU; absent means the value itself is the SKU. */
  skuMap?: Record<string, string>;
}

/** The newest latestChangedDateTime of an order's items (its state's version). */
export function latestChange(order: { orderItems?: Array<{ latestChangedDateTime?: unknown }>; orderPlacedDateTime?: unknown }): string {
  let best: string | undefined;
  let bestMs = -Infinity;
  for (const it of order.orderItems ?? []) {
    const t = typeof it.latestChangedDateTime === 'string' ? Date.parse(it.latestChangedDateTime) : NaN;
    if (!Number.isNaN(t) && t > bestMs) {
      bestMs = t;
      best = it.latestChangedDateTime as string;
    }
  }
  return best ?? String(order.orderPlacedDateTime ?? '');
}

/** Canonical status from the items' ordered, shipped and cancelled quantities. */
export function statusOf(items: Array<{ quantity: number; quantityShipped?: number; quantityCancelled?: number }>): Order['status'] {
  let ordered = 0;
  let shipped = 0;
  let cancelled = 0;
  for (const it of items) {
    ordered += it.quantity;
    shipped += it.quantityShipped ?? 0;
    cancelled += it.quantityCancelled ?? 0;
  }
  if (cancelled >= ordered) return 'cancelled';
  if (shipped > 0 && shipped + cancelled >= ordered) return 'fulfilled';
  if (shipped > 0) return 'partially_fulfilled';
  return 'paid'; // bol passes an order on once the customer has paid bol.
}

export function topicFor(order: Pick<Order, 'status'>): string {
  if (order.status === 'cancelled') return 'order.cancelled';
  if (order.status === 'fulfilled' || order.status === 'partially_fulfilled') return 'item.fulfilled';
  return 'order.accepted';
}

function amount(value: unknown, currency: string, what: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') throw new MappingError(`${what} is missing`);
  try {
    return toMinor(value, currency);
  } catch (err) {
    throw new MappingError(`${what}: ${(err as Error).message}`);
  }
}

function count(value: unknown, what: string, min: number): number {
  if (value === undefined && min === 0) return 0;
  if (!Number.isInteger(value) || (value as number) < min) throw new MappingError(`${what} must be a whole number of ${min} or more`);
  return value as number;
}

export function toCanonicalOrder(order: Record<string, any>, opts: MapOptions): Order {
  const id = order?.orderId;
  if (typeof id !== 'string' || !id) throw new MappingError('orderId is missing');
  const currency = typeof order.currency === 'string' ? order.currency : (opts.currency ?? 'EUR');
  try {
    currencyExponent(currency);
  } catch (err) {
    throw new MappingError(`order ${id}: ${(err as Error).message}`);
  }
  const items: Record<string, any>[] = Array.isArray(order.orderItems) ? order.orderItems : [];
  if (!items.length) throw new MappingError(`order ${id} has no orderItems`);
  const money = (minor: number) => ({ amount: minor, currency });
  const lines: Order['lines'] = [];
  const counts: Array<{ quantity: number; quantityShipped: number; quantityCancelled: number }> = [];
  let subtotal = 0;
  let cancellationRequested = false;
  for (const it of items) {
    const where = `order ${id} item ${it.orderItemId}`;
    if (typeof it.orderItemId !== 'string' || !it.orderItemId) throw new MappingError(`order ${id}: an item has no orderItemId`);
    const quantity = count(it.quantity, `${where} quantity`, 1);
    const quantityShipped = count(it.quantityShipped, `${where} quantityShipped`, 0);
    const quantityCancelled = count(it.quantityCancelled, `${where} quantityCancelled`, 0);
    if (quantityShipped + quantityCancelled > quantity) throw new MappingError(`${where}: shipped + cancelled exceeds the quantity ordered`);
    counts.push({ quantity, quantityShipped, quantityCancelled });
    const unit = amount(it.unitPrice, currency, `${where} unitPrice`);
    if (unit < 0) throw new MappingError(`${where}: negative unitPrice`);
    const reference: unknown = it.offer?.reference;
    const ean: unknown = it.product?.ean ?? it.ean;
    const key = (opts.skuFrom ?? 'reference') === 'ean' ? ean : reference;
    const sku = typeof key === 'string' && key ? (opts.skuMap ? opts.skuMap[key] : key) : undefined;
    if (!sku) {
      throw new MappingError(
        `${where}: no retailer SKU (${opts.skuFrom === 'ean' ? 'EAN' : 'offer reference'} ${typeof key === 'string' && key ? `${key} is not in the SKU map` : 'is empty'}; EAN ${String(ean ?? '-')})`,
      );
    }
    const lineTotal = quantity * unit;
    if (!Number.isSafeInteger(lineTotal)) throw new MappingError(`${where}: line total out of range`);
    subtotal += lineTotal;
    if (it.cancellationRequest === true) cancellationRequested = true;
    const attributes: Record<string, string> = {
      quantityShipped: String(quantityShipped),
      quantityCancelled: String(quantityCancelled),
      cancellationRequest: String(it.cancellationRequest === true),
    };
    if (typeof ean === 'string') attributes.ean = ean;
    if (typeof it.offer?.offerId === 'string') attributes.offerId = it.offer.offerId;
    if (typeof reference === 'string') attributes.offerReference = reference;
    if (typeof it.fulfilment?.method === 'string') attributes.fulfilmentMethod = it.fulfilment.method;
    if (typeof it.fulfilment?.latestDeliveryDate === 'string') attributes.latestDeliveryDate = it.fulfilment.latestDeliveryDate;
    if (it.commission !== undefined) attributes.commission = String(it.commission);
    const line: Order['lines'][number] = {
      lineId: it.orderItemId,
      sku,
      quantity,
      unitPrice: money(unit),
      lineTotal: money(lineTotal),
      channelLineId: it.orderItemId,
      attributes,
    };
    if (typeof it.product?.title === 'string' && it.product.title) line.title = it.product.title;
    lines.push(line);
  }
  if (!Number.isSafeInteger(subtotal)) throw new MappingError(`order ${id}: total out of range`);
  const status = statusOf(counts);
  const placed = order.orderPlacedDateTime;
  if (typeof placed !== 'string' || Number.isNaN(Date.parse(placed))) throw new MappingError(`order ${id}: orderPlacedDateTime is missing or not a date-time`);
  const doc: Order = {
    kind: 'order',
    id: `bol:${opts.account}:${id}`,
    channel: { system: 'bol', account: opts.account, id },
    status,
    createdAt: placed,
    updatedAt: latestChange(order),
    currency,
    lines,
    totals: {
      subtotal: money(subtotal),
      discountTotal: money(0),
      shippingTotal: money(0),
      taxTotal: money(0),
      grandTotal: money(subtotal),
    },
    taxesIncluded: true,
    attributes: {
      pickupPoint: String(order.pickupPoint === true),
      cancellationRequested: String(cancellationRequested),
    },
  };
  const buyer = order.billingDetails ?? order.shipmentDetails;
  if (buyer && typeof buyer === 'object') {
    const name = [buyer.firstName, buyer.surname].filter((x: unknown) => typeof x === 'string' && x).join(' ');
    const customer: NonNullable<Order['customer']> = {};
    if (typeof buyer.email === 'string' && buyer.email) customer.email = buyer.email;
    if (name) customer.name = name;
    if (Object.keys(customer).length) doc.customer = customer;
  }
  const ship = order.shipmentDetails;
  if (ship && typeof ship === 'object') {
    const address: NonNullable<Order['shippingAddress']> = {};
    const name = [ship.firstName, ship.surname].filter((x: unknown) => typeof x === 'string' && x).join(' ');
    if (name) address.name = name;
    const street = [ship.streetName, ship.houseNumber, ship.houseNumberExtension].filter((x: unknown) => typeof x === 'string' && x).join(' ');
    if (street) address.line1 = street;
    if (typeof ship.city === 'string') address.city = ship.city;
    if (typeof ship.zipCode === 'string') address.postalCode = ship.zipCode;
    if (typeof ship.countryCode === 'string' && /^[A-Z]{2}$/.test(ship.countryCode)) address.country = ship.countryCode;
    if (Object.keys(address).length) doc.shippingAddress = address;
  }
  if (status !== 'cancelled') doc.payments = [{ method: 'bol', amount: money(subtotal) }];
  return doc;
}

/** Carrier names as ERPs hold them → bol transporter codes (extend in the ship node's settings). */
export const TRANSPORTERS: Record<string, string> = {
  postnl: 'TNT',
  tnt: 'TNT',
  dhl: 'DHL',
  'dhl parcel': 'DHL',
  dhlforyou: 'DHLFORYOU',
  'dhl for you': 'DHLFORYOU',
  dpd: 'DPD-NL',
  'dpd-nl': 'DPD-NL',
  'dpd-be': 'DPD-BE',
  ups: 'UPS',
  gls: 'GLS',
  bpost: 'BPOST_BE',
  budbee: 'BUDBEE',
  trunkrs: 'TRUNKRS',
  other: 'OTHER',
};

/**
 * A canonical Shipment → bol's shipment request. Every line needs its bol orderItemId: the line's
 * `lineId` (as the canonical order's lineId/channelLineId carries it), else `itemIds[i]` (found on
 * the order by SKU, see `itemIdsBySku`).
 */
export function toShipmentRequest(
  doc: Shipment,
  transporters: Record<string, string> = {},
  itemIds: Array<string | undefined> = [],
): {
  orderItems: Array<{ orderItemId: string; quantity: number }>;
  shipmentReference: string;
  transport?: { transporterCode: string; trackAndTrace: string };
} {
  const orderItems = doc.lines.map((l, i) => {
    const id = l.lineId ?? itemIds[i];
    if (!id)
      throw new MappingError(
        `shipment ${doc.shipmentId} line ${i + 1} (${l.sku}) has no lineId and no open item of order ${doc.order.channel?.id ?? doc.order.id} carries that SKU: bol ships by orderItemId`,
      );
    return { orderItemId: id, quantity: l.quantity };
  });
  const req: ReturnType<typeof toShipmentRequest> = { orderItems, shipmentReference: doc.shipmentId.slice(0, 100) };
  if (doc.trackingNumber) {
    const carrier = (doc.carrier ?? 'other').trim();
    const code =
      transporters[carrier] ??
      transporters[carrier.toLowerCase()] ??
      TRANSPORTERS[carrier.toLowerCase()] ??
      (/^[A-Z0-9_-]+$/.test(carrier) ? carrier : undefined);
    if (!code) throw new MappingError(`shipment ${doc.shipmentId}: no bol transporter code for carrier "${carrier}"`);
    req.transport = { transporterCode: code, trackAndTrace: doc.trackingNumber };
  }
  return req;
}

/**
 * For shipment lines without a lineId (an ERP that kept only the SKU): the bol orderItemId of an
 * item of `order` whose offer reference or EAN is the line's SKU and that still has that many units
 * open (not shipped, not cancelled; with `includeShipped`, not cancelled: to check whether an
 * earlier attempt shipped it). Each item is used once.
 */
export function itemIdsBySku(doc: Shipment, order: Record<string, any>, opts: { includeShipped?: boolean } = {}): Array<string | undefined> {
  const used = new Set<string>();
  return doc.lines.map((l) => {
    if (l.lineId) return l.lineId;
    const item = (order.orderItems ?? []).find((it: any) => {
      const open = Number(it.quantity ?? 0) - Number(it.quantityCancelled ?? 0) - (opts.includeShipped ? 0 : Number(it.quantityShipped ?? 0));
      const ean = it.product?.ean ?? it.ean;
      return !used.has(it.orderItemId) && (it.offer?.reference === l.sku || ean === l.sku) && open >= l.quantity;
    });
    if (item) used.add(item.orderItemId);
    return item?.orderItemId;
  });
}
