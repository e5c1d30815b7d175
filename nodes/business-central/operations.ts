/**
 * What the Business Central node does, as plain functions over the client and the mappings:
 *
 * - `sendOrder`: the idempotent create of a sales order for a canonical Sale or Order. BC has no
 *   idempotency key, so the idempotency key is written to `externalDocumentNumber` and every
 *   attempt is preceded by `$filter=externalDocumentNumber eq '…'` (open orders, then posted
 *   invoices). A POST whose answer is lost or late is never re-sent blindly: the filter runs first,
 *   and finds the order if the first POST committed. Unknown or blocked items are found before
 *   anything is created, so there is never a half order.
 * - `readInventory`: BC items' read-only `inventory` as canonical `inventory.position` documents.
 *
 * No Node-RED imports.
 */
import { backoffMs } from '../runtime/http';
import { validateDocument } from '../model/validate';
import { fromMinor } from '../model/money';
import { BcSalesDocument, BusinessCentralClient, outcomeUnknown, permanent, SYSTEM } from './client';
import {
  CanonicalSalesDocument,
  customerFor,
  CustomerRouting,
  externalDocumentNumber,
  fromBcAmount,
  InventoryPositionDoc,
  ITEM_NUMBER_MAX,
  itemNumber,
  toInventoryPosition,
  toSalesOrder,
} from './map';

export interface OrderSettings {
  routing: CustomerRouting;
  shippingAccount?: string;
  /** The company's local currency; read from BC's companyInformation when not set. */
  localCurrency?: string;
}

export interface OrderTotals {
  field: 'totalAmountIncludingTax' | 'totalAmountExcludingTax';
  currency: string;
  /** Decimal text, e.g. "69.97". */
  expected: string;
  actual?: string;
  matches: boolean;
  /** BC quoted the order on the other tax basis than the document (customer's "Prices Including VAT"). */
  taxBasisMismatch?: boolean;
}

export interface OrderResult {
  system: typeof SYSTEM;
  document: 'salesOrder' | 'salesInvoice';
  /** The BC id and number (absent only when skipped). */
  id?: string;
  number?: string;
  created: boolean;
  /** Set when nothing was sent: a cancelled order that never reached BC. */
  skipped?: 'cancelled';
  externalDocumentNumber: string;
  customerNumber?: string;
  /** A create whose answer was lost, found afterwards by its externalDocumentNumber. */
  recovered?: boolean;
  /** More than one BC document carries this externalDocumentNumber (made outside this connector). */
  duplicates?: number;
  totals?: OrderTotals;
}

/** Serialises work per key inside one process (three copies of a sale arriving together). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get size(): number {
    return this.tails.size;
  }
}

/** Checks the payload is a valid canonical sale or order; a permanent error otherwise. */
export function asSalesDocument(payload: unknown): CanonicalSalesDocument {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'sale' && kind !== 'order') {
    throw permanent('map order', `msg.payload must be a canonical sale or order (kind 'sale' or 'order'), got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`);
  }
  const result = validateDocument(kind, payload);
  if (!result.valid) throw permanent('map order', `invalid ${kind}: ${result.errors.join('; ')}`);
  return payload as CanonicalSalesDocument;
}

function expectedTotal(doc: CanonicalSalesDocument): { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean } {
  return doc.taxesIncluded
    ? { field: 'totalAmountIncludingTax', amount: doc.totals.grandTotal.amount, pricesIncludeTax: true }
    : { field: 'totalAmountExcludingTax', amount: doc.totals.grandTotal.amount - doc.totals.taxTotal.amount, pricesIncludeTax: false };
}

function totalsOf(doc: CanonicalSalesDocument, bc: BcSalesDocument): OrderTotals {
  const exp = expectedTotal(doc);
  const currency = doc.currency;
  const totals: OrderTotals = { field: exp.field, currency, expected: fromMinor(exp.amount, currency), matches: false };
  try {
    const actual = fromBcAmount(bc[exp.field], currency);
    totals.actual = fromMinor(actual, currency);
    totals.matches = actual === exp.amount;
  } catch {
    totals.actual = bc[exp.field] === undefined ? undefined : String(bc[exp.field]);
  }
  if (typeof bc.pricesIncludeTax === 'boolean' && bc.pricesIncludeTax !== exp.pricesIncludeTax) {
    totals.taxBasisMismatch = true;
    totals.matches = false;
  }
  return totals;
}

function resultOf(
  doc: CanonicalSalesDocument,
  found: BcSalesDocument & { document?: 'salesOrder' | 'salesInvoice' },
  edn: string,
  extra: Partial<OrderResult>,
): OrderResult {
  return {
    system: SYSTEM,
    document: found.document ?? 'salesOrder',
    id: String(found.id),
    number: String(found.number),
    created: false,
    externalDocumentNumber: edn,
    customerNumber: found.customerNumber,
    totals: totalsOf(doc, found),
    ...extra,
  };
}

function pick(found: Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>): BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' } {
  // The oldest (lowest number) is the one every earlier run reported.
  return [...found].sort((a, b) => String(a.number).localeCompare(String(b.number), 'en', { numeric: true }))[0];
}

function list(values: string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

/**
 * Creates the BC sales order for a canonical Sale or Order exactly once per idempotency key
 * (see the module comment). `locks` serialises concurrent calls for one key in this process;
 * across processes, put a dedupe node in front (its store claim decides races).
 */
export async function sendOrder(
  client: BusinessCentralClient,
  payload: unknown,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock = new KeyedLock(),
): Promise<OrderResult> {
  const doc = asSalesDocument(payload);
  if (!key) throw permanent('map order', 'the message has no idempotency key (msg.tillwire.idempotencyKey)');
  const edn = externalDocumentNumber(key);
  return locks.run(edn, async () => {
    const existing = await client.findSalesDocuments(edn);
    const cancelled = doc.kind === 'order' && doc.status === 'cancelled';
    if (existing.length) {
      const first = pick(existing);
      if (cancelled) {
        throw permanent(
          'create sales order',
          `the order was cancelled in the channel, but Business Central ${first.document === 'salesInvoice' ? 'posted invoice' : 'sales order'} ${first.number} exists for it: cancel it in BC (cancellations are not sent automatically yet)`,
          { providerCode: 'CancelledInChannel' },
        );
      }
      return resultOf(doc, first, edn, { created: false, duplicates: existing.length > 1 ? existing.length : undefined });
    }
    if (cancelled) {
      // Nothing to do: a cancelled order that never reached BC is not created.
      return { system: SYSTEM, document: 'salesOrder', created: false, skipped: 'cancelled', externalDocumentNumber: edn };
    }

    const customerNumber = customerFor(doc, settings.routing);
    const localCurrency = settings.localCurrency?.trim().toUpperCase() || (await client.localCurrency());
    const mapped = toSalesOrder(doc, key, { customerNumber, localCurrency, shippingAccount: settings.shippingAccount });

    // Every item must exist (and not be blocked) before anything is created: never a half order.
    const found = await client.findItems([...mapped.items.values()]);
    const unknown = [...mapped.items].filter(([, n]) => !found.has(n)).map(([sku]) => sku);
    const all = [...mapped.invalidSkus, ...unknown];
    if (all.length) {
      const tooLong = mapped.invalidSkus.length ? ` (${list(mapped.invalidSkus)} ${mapped.invalidSkus.length > 1 ? 'are' : 'is'} longer than ${ITEM_NUMBER_MAX} characters, so cannot be a BC item number)` : '';
      throw permanent(
        'create sales order',
        `unknown SKU${all.length > 1 ? 's' : ''} ${list(all)}: no such item in Business Central${tooLong}; nothing was created (add the item${all.length > 1 ? 's' : ''} in BC or fix the SKU mapping, then replay)`,
        { providerCode: 'UnknownSku' },
      );
    }
    const blocked = [...mapped.items].filter(([, n]) => found.get(n)?.blocked === true).map(([sku]) => sku);
    if (blocked.length) {
      throw permanent('create sales order', `item${blocked.length > 1 ? 's' : ''} ${list(blocked)} ${blocked.length > 1 ? 'are' : 'is'} blocked in Business Central; nothing was created`, {
        providerCode: 'BlockedItem',
      });
    }

    const policy = client.policy;
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await client.createSalesOrder(mapped.body);
        return resultOf(doc, { ...created, document: 'salesOrder' }, edn, { created: true });
      } catch (err) {
        // 429/503 were already waited out and retried by the client; what is left is either final,
        // or an answer that leaves the outcome unknown (a lost response, a timeout, a 5xx): the
        // order may exist. Wait, look for it, and only create it again if it is really not there.
        if (!outcomeUnknown(err) || attempt >= policy.maxAttempts) throw err;
        const waitMs = backoffMs(attempt, policy, client.options.random);
        client.notifyRetry({ operation: 'create sales order', attempt, waitMs, reason: (err as Error).message });
        await client.sleep(waitMs);
        const after = await client.findSalesDocuments(edn);
        if (after.length) {
          return resultOf(doc, pick(after), edn, { created: true, recovered: true, duplicates: after.length > 1 ? after.length : undefined });
        }
      }
    }
  });
}

export interface InventoryResult {
  positions: InventoryPositionDoc[];
  /** SKUs with no BC item (or that cannot be BC item numbers). */
  unknown: string[];
  /** Items whose stock could not be expressed canonically (fractional quantities). */
  problems: string[];
}

/** SKUs from msg.payload: a SKU, an array of SKUs, or `{ skus: [...] }` / `{ sku }`. */
export function skusFrom(payload: unknown): string[] {
  let list: unknown;
  if (typeof payload === 'string') list = [payload];
  else if (Array.isArray(payload)) list = payload;
  else if (payload && typeof payload === 'object') list = (payload as any).skus ?? ((payload as any).sku !== undefined ? [(payload as any).sku] : undefined);
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw permanent('read inventory', "msg.payload must be a SKU, an array of SKUs, or { skus: [...] }");
  }
  return [...new Set(list as string[])];
}

/** Reads items' `inventory` (fresh, never cached) as canonical positions, one per SKU found. */
export async function readInventory(
  client: BusinessCentralClient,
  skus: readonly string[],
  opts: { locationId: string; now?: () => Date },
): Promise<InventoryResult> {
  const numbers = new Map<string, string>();
  const unknown: string[] = [];
  for (const sku of skus) {
    const n = itemNumber(sku);
    if (n) numbers.set(sku, n);
    else unknown.push(sku);
  }
  const found = await client.findItems([...numbers.values()], { fresh: true });
  const asOf = (opts.now?.() ?? new Date()).toISOString();
  const positions: InventoryPositionDoc[] = [];
  const problems: string[] = [];
  for (const [sku, n] of numbers) {
    const item = found.get(n);
    if (!item) {
      unknown.push(sku);
      continue;
    }
    try {
      positions.push(toInventoryPosition(sku, item, { locationId: opts.locationId, asOf }));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { positions, unknown, problems };
}
