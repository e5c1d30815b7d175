/**
 * Canonical ⇄ Business Central: a canonical Sale or Order becomes a `salesOrders` body with
 * deep-inserted `salesOrderLines`; a BC item becomes a canonical `inventory.position`. Money leaves
 * as JSON numbers written from the exact decimal text (`fromMinor`), never by dividing floats, and
 * comes back through `toMinor` on the number's own digits. No Node-RED imports.
 */
import { createHash } from 'node:crypto';
import { fromMinor, toMinor } from '../model/money';
import { businessDate } from '../model/business-date';
import { divideRound } from '../model/decimal';
import type { Money } from '../model/money';
import { permanent } from './client';

import { DESCRIPTION_MAX, EXTERNAL_DOCUMENT_NUMBER_MAX, ITEM_NUMBER_MAX } from './contract';
export { DESCRIPTION_MAX, EXTERNAL_DOCUMENT_NUMBER_MAX, ITEM_NUMBER_MAX };
export const HASH_PREFIX = 'TW-';
const KEY_COMMENT = 'Tillwire key: ';

/**
 * The externalDocumentNumber for an idempotency key. It is a Code field: BC stores it upper case
 * and at most 35 characters long. A key is used as it is (upper-cased) when it fits and carries no
 * lower-case letters after its kind prefix (`sale:`, `order:`… are a fixed vocabulary, so upper-casing
 * them cannot make two keys collide). Any other key becomes `TW-` + the first 32 hex digits of its
 * SHA-256 (128 bits): stable, the same on every instance, and never equal to a verbatim key (those
 * start with a kind). The full key then travels in comment lines of the order.
 */
export function externalDocumentNumber(key: string): string {
  const m = /^([a-z][a-z.]*):(.*)$/.exec(key);
  const rest = m ? m[2] : key;
  // control characters are exactly what a verbatim key must not hold
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f]/;
  const verbatim = m !== null && key.length <= EXTERNAL_DOCUMENT_NUMBER_MAX && rest === rest.toUpperCase() && rest.trim() === rest && !control.test(key);
  if (verbatim) return key.toUpperCase();
  return HASH_PREFIX + createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32).toUpperCase();
}

/** Whether the key had to be hashed (so the order carries it in comment lines). */
export function isHashed(edn: string): boolean {
  return edn.startsWith(HASH_PREFIX);
}

/** The BC item number for a SKU: upper case (Code[20]); undefined when it cannot be one. */
export function itemNumber(sku: string): string | undefined {
  const n = sku.trim().toUpperCase();
  return n.length > 0 && n.length <= ITEM_NUMBER_MAX ? n : undefined;
}

// ---- customers ------------------------------------------------------------------------------

export interface CustomerRouting {
  /** Customer number used when no rule matches. */
  defaultCustomer?: string;
  /** `store:<storeId>`, `<system>:<account>` or `<system>` → customer number. */
  rules: Map<string, string>;
}

/**
 * Parses customer rules, one per line: `store:LDN-042 = 10000`, `shopify:my-shop = 20000`,
 * `amazon = 30000`. Blank lines and lines starting with `#` are ignored.
 */
export function parseCustomerRules(text: string | undefined): Map<string, string> {
  const rules = new Map<string, string>();
  for (const [index, raw] of (text ?? '').split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf('=');
    const key = at > 0 ? line.slice(0, at).trim() : '';
    const customer = at > 0 ? line.slice(at + 1).trim() : '';
    if (!key || !customer) throw new Error(`customer rule ${index + 1} ('${line}') must look like 'store:LDN-042 = 10000'`);
    rules.set(key, customer);
  }
  return rules;
}

/** The BC customer number for a document: the most specific rule, else the default. */
export function customerFor(doc: CanonicalSalesDocument, routing: CustomerRouting): string {
  const candidates: string[] = [];
  let what: string;
  if (doc.kind === 'sale') {
    candidates.push(`store:${doc.storeId}`);
    what = `store ${doc.storeId}`;
  } else {
    const ch = doc.channel;
    if (ch.account) candidates.push(`${ch.system}:${ch.account}`);
    candidates.push(ch.system);
    what = `channel ${ch.system}${ch.account ? `:${ch.account}` : ''}`;
  }
  for (const c of candidates) {
    const hit = routing.rules.get(c);
    if (hit) return hit.toUpperCase();
  }
  if (routing.defaultCustomer?.trim()) return routing.defaultCustomer.trim().toUpperCase();
  throw permanent('map order', `no Business Central customer for ${what}: set a default customer number or a customer rule in the config node`);
}

// ---- sales orders ---------------------------------------------------------------------------

interface CanonicalLine {
  lineId: string;
  sku: string;
  description?: string;
  title?: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
  discounts?: Array<{ amount: Money }>;
}

interface Address {
  name?: string;
  line1?: string;
  line2?: string;
  city?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

export type CanonicalSalesDocument =
  | {
      kind: 'sale';
      saleId: string;
      storeId: string;
      terminalId: string;
      occurredAt: string;
      businessDate: string;
      currency: string;
      lines: CanonicalLine[];
      totals: { subtotal: Money; discountTotal: Money; taxTotal: Money; grandTotal: Money };
      taxesIncluded: boolean;
    }
  | {
      kind: 'order';
      id: string;
      status: string;
      channel: { system: string; account?: string; id: string };
      channelOrderNumber?: string;
      createdAt: string;
      currency: string;
      customer?: { id?: string; email?: string; name?: string };
      shippingAddress?: Address;
      lines: CanonicalLine[];
      shipping?: Array<{ method?: string; amount: Money }>;
      discounts?: Array<{ amount: Money }>;
      totals: { subtotal: Money; discountTotal: Money; shippingTotal: Money; taxTotal: Money; grandTotal: Money };
      taxesIncluded: boolean;
    };

export interface MapOptions {
  customerNumber: string;
  /** The company's local currency: documents in it leave currencyCode blank (BC has no Currency record for LCY). */
  localCurrency: string;
  /** G/L account for shipping charges (an Account line); needed only when a document has shipping. */
  shippingAccount?: string;
  /** IANA time zone of the company: an order's date is its creation instant's date there. Default UTC. */
  timeZone?: string;
}

export interface MappedOrder {
  externalDocumentNumber: string;
  body: Record<string, unknown>;
  /** SKU (as the document spells it) → BC item number, for every Item line. */
  items: Map<string, string>;
  /** SKUs that cannot be BC item numbers at all (longer than 20 characters): never found. */
  invalidSkus: string[];
  /** What BC's total must come to, in the document's tax basis, in minor units. */
  expected: { field: 'totalAmountIncludingTax' | 'totalAmountExcludingTax'; amount: number; currency: string; pricesIncludeTax: boolean };
}

/** The business date of a document's timestamp in the company's time zone (a permanent error when it is not a timestamp). */
export function orderDate(timestamp: string, timeZone: string): string {
  try {
    return businessDate(timestamp, timeZone);
  } catch (err) {
    throw permanent('map order', (err as Error).message);
  }
}

/** A JSON number with exactly the digits of the minor-unit amount (BC takes amounts as numbers). */
export function bcAmount(amount: number, currency: string): number {
  return Number(fromMinor(amount, currency));
}

/** A BC amount (JSON number) back in minor units, exactly; more decimals than the currency allows is an error. */
export function fromBcAmount(value: unknown, currency: string): number {
  if (typeof value !== 'number') throw permanent('read amount', `expected a number, got ${JSON.stringify(value)}`);
  return toMinor(value, currency);
}

function clip(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return t.length > max ? t.slice(0, max) : t;
}

function sum(list: Array<{ amount: Money }> | undefined): number {
  return (list ?? []).reduce((a, d) => a + d.amount.amount, 0);
}

/**
 * Maps a canonical Sale or Order to a `salesOrders` deep-insert body.
 *
 * - Item lines: `lineObjectNumber` = the SKU as a BC item number, `quantity`, `unitPrice` exact,
 *   `discountAmount` = quantity × unitPrice − lineTotal (so BC's line amount is the canonical
 *   lineTotal to the minor unit, discounts included, signed like the line for returns).
 * - Shipping charges (orders): one Account line each on the configured shipping G/L account.
 * - Order-level discounts: the header `discountAmount` (BC's invoice discount, spread over lines).
 * - Tax is BC's to compute from its own setup; the caller compares BC's total on the document's
 *   tax basis with `expected`.
 * - A key too long or too lower-case for externalDocumentNumber is hashed (see
 *   externalDocumentNumber) and carried in full in comment lines.
 */
export function toSalesOrder(doc: CanonicalSalesDocument, key: string, opts: MapOptions): MappedOrder {
  const op = 'map order';
  const currency = doc.currency;
  const edn = externalDocumentNumber(key);
  const grand = doc.totals.grandTotal.amount;
  if (grand < 0) {
    throw permanent(
      op,
      `${doc.kind} total is ${fromMinor(grand, currency)} ${currency} (a net return): returns are not sent as sales orders (BC cannot invoice a negative order); route them to a credit-memo flow`,
    );
  }

  const items = new Map<string, string>();
  const badSkus: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  for (const line of doc.lines) {
    const number = itemNumber(line.sku);
    if (!number) {
      badSkus.push(line.sku);
      continue;
    }
    items.set(line.sku, number);
    const gross = line.quantity * line.unitPrice.amount;
    if (!Number.isSafeInteger(gross)) throw permanent(op, `line ${line.lineId}: quantity × unitPrice is beyond the exact range`);
    const discount = gross - line.lineTotal.amount;
    const out: Record<string, unknown> = {
      lineType: 'Item',
      lineObjectNumber: number,
      quantity: line.quantity,
      unitPrice: bcAmount(line.unitPrice.amount, currency),
    };
    const description = clip(line.description ?? line.title, DESCRIPTION_MAX);
    if (description) out.description = description;
    if (discount !== 0) out.discountAmount = bcAmount(discount, currency);
    lines.push(out);
  }

  const body: Record<string, unknown> = {
    externalDocumentNumber: edn,
    customerNumber: opts.customerNumber,
    currencyCode: currency === opts.localCurrency ? '' : currency,
  };
  if (doc.kind === 'sale') {
    body.orderDate = doc.businessDate;
  } else {
    body.orderDate = orderDate(doc.createdAt, opts.timeZone ?? 'UTC');
    const a = doc.shippingAddress;
    if (a) {
      const ship: Record<string, string | undefined> = {
        shipToName: clip(a.name ?? doc.customer?.name, 100),
        shipToAddressLine1: clip(a.line1, 100),
        shipToAddressLine2: clip(a.line2, 50),
        shipToCity: clip(a.city, 30),
        shipToState: clip(a.region, 30),
        shipToPostCode: clip(a.postalCode, 20)?.toUpperCase(),
        shipToCountry: clip(a.country, 10),
      };
      for (const [k, v] of Object.entries(ship)) if (v) body[k] = v;
    }
    const email = clip(doc.customer?.email, 80);
    if (email) body.email = email;
    for (const charge of doc.shipping ?? []) {
      const amount = charge.amount.amount;
      if (amount === 0) continue;
      if (!opts.shippingAccount?.trim()) {
        throw permanent(
          op,
          `the order has shipping charges (${fromMinor(amount, currency)} ${currency}) but no shipping G/L account is configured: set one in the config node`,
        );
      }
      lines.push({
        lineType: 'Account',
        lineObjectNumber: opts.shippingAccount.trim().toUpperCase(),
        description: clip(charge.method ? `Shipping: ${charge.method}` : 'Shipping', DESCRIPTION_MAX),
        quantity: amount < 0 ? -1 : 1,
        unitPrice: bcAmount(Math.abs(amount), currency),
      });
    }
    const orderDiscount = sum(doc.discounts);
    if (orderDiscount !== 0) body.discountAmount = bcAmount(orderDiscount, currency);
  }
  if (isHashed(edn)) {
    for (let i = 0; i < key.length; i += DESCRIPTION_MAX - KEY_COMMENT.length) {
      lines.push({ lineType: 'Comment', description: KEY_COMMENT + key.slice(i, i + DESCRIPTION_MAX - KEY_COMMENT.length) });
    }
  }
  body.salesOrderLines = lines;

  const expected = doc.taxesIncluded
    ? { field: 'totalAmountIncludingTax' as const, amount: grand, currency, pricesIncludeTax: true }
    : { field: 'totalAmountExcludingTax' as const, amount: grand - doc.totals.taxTotal.amount, currency, pricesIncludeTax: false };
  return { externalDocumentNumber: edn, body, items, invalidSkus: [...new Set(badSkus)], expected };
}

// ---- sales credit memos ---------------------------------------------------------------------

/** One item line of a credit memo: what comes back, and the exact amount credited for it. */
export interface CreditItemLine {
  sku: string;
  /** Units credited (negative for an item bought in an exchange and netted off the credit). */
  quantity: number;
  /** Unit price in minor units; derived from `amount` when absent. */
  unitPrice?: number;
  /** The line's credited amount in minor units (signed like quantity). */
  amount: number;
  description?: string;
}

export interface CreditMemoInput {
  key: string;
  customerNumber: string;
  currency: string;
  localCurrency: string;
  /** creditMemoDate (YYYY-MM-DD). */
  date: string;
  lines: CreditItemLine[];
  /** Account lines (e.g. a shipping refund on the shipping G/L account), amount in minor units. */
  accountLines?: Array<{ account: string; amount: number; description: string }>;
  /** The posted invoice the credit memo applies to, when the original was invoiced. */
  invoiceId?: string;
  /** Free text for comment lines (e.g. which order is being returned). */
  comments?: string[];
}

export interface MappedCreditMemo {
  externalDocumentNumber: string;
  body: Record<string, unknown>;
  items: Map<string, string>;
  invalidSkus: string[];
}

/**
 * A `salesCreditMemos` deep-insert body. Each item line carries quantity, unit price and a line
 * discount chosen so that BC's line amount is exactly the credited amount (quantity × unitPrice −
 * discountAmount = amount); when no unit price is given it is the amount per unit, rounded up to
 * the minor unit, and the rounding becomes the discount. Comment lines name the original
 * document and, for a hashed key, carry the full key.
 */
export function toCreditMemo(input: CreditMemoInput): MappedCreditMemo {
  const { currency } = input;
  const edn = externalDocumentNumber(input.key);
  const items = new Map<string, string>();
  const badSkus: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  for (const line of input.lines) {
    const number = itemNumber(line.sku);
    if (!number) {
      badSkus.push(line.sku);
      continue;
    }
    items.set(line.sku, number);
    if (!Number.isInteger(line.quantity) || line.quantity === 0)
      throw permanent('map credit memo', `SKU ${line.sku}: quantity must be a non-zero whole number`);
    const q = line.quantity;
    const unit = line.unitPrice ?? divideRound(Math.abs(line.amount), Math.abs(q), 'ceiling');
    const gross = q * unit;
    if (!Number.isSafeInteger(gross)) throw permanent('map credit memo', `SKU ${line.sku}: quantity × unitPrice is beyond the exact range`);
    const discount = gross - line.amount;
    const out: Record<string, unknown> = { lineType: 'Item', lineObjectNumber: number, quantity: q, unitPrice: bcAmount(unit, currency) };
    const description = clip(line.description, DESCRIPTION_MAX);
    if (description) out.description = description;
    if (discount !== 0) out.discountAmount = bcAmount(discount, currency);
    lines.push(out);
  }
  for (const a of input.accountLines ?? []) {
    if (a.amount === 0) continue;
    lines.push({
      lineType: 'Account',
      lineObjectNumber: a.account.trim().toUpperCase(),
      description: clip(a.description, DESCRIPTION_MAX),
      quantity: a.amount < 0 ? -1 : 1,
      unitPrice: bcAmount(Math.abs(a.amount), currency),
    });
  }
  for (const c of input.comments ?? []) lines.push({ lineType: 'Comment', description: clip(c, DESCRIPTION_MAX) });
  if (isHashed(edn)) {
    for (let i = 0; i < input.key.length; i += DESCRIPTION_MAX - KEY_COMMENT.length) {
      lines.push({ lineType: 'Comment', description: KEY_COMMENT + input.key.slice(i, i + DESCRIPTION_MAX - KEY_COMMENT.length) });
    }
  }
  const body: Record<string, unknown> = {
    externalDocumentNumber: edn,
    customerNumber: input.customerNumber,
    currencyCode: currency === input.localCurrency ? '' : currency,
    creditMemoDate: input.date,
  };
  if (input.invoiceId) body.invoiceId = input.invoiceId;
  body.salesCreditMemoLines = lines;
  return { externalDocumentNumber: edn, body, items, invalidSkus: [...new Set(badSkus)] };
}

/** The full idempotency key carried in a hashed order's comment lines, if any. */
export function keyFromComments(lines: Array<{ lineType?: unknown; description?: unknown }> | undefined): string | undefined {
  const parts = (lines ?? []).filter((l) => l.lineType === 'Comment' && typeof l.description === 'string' && l.description.startsWith(KEY_COMMENT));
  return parts.length ? parts.map((l) => String(l.description).slice(KEY_COMMENT.length)).join('') : undefined;
}

// ---- inventory ------------------------------------------------------------------------------

export interface InventoryPositionDoc {
  kind: 'inventory.position';
  sku: string;
  locationId: string;
  onHand: number;
  reserved: number;
  inTransit: number;
  safetyStock: number;
  asOf: string;
  attributes: Record<string, string>;
}

/**
 * A BC item's `inventory` (company-wide, all locations; read-only in the API) as a canonical
 * position. BC quantities are decimals; a fractional stock figure cannot be a canonical
 * integer quantity and is an error rather than a silent rounding.
 */
export function toInventoryPosition(
  sku: string,
  item: { id: string; number: string; inventory?: unknown },
  opts: { locationId: string; asOf: string },
): InventoryPositionDoc {
  const onHand = item.inventory;
  if (typeof onHand !== 'number' || !Number.isInteger(onHand)) {
    throw permanent('read inventory', `item ${item.number} has inventory ${JSON.stringify(onHand)}, not a whole number of units`);
  }
  return {
    kind: 'inventory.position',
    sku,
    locationId: opts.locationId,
    onHand,
    reserved: 0,
    inTransit: 0,
    safetyStock: 0,
    asOf: opts.asOf,
    attributes: { bcItemId: String(item.id), bcItemNumber: String(item.number) },
  };
}
