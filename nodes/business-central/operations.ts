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
import { createOnce } from '../runtime/create-once';
import { validateDocument, channelOfOrderKey } from '../model/validate';
import { fromMinor } from '../model/money';
import type { Money } from '../model/money';
import { ConnectorError } from '../runtime/http';
import { reportCall } from '../runtime/call-observer';
import { KeyedLock } from '../runtime/keyed-lock';
import { ErpOrderState, orderAction, OrderAction, OrderStatus, returnAction, ReturnAction, ReturnStatus } from '../runtime/order-lifecycle';
import { BcCreditMemo, BcEntity, BcSalesDocument, BusinessCentralClient, outcomeUnknown, permanent, SYSTEM } from './client';
import {
  CanonicalSalesDocument,
  CreditItemLine,
  CreditMemoInput,
  customerFor,
  CustomerRouting,
  externalDocumentNumber,
  fromBcAmount,
  InventoryPositionDoc,
  isHashed,
  ITEM_NUMBER_MAX,
  keyFromComments,
  itemNumber,
  toCreditMemo,
  orderDate,
  toInventoryPosition,
  toSalesOrder,
} from './map';

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

export interface OrderResult {
  system: typeof SYSTEM;
  document: 'salesOrder' | 'salesInvoice';
  /** The BC id and number (absent only when skipped). */
  id?: string;
  number?: string;
  created: boolean;
  /** Set when nothing was sent to BC: a cancelled order that never reached it. */
  skipped?: 'cancelled';
  /** What the shared order lifecycle decided (orders only). */
  action?: OrderAction;
  /** The order's status in the channel, as this event told it (orders only). */
  channelStatus?: string;
  /** The order is cancelled: deleted from BC now, or never created. */
  cancelled?: boolean;
  /** The event is older news than a cancel already applied: nothing was written. */
  stale?: boolean;
  /** Numbers of the BC sales orders deleted by this cancel. */
  deleted?: string[];
  /** Whether a tombstone guards the cancel (false: no store configured, see the docs). */
  tombstone?: boolean;
  /** This event wrote the tombstone (it was not there before). */
  tombstoneWritten?: boolean;
  externalDocumentNumber: string;
  customerNumber?: string;
  /** A create whose answer was lost, found afterwards by its externalDocumentNumber. */
  recovered?: boolean;
  /** More than one BC document carries this externalDocumentNumber (made outside this connector). */
  duplicates?: number;
  totals?: OrderTotals;
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
  return totalsOfBasis(doc.currency, expectedTotal(doc), bc);
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
 * Where cancelled orders leave their tombstone. BC's API v2.0 has no cancelled state for a sales
 * order: cancelling an open order deletes it, which leaves no trace, so the connector keeps one
 * in the Tillwire store (`bc:cancelled:<externalDocumentNumber>`) and a late, stale `create` finds
 * it instead of bringing the order back.
 */
export interface Tombstone {
  key: string;
  cancelledAt: string;
  /** The BC order that was deleted, when there was one. */
  number?: string;
  id?: string;
}

export interface TombstoneStore {
  get(edn: string): Promise<Tombstone | undefined>;
  /** Writes the tombstone unless one is there (compare-and-set); false if one already was. */
  put(edn: string, tombstone: Tombstone): Promise<boolean>;
  /** Withdraws a tombstone whose cancel turned out impossible (the order was posted meanwhile). */
  withdraw(edn: string, tombstone: Tombstone): Promise<void>;
}

export const TOMBSTONE_PREFIX = 'bc:cancelled:';

/** Tombstones in a Tillwire store's small durable values (kvGet / kvPut with compare-and-set). */
export function kvTombstones(kv: { kvGet(key: string): Promise<unknown>; kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean> }): TombstoneStore {
  const k = (edn: string) => TOMBSTONE_PREFIX + edn;
  return {
    async get(edn) {
      const v = await kv.kvGet(k(edn));
      return v && typeof v === 'object' ? (v as Tombstone) : undefined;
    },
    async put(edn, tombstone) {
      const current = await kv.kvGet(k(edn));
      if (current === undefined) return kv.kvPut(k(edn), tombstone, undefined);
      if (current === null) return kv.kvPut(k(edn), tombstone, null);
      return false;
    },
    async withdraw(edn, tombstone) {
      await kv.kvPut(k(edn), null, tombstone);
    },
  };
}

export interface LifecycleOptions {
  /** Where cancels leave tombstones; without one, a stale create after a cancel creates the order again. */
  tombstones?: TombstoneStore;
  now?: () => Date;
}

function isConflict(err: unknown): boolean {
  return err instanceof ConnectorError && (err.status === 412 || (err.status === 409 && (err.details.providerCode ?? 'Request_EntityChanged') === 'Request_EntityChanged'));
}

function notFoundError(err: unknown): boolean {
  return err instanceof ConnectorError && err.status === 404;
}

/**
 * Creates a BC document exactly once (runtime/create-once.ts): the caller has just looked the
 * externalDocumentNumber up, so `find` runs before every attempt after the first; a create whose
 * outcome is unknown (lost answer, timeout, 5xx) is never re-sent before `find` has shown it did
 * not commit. 429/503 were already waited out by the client.
 */
async function createInBc<T>(
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
async function checkItems(client: BusinessCentralClient, operation: string, items: Map<string, string>, invalidSkus: string[], document: string): Promise<void> {
  const found = await client.findItems([...items.values()]);
  const unknown = [...items].filter(([, n]) => !found.has(n)).map(([sku]) => sku);
  const all = [...invalidSkus, ...unknown];
  if (all.length) {
    const tooLong = invalidSkus.length ? ` (${list(invalidSkus)} ${invalidSkus.length > 1 ? 'are' : 'is'} longer than ${ITEM_NUMBER_MAX} characters, so cannot be a BC item number)` : '';
    throw permanent(
      operation,
      `unknown SKU${all.length > 1 ? 's' : ''} ${list(all)}: no such item in Business Central${tooLong}; nothing was created (add the item${all.length > 1 ? 's' : ''} in BC or fix the SKU mapping, then replay)`,
      { providerCode: 'UnknownSku' },
    );
  }
  const blocked = [...items].filter(([, n]) => found.get(n)?.blocked === true).map(([sku]) => sku);
  if (blocked.length) {
    throw permanent(operation, `item${blocked.length > 1 ? 's' : ''} ${list(blocked)} ${blocked.length > 1 ? 'are' : 'is'} blocked in Business Central; nothing was created${document ? ` (no ${document})` : ''}`, {
      providerCode: 'BlockedItem',
    });
  }
}

/**
 * Sends a canonical Sale or Order to BC exactly once per idempotency key (see the module comment).
 *
 * - A sale whose total is negative (a net return at the till) becomes a sales credit memo
 *   (`sendCreditForSale`).
 * - An order follows the shared lifecycle (runtime/order-lifecycle.ts `orderAction`): the first
 *   event seen creates it whatever its status; a later event finds it (`exists`, created: false,
 *   with `channelStatus`); `cancelled` deletes the open order (BC has no cancelled state) and
 *   leaves a tombstone in `opts.tombstones`; a cancel that arrives first leaves only the tombstone;
 *   any event after the tombstone is stale (a no-op). An order already invoiced or shipped cannot
 *   be cancelled: a permanent error naming it.
 *
 * `locks` serialises concurrent calls for one key in this process; across processes, put a dedupe
 * node in front (its store claim decides races).
 */
export async function sendOrder(
  client: BusinessCentralClient,
  payload: unknown,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock = new KeyedLock(),
  opts: LifecycleOptions = {},
): Promise<OrderResult | CreditResult> {
  const doc = asSalesDocument(payload);
  if (!key) throw permanent('map order', 'the message has no idempotency key (msg.tillwire.idempotencyKey)');
  if (doc.kind === 'sale' && doc.totals.grandTotal.amount < 0) return sendCreditForSale(client, doc, key, settings, locks, opts);
  const edn = externalDocumentNumber(key);
  return locks.run(edn, async (): Promise<OrderResult> => {
    const existing = await client.findSalesDocuments(edn);
    if (doc.kind === 'sale') {
      if (existing.length) return resultOf(doc, pick(existing), edn, { created: false, duplicates: existing.length > 1 ? existing.length : undefined });
      return createSalesOrder(client, doc, key, edn, settings);
    }

    const tombstone = opts.tombstones ? await opts.tombstones.get(edn) : undefined;
    const open = existing.filter((d) => d.document === 'salesOrder');
    if (tombstone && existing.length) {
      // A cancel that wrote its tombstone but did not get to delete the order (a crash, or a
      // create racing it from another instance): finish it, whatever this event says.
      if (open.length) return cancelOrder(client, doc, key, edn, open, existing, opts, tombstone);
      throw permanent('cancel sales order', `order ${key} was cancelled in the channel, but Business Central posted invoice ${pick(existing).number} exists for it: reverse it in BC with a credit memo`, {
        providerCode: 'CancelledButPosted',
      });
    }
    const state: ErpOrderState = tombstone ? 'cancelled' : existing.length ? 'open' : 'absent';
    const action = orderAction(state, doc.status as OrderStatus);
    const base = { action, channelStatus: doc.status };
    switch (action) {
      case 'exists':
        return { ...resultOf(doc, pick(existing), edn, { created: false, duplicates: existing.length > 1 ? existing.length : undefined }), ...base };
      case 'already-cancelled':
        return { system: SYSTEM, document: 'salesOrder', id: tombstone?.id, number: tombstone?.number, created: false, cancelled: true, stale: true, tombstone: true, externalDocumentNumber: edn, ...base };
      case 'create-cancelled': {
        let written = false;
        if (opts.tombstones) written = await opts.tombstones.put(edn, { key, cancelledAt: now(opts) });
        return { system: SYSTEM, document: 'salesOrder', created: false, cancelled: true, skipped: 'cancelled', tombstone: opts.tombstones ? true : false, tombstoneWritten: written || undefined, externalDocumentNumber: edn, ...base };
      }
      case 'cancel':
        return cancelOrder(client, doc, key, edn, open, existing, opts);
      case 'create': {
        const created = await createSalesOrder(client, doc, key, edn, settings);
        // A cancel from another instance may have left its tombstone while this create ran: the
        // cancel wins (cancellation is terminal).
        const late = opts.tombstones ? await opts.tombstones.get(edn) : undefined;
        if (late) {
          const now2 = await client.findSalesDocuments(edn);
          const open2 = now2.filter((d) => d.document === 'salesOrder');
          if (open2.length) return { ...(await cancelOrder(client, doc, key, edn, open2, now2, opts, late)), created: created.created };
        }
        return { ...created, ...base };
      }
    }
  });
}

function now(opts: LifecycleOptions): string {
  return (opts.now?.() ?? new Date()).toISOString();
}

async function createSalesOrder(client: BusinessCentralClient, doc: CanonicalSalesDocument, key: string, edn: string, settings: OrderSettings): Promise<OrderResult> {
  const customerNumber = customerFor(doc, settings.routing);
  const localCurrency = settings.localCurrency?.trim().toUpperCase() || (await client.localCurrency());
  const mapped = toSalesOrder(doc, key, { customerNumber, localCurrency, shippingAccount: settings.shippingAccount, timeZone: settings.timeZone ?? 'UTC' });
  await checkItems(client, 'create sales order', mapped.items, mapped.invalidSkus, '');
  const out = await createInBc(
    client,
    'create sales order',
    () => client.findSalesDocuments(edn),
    () => client.createSalesOrder(mapped.body),
  );
  if (out.recovered) {
    const found = out.found as Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>;
    return resultOf(doc, pick(found), edn, { created: true, recovered: true, duplicates: found.length > 1 ? found.length : undefined });
  }
  return resultOf(doc, { ...(out.doc as BcSalesDocument), document: 'salesOrder' }, edn, { created: true });
}

/**
 * Cancels an open BC sales order: refuses one that is invoiced (a posted invoice carries the
 * number) or has shipped lines; writes the tombstone first (so a crash between the two still
 * ends cancelled at the next event), then DELETEs the order with its etag. A stale etag is
 * re-read once; a 404 means it is already gone (a retried DELETE whose first answer was lost).
 */
async function cancelOrder(
  client: BusinessCentralClient,
  doc: CanonicalSalesDocument,
  key: string,
  edn: string,
  open: Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>,
  existing: Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>,
  opts: LifecycleOptions,
  tombstone?: Tombstone,
): Promise<OrderResult> {
  const op = 'cancel sales order';
  const invoiced = existing.find((d) => d.document === 'salesInvoice');
  if (invoiced || !open.length) {
    const d = invoiced ?? pick(existing);
    throw permanent(op, `order ${key} was cancelled in the channel, but Business Central ${d.document === 'salesInvoice' ? `posted invoice ${d.number}` : `sales order ${d.number}`} exists for it and is already invoiced: it cannot be cancelled by deleting it (reverse it in BC with a credit memo)`, {
      providerCode: 'AlreadyPosted',
    });
  }
  let order = pick(open);
  const shippedCheck = async (o: BcSalesDocument) => {
    const lines = await client.salesOrderLines(String(o.id));
    const shipped = lines.filter((l) => Number(l.shippedQuantity ?? 0) > 0);
    if (shipped.length || o.fullyShipped === true) {
      // Shipped after a tombstone was written (a race, or an interrupted cancel): the cancel did
      // not happen, so the tombstone must not claim it did.
      const stale = opts.tombstones ? await opts.tombstones.get(edn) : undefined;
      if (stale && opts.tombstones) await opts.tombstones.withdraw(edn, stale);
      throw permanent(op, `order ${key} was cancelled in the channel, but Business Central sales order ${o.number} is already shipped (${shipped.map((l) => `${String(l.lineObjectNumber)} × ${String(l.shippedQuantity)}`).join(', ') || 'fully shipped'}): it cannot be cancelled (post a sales return in BC)`, {
        providerCode: 'AlreadyShipped',
      });
    }
  };
  await shippedCheck(order);
  const stone: Tombstone = tombstone ?? { key, cancelledAt: now(opts), number: String(order.number), id: String(order.id) };
  if (opts.tombstones && !tombstone) await opts.tombstones.put(edn, stone);
  const deleted: string[] = [];
  for (const o of open) {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.deleteSalesOrder(String(o.id), o['@odata.etag']);
        deleted.push(String(o.number));
        break;
      } catch (err) {
        if (notFoundError(err)) {
          // Gone already (our earlier DELETE committed, its answer was lost) — or posted meanwhile.
          const again = await client.findSalesDocuments(edn);
          const posted = again.find((d) => d.document === 'salesInvoice');
          if (posted) {
            if (opts.tombstones) await opts.tombstones.withdraw(edn, (await opts.tombstones.get(edn)) ?? stone);
            throw permanent(op, `order ${key}: Business Central sales order ${o.number} was invoiced (posted invoice ${posted.number}) while it was being cancelled; reverse it in BC with a credit memo`, { providerCode: 'AlreadyPosted' });
          }
          deleted.push(String(o.number));
          break;
        }
        if (!isConflict(err) || attempt >= 2) throw err;
        // Someone changed the order since it was read: read it again, check again, delete once more.
        reportCall({ type: 'retry', system: SYSTEM, operation: op, attempt, waitMs: 0, kind: 'conflict' });
        const fresh = (await client.findSalesDocuments(edn)).find((d) => d.id === o.id);
        if (!fresh) {
          deleted.push(String(o.number));
          break;
        }
        await shippedCheck(fresh);
        o['@odata.etag'] = fresh['@odata.etag'];
        order = fresh as typeof order;
      }
    }
  }
  return {
    system: SYSTEM,
    document: 'salesOrder',
    id: String(order.id),
    number: String(order.number),
    created: false,
    cancelled: true,
    deleted,
    tombstone: opts.tombstones ? true : false,
    externalDocumentNumber: edn,
    customerNumber: order.customerNumber,
    action: 'cancel',
    channelStatus: doc.kind === 'order' ? doc.status : undefined,
  };
}

// ---- returns: sales credit memos ------------------------------------------------------------

type FoundDocument = BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' };

export interface CreditResult {
  system: typeof SYSTEM;
  document: 'salesCreditMemo';
  id?: string;
  number?: string;
  created: boolean;
  externalDocumentNumber: string;
  customerNumber?: string;
  /** What the shared lifecycle decided: 'credit', 'wait' (nothing yet) or 'none' (rejected). */
  action: ReturnAction;
  /** The return's own status (returns), or 'net-return' (a till sale with a negative total). */
  channelStatus?: string;
  /** Set when nothing was written: why. */
  skipped?: 'waiting' | 'rejected';
  reason?: string;
  /** The original order or sale, as found in BC (the credit memo's link). */
  original?: {
    key: string;
    externalDocumentNumber: string;
    document: 'salesOrder' | 'salesInvoice';
    id: string;
    number: string;
    /** True when the credit memo applies to the posted invoice (BC `invoiceId`). */
    applied: boolean;
  };
  /** The original could not be identified (a till sale without its terminal id): not linked. */
  unlinked?: string;
  recovered?: boolean;
  duplicates?: number;
  totals?: OrderTotals;
}

interface ReturnLineDoc {
  lineId?: string;
  sku: string;
  quantity: number;
  refundAmount: Money;
  reason?: string;
}

interface ReturnDoc {
  kind: 'return';
  returnId: string;
  channel: { system: string; account?: string; id: string };
  originalOrder?: { id: string; channel?: { system: string; account?: string; id: string } };
  originalSale?: { saleId: string; storeId: string; terminalId?: string };
  status: ReturnStatus;
  createdAt: string;
  currency: string;
  lines: ReturnLineDoc[];
  totals?: { refundTotal: Money };
}

/** Checks the payload is a valid canonical return; a permanent error otherwise. */
export function asReturn(payload: unknown): ReturnDoc {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'return') throw permanent('map return', `msg.payload must be a canonical return, got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`);
  const result = validateDocument('return', payload);
  if (!result.valid) throw permanent('map return', `invalid return: ${result.errors.join('; ')}`);
  return payload as ReturnDoc;
}

/** The original's idempotency key, or why it cannot be known. */
function originalKey(ref: { order?: ReturnDoc['originalOrder']; sale?: { saleId: string; storeId?: string; terminalId?: string }; storeId?: string }): { key?: string; describe: string } {
  if (ref.order) {
    const ch = ref.order.channel;
    if (!ch) return { describe: `order ${ref.order.id} (no channel reference, so its Business Central external document number cannot be derived)` };
    return { key: `order:${ch.system}:${ch.account ?? '-'}:${ch.id}`, describe: `order ${ref.order.id}` };
  }
  const sale = ref.sale!;
  const storeId = sale.storeId ?? ref.storeId;
  if (!storeId || !sale.terminalId) return { describe: `sale ${sale.saleId}${storeId ? ` of store ${storeId}` : ''} (no terminal id, so its key cannot be derived)` };
  return { key: `sale:${storeId}:${sale.terminalId}:${sale.saleId}`, describe: `sale ${sale.saleId}` };
}

async function findOriginal(client: BusinessCentralClient, key: string | undefined, describe: string, required: boolean): Promise<{ doc?: FoundDocument; edn?: string }> {
  if (!key) {
    if (required) throw permanent('create sales credit memo', `the original ${describe}: nothing was created`, { providerCode: 'OriginalUnknown' });
    return {};
  }
  const edn = externalDocumentNumber(key);
  const found = await client.findSalesDocuments(edn);
  if (!found.length) {
    throw permanent('create sales credit memo', `the original ${describe} (${key}, external document no. ${edn}) is not in Business Central: nothing was created (send the original first, then replay)`, {
      providerCode: 'OriginalNotFound',
    });
  }
  // Prefer the posted invoice: the credit memo can then apply to it.
  return { doc: found.find((d) => d.document === 'salesInvoice') ?? pick(found), edn };
}

interface CreditPlan {
  key: string;
  operation: string;
  currency: string;
  date: string;
  lines: CreditItemLine[];
  accountLines?: CreditMemoInput['accountLines'];
  comments: string[];
  expected: { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean };
  original?: { key: string; edn: string; doc: FoundDocument };
  unlinked?: string;
  fallbackCustomer: () => string;
  action: ReturnAction;
  channelStatus: string;
}

async function createCredit(client: BusinessCentralClient, plan: CreditPlan, settings: OrderSettings, locks: KeyedLock): Promise<CreditResult> {
  const edn = externalDocumentNumber(plan.key);
  return locks.run(edn, async () => {
    const base = { system: SYSTEM as typeof SYSTEM, document: 'salesCreditMemo' as const, externalDocumentNumber: edn, action: plan.action, channelStatus: plan.channelStatus };
    const original = plan.original
      ? { key: plan.original.key, externalDocumentNumber: plan.original.edn, document: plan.original.doc.document, id: String(plan.original.doc.id), number: String(plan.original.doc.number), applied: plan.original.doc.document === 'salesInvoice' }
      : undefined;
    // A credit memo checked on its gross total is on a tax-included basis, whatever the original's.
    const totalsOf = (bc: BcSalesDocument): OrderTotals =>
      totalsOfBasis(plan.currency, plan.expected.field === 'totalAmountIncludingTax' ? { ...plan.expected, pricesIncludeTax: true } : plan.expected, bc);
    const existing = await client.findCreditMemos(edn);
    if (existing.length) {
      const first = pickMemo(existing);
      return { ...base, id: String(first.id), number: String(first.number), created: false, customerNumber: first.customerNumber, original, unlinked: plan.unlinked, duplicates: existing.length > 1 ? existing.length : undefined, totals: totalsOf(first) };
    }
    const customerNumber = plan.original?.doc.customerNumber ? String(plan.original.doc.customerNumber) : plan.fallbackCustomer();
    const localCurrency = settings.localCurrency?.trim().toUpperCase() || (await client.localCurrency());
    const mapped = toCreditMemo({
      key: plan.key,
      customerNumber,
      currency: plan.currency,
      localCurrency,
      date: plan.date,
      lines: plan.lines,
      accountLines: plan.accountLines,
      invoiceId: original?.applied ? original.id : undefined,
      comments: plan.comments,
    });
    await checkItems(client, plan.operation, mapped.items, mapped.invalidSkus, 'credit memo');
    const out = await createInBc(client, plan.operation, () => client.findCreditMemos(edn), () => client.createSalesCreditMemo(mapped.body));
    const memo = out.recovered ? pickMemo(out.found!) : out.doc;
    return {
      ...base,
      id: String(memo.id),
      number: String(memo.number),
      created: true,
      customerNumber: memo.customerNumber,
      original,
      unlinked: plan.unlinked,
      recovered: out.recovered,
      duplicates: out.found && out.found.length > 1 ? out.found.length : undefined,
      totals: totalsOf(memo),
    };
  });
}

function totalsOfBasis(currency: string, exp: { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean }, bc: BcSalesDocument): OrderTotals {
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

function pickMemo(found: BcCreditMemo[]): BcCreditMemo {
  return [...found].sort((a, b) => String(a.number).localeCompare(String(b.number), 'en', { numeric: true }))[0];
}

/**
 * A canonical return becomes one BC sales credit memo (shared lifecycle `returnAction`): from
 * status received/refunded/closed it is created once per return key (externalDocumentNumber =
 * the key, looked up before every create), for the original order's BC customer, applied to the
 * original's posted invoice when it is invoiced (`invoiceId`) and naming the original in a comment
 * line either way; lines by item number, quantity and the exact refund amount. requested and
 * authorized wait (nothing written, `skipped: 'waiting'`); rejected writes nothing. An original
 * that is not in BC is a permanent error naming it (dead-letter it, replay once it is there).
 */
export async function sendReturn(
  client: BusinessCentralClient,
  payload: unknown,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock = new KeyedLock(),
): Promise<CreditResult> {
  const doc = asReturn(payload);
  if (!key) throw permanent('map return', 'the message has no idempotency key (msg.tillwire.idempotencyKey)');
  const edn = externalDocumentNumber(key);
  const action = returnAction(doc.status);
  const base = { system: SYSTEM as typeof SYSTEM, document: 'salesCreditMemo' as const, created: false, externalDocumentNumber: edn, action, channelStatus: doc.status };
  if (action === 'wait') {
    return { ...base, skipped: 'waiting', reason: `return ${doc.returnId} is ${doc.status}: the credit memo is made once the goods are received or the money is refunded` };
  }
  if (action === 'none') return { ...base, skipped: 'rejected', reason: `return ${doc.returnId} was rejected: nothing is credited` };

  const ref = originalKey({ order: doc.originalOrder, sale: doc.originalOrder ? undefined : doc.originalSale });
  const found = await findOriginal(client, ref.key, ref.describe, true);
  const lineSum = doc.lines.reduce((a, l) => a + l.refundAmount.amount, 0);
  const refundTotal = doc.totals?.refundTotal.amount ?? lineSum;
  const extra = refundTotal - lineSum;
  const accountLines = extra > 0 && settings.shippingAccount ? [{ account: settings.shippingAccount, amount: extra, description: `Refund beyond the returned lines (${doc.returnId})` }] : undefined;
  return createCredit(
    client,
    {
      key,
      operation: 'create sales credit memo',
      currency: doc.currency,
      date: orderDate(doc.createdAt, settings.timeZone ?? 'UTC'),
      lines: doc.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, amount: l.refundAmount.amount, description: l.reason ? `Return: ${l.reason.replace(/_/g, ' ')}` : undefined })),
      accountLines,
      comments: [`Return ${doc.returnId} of ${found.doc!.document === 'salesInvoice' ? 'invoice' : 'order'} ${found.doc!.number} (${found.edn})`],
      // refundTotal: a refund beyond the lines (shipping) without a shipping account shows as a mismatch.
      expected: { field: 'totalAmountIncludingTax', amount: refundTotal, pricesIncludeTax: true },
      original: { key: ref.key!, edn: found.edn!, doc: found.doc! },
      fallbackCustomer: () => String(found.doc!.customerNumber),
      action,
      channelStatus: doc.status,
    },
    settings,
    locks,
  );
}

/**
 * A till sale whose total is negative (a net return, perhaps with an exchange) becomes a sales
 * credit memo for the credited amount, linked to the original sale when `returnOf` names it
 * (applied to its posted invoice when it has one). Returned lines are credited with positive
 * quantities; items bought in the same transaction net off as negative quantities.
 */
async function sendCreditForSale(
  client: BusinessCentralClient,
  doc: Extract<CanonicalSalesDocument, { kind: 'sale' }>,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock,
  _opts: LifecycleOptions,
): Promise<CreditResult> {
  const returnOf = (doc as unknown as { returnOf?: { saleId: string; storeId?: string; terminalId?: string } }).returnOf;
  let original: CreditPlan['original'];
  let unlinked: string | undefined;
  if (returnOf) {
    const ref = originalKey({ sale: { ...returnOf, storeId: returnOf.storeId ?? doc.storeId } });
    if (ref.key) {
      const found = await findOriginal(client, ref.key, ref.describe, false);
      original = { key: ref.key, edn: found.edn!, doc: found.doc! };
    } else {
      unlinked = `the original ${ref.describe}: the credit memo names it in a comment only`;
    }
  }
  const exp = expectedTotal(doc);
  return createCredit(
    client,
    {
      key,
      operation: 'create sales credit memo',
      currency: doc.currency,
      date: doc.businessDate,
      lines: doc.lines.map((l) => ({ sku: l.sku, quantity: -l.quantity, unitPrice: l.unitPrice.amount, amount: -l.lineTotal.amount, description: l.description ?? l.title })),
      comments: returnOf ? [`Return of sale ${returnOf.saleId}${original ? ` (${original.doc.document === 'salesInvoice' ? 'invoice' : 'order'} ${original.doc.number})` : ''}`] : [],
      expected: { field: exp.field, amount: -exp.amount, pricesIncludeTax: exp.pricesIncludeTax },
      original,
      unlinked,
      fallbackCustomer: () => customerFor(doc, settings.routing),
      action: 'credit',
      channelStatus: 'net-return',
    },
    settings,
    locks,
  );
}

export interface InventoryResult {
  positions: InventoryPositionDoc[];
  /** SKUs with no BC item (or that cannot be BC item numbers). */
  unknown: string[];
  /** Items whose stock could not be expressed canonically (fractional quantities). */
  problems: string[];
}

/**
 * Reads items' `inventory` (fresh, never cached) as canonical positions, one per SKU found;
 * `skus` undefined reads every Inventory item (the SKU is then the item number).
 */
export async function readInventory(
  client: BusinessCentralClient,
  skus: readonly string[] | undefined,
  opts: { locationId: string; now?: () => Date },
): Promise<InventoryResult> {
  if (skus === undefined) {
    const items = await client.inventoryItems();
    const asOf = (opts.now?.() ?? new Date()).toISOString();
    const positions: InventoryPositionDoc[] = [];
    const problems: string[] = [];
    for (const item of items) {
      try {
        positions.push(toInventoryPosition(item.number, item, { locationId: opts.locationId, asOf }));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return { positions, unknown: [], problems };
  }
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

// ---- shipments out of BC --------------------------------------------------------------------

export const SHIPMENT_CURSOR_PREFIX = 'bc:shipments:cursor:';
export const KEY_PREFIX = 'bc:key:';

/** Small durable values with compare-and-set (a Tillwire store). */
export interface Kv {
  kvGet(key: string): Promise<unknown>;
  kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean>;
}

/** Where the shipment read got to: the last lastModifiedDateTime read, and the shipments read at that instant. */
export interface ShipmentCursor {
  after: string;
  seen: string[];
}

export interface ShipmentDoc {
  kind: 'shipment';
  shipmentId: string;
  order: { id: string; channel: { system: string; account?: string; id: string } };
  shippedAt: string;
  lines: Array<{ sku: string; quantity: number }>;
  source: { system: string; type: string; id: string };
  attributes?: Record<string, string>;
}

export interface ShipmentsResult {
  shipments: ShipmentDoc[];
  /** Posted shipments of BC documents that are not channel orders (till sales, manual orders). */
  skipped: string[];
  /** Shipments that could not be turned into canonical documents, and why. */
  problems: string[];
  cursor: ShipmentCursor | undefined;
  /** false when another instance moved the cursor first (compare-and-set lost): nothing was lost, downstream dedupe by shipmentId absorbs the overlap. */
  advanced: boolean;
}

/** The canonical order key behind an externalDocumentNumber: verbatim keys are read back, hashed ones looked up. */
async function orderKeyOf(client: BusinessCentralClient, kv: Kv | undefined, edn: string, orderNumber: string): Promise<string | undefined> {
  if (/^ORDER:/.test(edn)) return `order:${edn.slice('ORDER:'.length)}`;
  if (!isHashed(edn)) return undefined;
  const stored = kv ? await kv.kvGet(KEY_PREFIX + edn) : undefined;
  if (typeof stored === 'string') return stored;
  if (!orderNumber) return undefined;
  const order = await client.salesOrderByNumber(orderNumber);
  return keyFromComments(order?.salesOrderLines as Array<{ lineType?: unknown; description?: unknown }> | undefined);
}

/**
 * Reads BC's posted sales shipments after the cursor kept in `kv` (compare-and-set, so two
 * instances cannot move it backwards) and maps each one of a channel order to a canonical,
 * validated `shipment`: shipmentId = the posted shipment number, order.id = the order's
 * canonical key (its externalDocumentNumber read back, or for a hashed number the key recorded at
 * create time or carried in the order's comment lines), lines = the Item lines shipped.
 */
export async function readShipments(client: BusinessCentralClient, kv: Kv, opts: { cursorKey?: string; maxPages?: number } = {}): Promise<ShipmentsResult> {
  const cursorKey = opts.cursorKey ?? SHIPMENT_CURSOR_PREFIX + client.options.companyId;
  const raw = await kv.kvGet(cursorKey);
  const current = raw && typeof raw === 'object' ? (raw as ShipmentCursor) : undefined;
  const rows = await client.salesShipmentsSince(current?.after, { maxPages: opts.maxPages });
  const seen = new Set(current?.seen ?? []);
  const shipments: ShipmentDoc[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  let next = current;
  for (const row of rows) {
    const number = String(row.number);
    const at = String(row.lastModifiedDateTime);
    if (current && at === current.after && seen.has(number)) continue;
    next = next && next.after === at ? { after: at, seen: [...next.seen, number] } : { after: at, seen: [number] };
    const edn = String(row.externalDocumentNumber ?? '');
    const key = await orderKeyOf(client, kv, edn, String(row.orderNumber ?? ''));
    const channel = key ? channelOfOrderKey(key) : undefined;
    if (!key || !channel) {
      if (/^(SALE|RETURN):/.test(edn) || edn === '') skipped.push(number);
      else problems.push(`posted shipment ${number} (order ${String(row.orderNumber)}, external document no. '${edn}'): not a Tillwire channel order, or its key is unknown`);
      continue;
    }
    const lines: ShipmentDoc['lines'] = [];
    let bad: string | undefined;
    for (const l of (row.salesShipmentLines as BcEntity[] | undefined) ?? []) {
      if (l.lineType !== 'Item') continue;
      const q = Number(l.quantity);
      if (q === 0) continue;
      if (!Number.isInteger(q) || q < 0) bad = `line ${String(l.lineObjectNumber)} has quantity ${String(l.quantity)}, not a whole number of units`;
      else lines.push({ sku: String(l.lineObjectNumber), quantity: q });
    }
    const doc: ShipmentDoc = {
      kind: 'shipment',
      shipmentId: number,
      order: { id: key, channel },
      shippedAt: new Date(at).toISOString(),
      lines,
      source: { system: SYSTEM, type: 'salesShipment', id: number },
      attributes: { bcOrderNumber: String(row.orderNumber ?? ''), bcPostingDate: String(row.postingDate ?? ''), ...(row.shipmentMethodCode ? { bcShipmentMethodCode: String(row.shipmentMethodCode) } : {}) },
    };
    const valid = bad ? { valid: false, errors: [bad] } : validateDocument('shipment', doc);
    if (!valid.valid) {
      problems.push(`posted shipment ${number}: ${valid.errors.join('; ')}`);
      continue;
    }
    shipments.push(doc);
  }
  let advanced = true;
  if (next && next !== current) advanced = await kv.kvPut(cursorKey, next, current);
  return { shipments, skipped, problems, cursor: advanced ? next : current, advanced };
}
