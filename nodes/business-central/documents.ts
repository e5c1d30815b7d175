/**
 * What the Business Central order and credit-memo writes share: the connector's settings, the
 * check that every item exists before anything is created, the create-once adapter (BC has no
 * idempotency key: the key goes in `externalDocumentNumber`, looked up before any create is sent
 * again), and the comparison of BC's totals with the canonical document's. No Node-RED imports.
 */
import { createOnce } from '../runtime/create-once';
import { validateDocument } from '../model/validate';
import { fromMinor } from '../model/money';
import { BcItem, BcSalesDocument, BusinessCentralClient, outcomeUnknown, permanent, SYSTEM } from './client';
import type { ConnectorError } from '../runtime/http';
import { CanonicalSalesDocument, CustomerRouting, fromBcAmount, ITEM_NUMBER_MAX } from './map';

export interface OrderSettings {
  routing: CustomerRouting;
  shippingAccount?: string;
  /** The company's local currency; read from BC's companyInformation when not set. */
  localCurrency?: string;
  /** The company's IANA time zone: order and credit-memo dates are business dates there. Default UTC. */
  timeZone?: string;
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

/** Checks the payload is a valid canonical sale or order; a permanent error otherwise. */
export function asSalesDocument(payload: unknown): CanonicalSalesDocument {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'sale' && kind !== 'order') {
    throw permanent(
      'map order',
      `msg.payload must be a canonical sale or order (kind 'sale' or 'order'), got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`,
    );
  }
  const result = validateDocument(kind, payload);
  if (!result.valid) throw permanent('map order', `invalid ${kind}: ${result.errors.join('; ')}`);
  return payload as CanonicalSalesDocument;
}

export function expectedTotal(doc: CanonicalSalesDocument): { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean } {
  return doc.taxesIncluded
    ? { field: 'totalAmountIncludingTax', amount: doc.totals.grandTotal.amount, pricesIncludeTax: true }
    : { field: 'totalAmountExcludingTax', amount: doc.totals.grandTotal.amount - doc.totals.taxTotal.amount, pricesIncludeTax: false };
}

export function pick(
  found: Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>,
): BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' } {
  // The oldest (lowest number) is the one every earlier run reported.
  return [...found].sort((a, b) => String(a.number).localeCompare(String(b.number), 'en', { numeric: true }))[0];
}

function list(values: string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

/**
 * Creates a BC document exactly once (runtime/create-once.ts): the caller has just looked the
 * externalDocumentNumber up, so `find` runs before every attempt after the first; a create whose
 * outcome is unknown (lost answer, timeout, 5xx) is never re-sent before `find` has shown it did
 * not commit. 429/503 were already waited out by the client.
 */
export async function createInBc<T>(
  client: BusinessCentralClient,
  operation: string,
  find: () => Promise<T[]>,
  create: () => Promise<T>,
): Promise<{ doc: T; recovered?: boolean; found?: T[] }> {
  const out = await createOnce<T[], undefined, T>({
    lookup: async () => {
      const found = await find();
      return found.length ? found : undefined;
    },
    lookupFirst: false,
    create,
    outcomeUnknown,
    pause: { system: SYSTEM, operation, policy: client.policy, random: client.options.random, sleep: (ms) => client.sleep(ms) },
  });
  return 'found' in out ? { doc: out.found[0], recovered: true, found: out.found } : { doc: out.created };
}

/** Every item must exist (and not be blocked) before anything is created: never a half document. */
export async function checkItems(
  client: BusinessCentralClient,
  operation: string,
  items: Map<string, string>,
  invalidSkus: string[],
  document: string,
): Promise<void> {
  const problem = itemProblem(await client.findItems([...items.values()]), operation, items, invalidSkus, document);
  if (problem) throw problem;
}

/** What is wrong with a document's items, given the BC items found (`checkItems` for many documents at once). */
export function itemProblem(
  found: Map<string, BcItem>,
  operation: string,
  items: Map<string, string>,
  invalidSkus: string[],
  document: string,
): ConnectorError | undefined {
  const unknown = [...items].filter(([, n]) => !found.has(n)).map(([sku]) => sku);
  const all = [...invalidSkus, ...unknown];
  if (all.length) {
    const tooLong = invalidSkus.length
      ? ` (${list(invalidSkus)} ${invalidSkus.length > 1 ? 'are' : 'is'} longer than ${ITEM_NUMBER_MAX} characters, so cannot be a BC item number)`
      : '';
    return permanent(
      operation,
      `unknown SKU${all.length > 1 ? 's' : ''} ${list(all)}: no such item in Business Central${tooLong}; nothing was created (add the item${all.length > 1 ? 's' : ''} in BC or fix the SKU mapping, then replay)`,
      { providerCode: 'UnknownSku' },
    );
  }
  const blocked = [...items].filter(([, n]) => found.get(n)?.blocked === true).map(([sku]) => sku);
  if (blocked.length) {
    return permanent(
      operation,
      `item${blocked.length > 1 ? 's' : ''} ${list(blocked)} ${blocked.length > 1 ? 'are' : 'is'} blocked in Business Central; nothing was created${document ? ` (no ${document})` : ''}`,
      {
        providerCode: 'BlockedItem',
      },
    );
  }
  return undefined;
}

export type FoundDocument = BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' };

export function totalsOfBasis(
  currency: string,
  exp: { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean },
  bc: BcSalesDocument,
): OrderTotals {
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
