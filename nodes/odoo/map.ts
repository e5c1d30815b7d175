/**
 * Canonical Sale / Order → Odoo `sale.order` values (docs/connectors/odoo.md).
 *
 * - `client_order_ref` is the idempotency key (msg.tillwire.idempotencyKey, else the business key):
 *   the connector looks it up before creating, so a redelivery finds the order instead of making a
 *   second one.
 * - Money is exact: Odoo wants floats, so minor units are formatted as decimal text and read as a
 *   number (`Number(fromMinor(…))`), never divided as floats. A line's discounts become Odoo's
 *   `discount` percentage only when Odoo's own rounding of `price_unit × (1 − discount/100) × qty`
 *   gives back the canonical line total to the minor unit; otherwise the line is sent at its net unit
 *   price (and, when the total does not divide by the quantity, split into two lines of the same
 *   product) so the Odoo total is still exact. The discount is then named in the line description.
 * - Returned items (sale lines with a negative quantity) stay in the same order as negative-quantity
 *   lines at their positive unit price, so the order total equals the till's net total; invoicing
 *   such an order credits those lines.
 * - Field names follow the configured version: `tax_id`/`product_uom` up to 18, `tax_ids`/
 *   `product_uom_id` from 19.
 * - Every SKU (and tax code, when a tax map is configured) is resolved before anything is created;
 *   any that Odoo does not know fail the message with one permanent error naming all of them.
 */
import { ConnectorError } from '../runtime/http';
import { fromMinor, toMinor } from '../model/money';
import { divideRound, divRound, formatDecimal } from '../model/decimal';
import { businessKey, validateDocument } from '../model/validate';
import type { Order, Sale, TaxLine, Discount } from '../model/types.generated';
import { OdooClient, odooError } from './client';

export interface MapOptions {
  /** Odoo major version: decides the line field names. */
  version: number;
  /** res.partner id used for till sales, and for orders whose customer is not found. */
  defaultPartnerId?: number;
  /** Canonical tax code → account.tax id. Empty: Odoo applies each product's own taxes. */
  taxMap?: Record<string, number>;
  /** Internal Reference of the service product used for shipping charges. */
  shippingSku?: string;
  /** Internal Reference of the product used for order-level discounts. */
  discountSku?: string;
  /** The company's IANA time zone: a credit note's invoice_date is a business date there. Default UTC. */
  timeZone?: string;
}

export interface ProductRef {
  id: number;
  uomId: number;
}

export interface Refs {
  partnerId: number;
  pricelistId: number | false;
  products: Map<string, ProductRef>;
}

export type SaleOrderSource = Sale | Order;

export const DEFAULT_SHIPPING_SKU = 'SHIPPING';
export const DEFAULT_DISCOUNT_SKU = 'DISCOUNT';

export function lineFieldNames(version: number): { uom: string; taxes: string } {
  return version >= 19 ? { uom: 'product_uom_id', taxes: 'tax_ids' } : { uom: 'product_uom', taxes: 'tax_id' };
}

/** The idempotency key written to `client_order_ref`. */
export function orderKey(msg: Record<string, any>, doc: Record<string, any>): string | undefined {
  const k = msg.tillwire?.idempotencyKey;
  if (typeof k === 'string' && k) return k;
  return businessKey(doc);
}

/** RFC 3339 → Odoo's naive UTC datetime text ("2025-03-14 17:42:10"). */
export function odooDatetime(timestamp: string): string {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) throw new Error(`'${timestamp}' is not a timestamp`);
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** When the sale happened: the date Odoo should show (action_confirm overwrites date_order). */
export function documentTime(doc: SaleOrderSource): string {
  return doc.kind === 'sale' ? doc.occurredAt : doc.createdAt;
}

export function originOf(doc: SaleOrderSource): string {
  if (doc.kind === 'sale') {
    const ret = doc.returnOf ? ` (returns ${doc.returnOf.storeId ? `${doc.returnOf.storeId}/` : ''}${doc.returnOf.saleId})` : '';
    return `POS ${doc.storeId}/${doc.terminalId} sale ${doc.saleId}${ret}`;
  }
  const account = doc.channel.account ? ` ${doc.channel.account}` : '';
  return `${doc.channel.system}${account} order ${doc.channelOrderNumber ?? doc.channel.id}`;
}

/** One Odoo line's amounts, in minor units: qty × unit, less `discountBp` hundredths of a percent. */
export interface LinePart {
  qty: number;
  unit: number;
  /** Discount in hundredths of a percent (2000 = 20.00 %). */
  discountBp: number;
  /** True when the discount had to be folded into the unit price. */
  netted: boolean;
}

/**
 * How to send a canonical line to Odoo so Odoo's total is exactly `total` (minor units):
 * a percentage discount when Odoo's rounding reproduces the total, else the net unit price, else
 * two lines whose unit prices differ by the remainder.
 */
export function exactLineParts(qty: number, unit: number, total: number): LinePart[] {
  const gross = qty * unit;
  if (!Number.isSafeInteger(gross)) throw new Error(`line amount ${qty} × ${unit} is beyond the exact range`);
  if (gross === total) return [{ qty, unit, discountBp: 0, netted: false }];
  const g = BigInt(Math.abs(gross));
  const t = BigInt(Math.abs(total));
  const sameSign = Math.sign(gross) === Math.sign(total) || total === 0;
  if (g > 0n && sameSign && t <= g) {
    // Nearest discount in hundredths of a percent (Odoo's default "Discount" precision is 2 decimals).
    const bp = divRound((g - t) * 10000n, g, 'half-away-from-zero');
    // Odoo computes round(unit × (1 − bp/10000) × qty): accept only when that lands on `total`
    // with a clear margin from the rounding boundary (float noise must not decide a cent).
    const diff = g * (10000n - bp) - t * 10000n;
    if ((diff < 0n ? -diff : diff) <= 4900n) return [{ qty, unit, discountBp: Number(bp), netted: false }];
  }
  if (total % qty === 0) return [{ qty, unit: total / qty, discountBp: 0, netted: true }];
  // qty1 × u1 + qty2 × u2 = total with qty1 = sign × (units − 1), qty2 = sign.
  const units = Math.abs(qty);
  const sign = Math.sign(qty);
  const signedTotal = total * sign;
  const base = divideRound(signedTotal, units, 'floor');
  const last = signedTotal - base * (units - 1);
  return [
    { qty: sign * (units - 1), unit: base, discountBp: 0, netted: true },
    { qty: sign, unit: last, discountBp: 0, netted: true },
  ];
}

function percentText(bp: number): string {
  return formatDecimal({ units: BigInt(bp), scale: 2 });
}

/** A float Odoo accepts, read from the exact decimal text (never computed in floating point). */
export function odooAmount(minor: number, currency: string): number {
  return Number(fromMinor(minor, currency));
}

function describeDiscounts(discounts: Discount[] | undefined, currency: string): string {
  if (!discounts?.length) return '';
  return discounts.map((d) => `${d.description ?? d.code ?? d.kind} −${fromMinor(Math.abs(d.amount.amount), currency)}`).join(', ');
}

interface SkuNeed {
  sku: string;
  role: 'line' | 'shipping' | 'discount';
}

/** Every SKU the document needs in Odoo (line items, plus the shipping and discount products). */
export function requiredSkus(doc: SaleOrderSource, opts: MapOptions): SkuNeed[] {
  const needs: SkuNeed[] = doc.lines.map((l) => ({ sku: l.sku, role: 'line' as const }));
  if (doc.kind === 'order') {
    if ((doc.shipping ?? []).some((s) => s.amount.amount !== 0)) needs.push({ sku: opts.shippingSku || DEFAULT_SHIPPING_SKU, role: 'shipping' });
    if ((doc.discounts ?? []).some((d) => d.amount.amount !== 0)) needs.push({ sku: opts.discountSku || DEFAULT_DISCOUNT_SKU, role: 'discount' });
  }
  const seen = new Set<string>();
  return needs.filter((n) => (seen.has(n.sku) ? false : (seen.add(n.sku), true)));
}

function taxLinesOf(doc: SaleOrderSource): TaxLine[][] {
  const lists: TaxLine[][] = doc.lines.map((l) => l.taxes ?? []);
  if (doc.kind === 'order') for (const s of doc.shipping ?? []) lists.push(s.taxes ?? []);
  return lists;
}

/** Tax codes the configured tax map does not cover (none when no map is configured). */
export function unmappedTaxCodes(doc: SaleOrderSource, taxMap: Record<string, number> | undefined): string[] {
  if (!taxMap || Object.keys(taxMap).length === 0) return [];
  const missing = new Set<string>();
  for (const list of taxLinesOf(doc)) for (const t of list) if (!(t.code in taxMap)) missing.add(t.code);
  return [...missing];
}

/** Reasons the document cannot be written to Odoo as it is (before anything is looked up). */
export function unsupported(doc: SaleOrderSource): string[] {
  const problems: string[] = [];
  if (doc.kind === 'order' && (doc.taxes ?? []).some((t) => t.amount.amount !== 0)) {
    problems.push('order-level taxes (taxes not attached to a line or a shipping charge) are not supported by the Odoo connector');
  }
  return problems;
}

/**
 * The `sale.order` values for a document whose references are resolved. Pure: no I/O.
 */
export function buildSaleOrderValues(doc: SaleOrderSource, key: string, refs: Refs, opts: MapOptions): Record<string, unknown> {
  const names = lineFieldNames(opts.version);
  const currency = doc.currency;
  const mapTaxes = !!opts.taxMap && Object.keys(opts.taxMap).length > 0;
  const lines: Array<[0, 0, Record<string, unknown>]> = [];
  const product = (sku: string) => {
    const p = refs.products.get(sku);
    if (!p) throw new Error(`SKU ${sku} was not resolved`);
    return p;
  };
  const taxValue = (taxes: TaxLine[] | undefined): Record<string, unknown> => {
    if (!mapTaxes) return {};
    const ids = [...new Set((taxes ?? []).map((t) => opts.taxMap![t.code]))];
    return { [names.taxes]: [[6, 0, ids]] };
  };
  const push = (sku: string, name: string, part: LinePart, taxes: TaxLine[] | undefined) => {
    const p = product(sku);
    lines.push([
      0,
      0,
      {
        product_id: p.id,
        name,
        product_uom_qty: part.qty,
        [names.uom]: p.uomId,
        price_unit: odooAmount(part.unit, currency),
        // Always sent: otherwise a pricelist rule could add a discount of its own.
        discount: Number(percentText(part.discountBp)),
        ...taxValue(taxes),
      },
    ]);
  };

  for (const line of doc.lines) {
    const text = ('description' in line ? line.description : undefined) ?? ('title' in line ? line.title : undefined) ?? line.sku;
    const parts = exactLineParts(line.quantity, line.unitPrice.amount, line.lineTotal.amount);
    const base = line.quantity < 0 ? `Return: ${text}` : text;
    for (const part of parts) {
      const discounts = describeDiscounts(line.discounts, currency);
      const name = part.netted && discounts ? `${base} (net of ${discounts})` : base;
      push(line.sku, name, part, line.taxes);
    }
  }
  if (doc.kind === 'order') {
    for (const s of doc.shipping ?? []) {
      if (s.amount.amount === 0) continue;
      push(
        opts.shippingSku || DEFAULT_SHIPPING_SKU,
        `Shipping: ${s.method ?? 'shipping'}`,
        { qty: 1, unit: s.amount.amount, discountBp: 0, netted: false },
        s.taxes,
      );
    }
    for (const d of doc.discounts ?? []) {
      if (d.amount.amount === 0) continue;
      const label = [d.description, d.code].filter(Boolean).join(' ') || d.kind;
      push(opts.discountSku || DEFAULT_DISCOUNT_SKU, `Discount: ${label}`, { qty: 1, unit: -d.amount.amount, discountBp: 0, netted: false }, []);
    }
  }
  return {
    partner_id: refs.partnerId,
    client_order_ref: key,
    origin: originOf(doc),
    date_order: odooDatetime(documentTime(doc)),
    ...(refs.pricelistId ? { pricelist_id: refs.pricelistId } : {}),
    order_line: lines,
  };
}

/** Checks that the payload is a canonical sale or order; a permanent error says what is wrong. */
export function asSaleOrderSource(payload: unknown): SaleOrderSource {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'sale' && kind !== 'order') {
    throw odooError(
      'sale.order',
      `the payload must be a canonical sale or order (kind 'sale' or 'order'), got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`,
      { retryable: false },
    );
  }
  const result = validateDocument(kind, payload);
  if (!result.valid) throw odooError('sale.order', `invalid ${kind}: ${result.errors.join('; ')}`, { retryable: false });
  return payload as SaleOrderSource;
}

/** Escapes `%`, `_` and `\` for Odoo's (=)like/(=)ilike operators. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface ReferenceCache {
  pricelists: Map<string, { value: number | false; at: number }>;
}

export function newReferenceCache(): ReferenceCache {
  return { pricelists: new Map() };
}

const PRICELIST_TTL_MS = 5 * 60_000;

async function resolvePricelist(client: OdooClient, currency: string, cache: ReferenceCache, now = Date.now()): Promise<number | false | string> {
  const hit = cache.pricelists.get(currency);
  if (hit && now - hit.at < PRICELIST_TTL_MS) return hit.value;
  const rows = await client.searchRead<{ id: number }>('product.pricelist', [['currency_id.name', '=', currency]], {
    fields: ['id'],
    limit: 1,
    order: 'sequence, id',
  });
  let value: number | false;
  if (rows.length) value = rows[0].id;
  else {
    const companies = await client.searchRead<{ currency_id: [number, string] | false }>('res.company', [], { fields: ['currency_id'], limit: 1, order: 'id' });
    const companyCurrency = companies[0]?.currency_id ? companies[0].currency_id[1] : undefined;
    if (companyCurrency !== currency) {
      return `Odoo has no active pricelist in ${currency} (and the company currency is ${companyCurrency ?? 'unknown'}): add one under Sales ▸ Products ▸ Pricelists`;
    }
    value = false;
  }
  cache.pricelists.set(currency, { value, at: now });
  return value;
}

async function resolvePartner(client: OdooClient, doc: SaleOrderSource, opts: MapOptions): Promise<number | undefined> {
  if (doc.kind === 'order' && doc.customer) {
    const { email, id } = doc.customer;
    if (email) {
      const rows = await client.searchRead<{ id: number }>('res.partner', [['email', '=ilike', escapeLike(email)]], { fields: ['id'], limit: 1, order: 'id' });
      if (rows.length) return rows[0].id;
    }
    if (id) {
      const rows = await client.searchRead<{ id: number }>('res.partner', [['ref', '=', id]], { fields: ['id'], limit: 1, order: 'id' });
      if (rows.length) return rows[0].id;
    }
  }
  return opts.defaultPartnerId && opts.defaultPartnerId > 0 ? opts.defaultPartnerId : undefined;
}

type ProductRow = { id: number; default_code: string; uom_id: [number, string] | false };

/** The active products carrying these Internal References, by reference (several when a SKU is shared). */
async function productsByCode(client: OdooClient, skus: string[]): Promise<Map<string, ProductRow[]>> {
  const rows = skus.length
    ? await client.searchRead<ProductRow>('product.product', [['default_code', 'in', [...new Set(skus)]]], { fields: ['id', 'default_code', 'uom_id'] })
    : [];
  const byCode = new Map<string, ProductRow[]>();
  for (const r of rows) byCode.set(r.default_code, [...(byCode.get(r.default_code) ?? []), r]);
  return byCode;
}

/**
 * The values of one document once its references are looked up: throws one permanent error naming
 * every unknown SKU, unmapped tax code or missing customer.
 */
function valuesFrom(
  doc: SaleOrderSource,
  key: string,
  opts: MapOptions,
  byCode: Map<string, ProductRow[]>,
  partnerId: number | undefined,
  pricelist: number | false | string,
): { values: Record<string, unknown>; refs: Refs } {
  const problems = unsupported(doc);
  const needs = requiredSkus(doc, opts);
  const skus = needs.map((n) => n.sku);
  const unknown = needs.filter((n) => !byCode.has(n.sku));
  const ambiguous = skus.filter((s) => (byCode.get(s)?.length ?? 0) > 1);
  if (unknown.length) {
    const label = (n: SkuNeed) => (n.role === 'line' ? n.sku : `${n.sku} (the ${n.role} product set in the Odoo connection)`);
    problems.push(`unknown SKU${unknown.length > 1 ? 's' : ''} in Odoo (no active product with that Internal Reference): ${unknown.map(label).join(', ')}`);
  }
  if (ambiguous.length) problems.push(`SKU${ambiguous.length > 1 ? 's' : ''} shared by several Odoo products: ${ambiguous.join(', ')}`);
  const taxes = unmappedTaxCodes(doc, opts.taxMap);
  if (taxes.length) problems.push(`tax code${taxes.length > 1 ? 's' : ''} missing from the tax map: ${taxes.join(', ')}`);
  if (partnerId === undefined) problems.push('no Odoo customer for this document: set a default customer (partner id) in the Odoo connection');
  if (typeof pricelist === 'string') problems.push(pricelist);
  if (problems.length) {
    throw odooError('sale.order', problems.join('; '), { retryable: false, providerCode: unknown.length ? 'unknown_sku' : 'mapping' });
  }
  const products = new Map<string, ProductRef>();
  for (const sku of skus) {
    const p = byCode.get(sku)![0];
    if (!p.uom_id) throw odooError('sale.order', `product ${sku} has no unit of measure`, { retryable: false });
    products.set(sku, { id: p.id, uomId: p.uom_id[0] });
  }
  const refs: Refs = { partnerId: partnerId!, pricelistId: pricelist as number | false, products };
  return { values: buildSaleOrderValues(doc, key, refs, opts), refs };
}

/**
 * Looks up everything the order needs in Odoo (products by Internal Reference, the customer, the
 * pricelist of the document's currency) and builds the values. Throws one permanent error naming
 * every unknown SKU, unmapped tax code or missing customer, before anything is created.
 */
export async function prepareSaleOrder(
  client: OdooClient,
  doc: SaleOrderSource,
  key: string,
  opts: MapOptions,
  cache: ReferenceCache = newReferenceCache(),
): Promise<{ values: Record<string, unknown>; refs: Refs }> {
  const [byCode, partnerId, pricelist] = await Promise.all([
    productsByCode(
      client,
      requiredSkus(doc, opts).map((n) => n.sku),
    ),
    resolvePartner(client, doc, opts),
    resolvePricelist(client, doc.currency, cache),
  ]);
  return valuesFrom(doc, key, opts, byCode, partnerId, pricelist);
}

/**
 * `prepareSaleOrder` for several till sales at once: one product lookup for all their SKUs, the
 * pricelist per currency from the cache. Each document gets its values or its own permanent error.
 */
export async function prepareSaleOrders(
  client: OdooClient,
  docs: Array<{ doc: SaleOrderSource; key: string }>,
  opts: MapOptions,
  cache: ReferenceCache = newReferenceCache(),
): Promise<Array<Record<string, unknown> | Error>> {
  const currencies = [...new Set(docs.map((d) => d.doc.currency))];
  const [byCode, partners, pricelists] = await Promise.all([
    productsByCode(
      client,
      docs.flatMap((d) => requiredSkus(d.doc, opts).map((n) => n.sku)),
    ),
    Promise.all(docs.map((d) => resolvePartner(client, d.doc, opts))),
    Promise.all(currencies.map((c) => resolvePricelist(client, c, cache))),
  ]);
  return docs.map((d, i) => {
    try {
      return valuesFrom(d.doc, d.key, opts, byCode, partners[i], pricelists[currencies.indexOf(d.doc.currency)]).values;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  });
}

export function isUnknownSkuError(err: unknown): boolean {
  return err instanceof ConnectorError && err.details.providerCode === 'unknown_sku';
}

/** Odoo floats (amount_total…) to exact minor units: by their shortest text, rounded to the currency only when Odoo left float noise. */
export function minorFromOdoo(value: number, currency: string): number {
  // Odoo rounds monetary fields half away from zero ("HALF-UP"); float noise beyond the currency's decimals goes the same way.
  return toMinor(value, currency, { rounding: 'half-away-from-zero' });
}
