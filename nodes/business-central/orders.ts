/**
 * Sales orders in Business Central for canonical Sales and Orders (`sendOrder`), once per
 * idempotency key: BC has no idempotency key, so the key is written to `externalDocumentNumber`
 * and every attempt is preceded by `$filter=externalDocumentNumber eq '…'` (open orders, then
 * posted invoices). A POST whose answer is lost or late is never re-sent blindly: the filter runs
 * first, and finds the order if the first POST committed. Unknown or blocked items are found
 * before anything is created, so there is never a half order. Orders follow the shared lifecycle
 * (cancel deletes the open order and leaves a tombstone). No Node-RED imports.
 */
import { ConnectorError } from '../runtime/http';
import { reportCall } from '../runtime/call-observer';
import { KeyedLock } from '../runtime/keyed-lock';
import { ErpOrderState, orderAction, OrderAction, OrderStatus } from '../runtime/order-lifecycle';
import { BcSalesDocument, BusinessCentralClient, permanent, SYSTEM } from './client';
import { CanonicalSalesDocument, customerFor, externalDocumentNumber, toSalesOrder } from './map';
import { OrderSettings, OrderTotals, asSalesDocument, expectedTotal, pick, createInBc, checkItems, totalsOfBasis } from './documents';
import { CreditResult, sendCreditForSale } from './returns';

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

function totalsOf(doc: CanonicalSalesDocument, bc: BcSalesDocument): OrderTotals {
  return totalsOfBasis(doc.currency, expectedTotal(doc), bc);
}

/** What a sales order or invoice BC holds says of a canonical sale or order (its totals checked). */
export function resultOf(
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
export function kvTombstones(kv: {
  kvGet(key: string): Promise<unknown>;
  kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean>;
}): TombstoneStore {
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
  return (
    err instanceof ConnectorError &&
    (err.status === 412 || (err.status === 409 && (err.details.providerCode ?? 'Request_EntityChanged') === 'Request_EntityChanged'))
  );
}

function notFoundError(err: unknown): boolean {
  return err instanceof ConnectorError && err.status === 404;
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
      throw permanent(
        'cancel sales order',
        `order ${key} was cancelled in the channel, but Business Central posted invoice ${pick(existing).number} exists for it: reverse it in BC with a credit memo`,
        {
          providerCode: 'CancelledButPosted',
        },
      );
    }
    const state: ErpOrderState = tombstone ? 'cancelled' : existing.length ? 'open' : 'absent';
    const action = orderAction(state, doc.status as OrderStatus);
    const base = { action, channelStatus: doc.status };
    switch (action) {
      case 'exists':
        return { ...resultOf(doc, pick(existing), edn, { created: false, duplicates: existing.length > 1 ? existing.length : undefined }), ...base };
      case 'already-cancelled':
        return {
          system: SYSTEM,
          document: 'salesOrder',
          id: tombstone?.id,
          number: tombstone?.number,
          created: false,
          cancelled: true,
          stale: true,
          tombstone: true,
          externalDocumentNumber: edn,
          ...base,
        };
      case 'create-cancelled': {
        let written = false;
        if (opts.tombstones) written = await opts.tombstones.put(edn, { key, cancelledAt: now(opts) });
        return {
          system: SYSTEM,
          document: 'salesOrder',
          created: false,
          cancelled: true,
          skipped: 'cancelled',
          tombstone: opts.tombstones ? true : false,
          tombstoneWritten: written || undefined,
          externalDocumentNumber: edn,
          ...base,
        };
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

async function createSalesOrder(
  client: BusinessCentralClient,
  doc: CanonicalSalesDocument,
  key: string,
  edn: string,
  settings: OrderSettings,
): Promise<OrderResult> {
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
    throw permanent(
      op,
      `order ${key} was cancelled in the channel, but Business Central ${d.document === 'salesInvoice' ? `posted invoice ${d.number}` : `sales order ${d.number}`} exists for it and is already invoiced: it cannot be cancelled by deleting it (reverse it in BC with a credit memo)`,
      {
        providerCode: 'AlreadyPosted',
      },
    );
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
      throw permanent(
        op,
        `order ${key} was cancelled in the channel, but Business Central sales order ${o.number} is already shipped (${shipped.map((l) => `${String(l.lineObjectNumber)} × ${String(l.shippedQuantity)}`).join(', ') || 'fully shipped'}): it cannot be cancelled (post a sales return in BC)`,
        {
          providerCode: 'AlreadyShipped',
        },
      );
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
            throw permanent(
              op,
              `order ${key}: Business Central sales order ${o.number} was invoiced (posted invoice ${posted.number}) while it was being cancelled; reverse it in BC with a credit memo`,
              { providerCode: 'AlreadyPosted' },
            );
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
