/**
 * Till sales (and till returns: sales with negative lines) written to Odoo as one batch, with the
 * guarantees of one sale at a time (orders.ts) kept per record:
 *
 *   1. one `search_read` looks every key up (`client_order_ref in keys`); found → used (confirmed
 *      if it is still a quotation), cancelled only → that sale fails, as one at a time;
 *   2. SKUs are resolved for all the new sales in one lookup; an unknown SKU fails that sale alone,
 *      nothing is created for it;
 *   3. one `create` with the list of values (OdooSync.createEach): a lost answer looks the keys up
 *      again before any of them is sent again; a refusal is split until it fails its own sale;
 *   4. one `action_confirm` with the list of ids (OdooSync.transitionEach: a lost answer reads the
 *      states);
 *   5. `date_order` written back (Odoo stamps the confirmation time): every order's own value in one
 *      `load` (`.id` rows; `write`s only for rows it reports and does not write);
 *   6. one end-of-batch `search_read` of the keys: each sale's number, state and total (variance
 *      against the till's grand total), and other orders carrying its key (sweep).
 *
 * The batch holds every key's lock (sorted: two batches never wait on each other in a cycle), so a
 * copy of one of its sales arriving one at a time or in another batch waits for it.
 */
import type { Sale } from '../model/types.generated';
import { asError } from '../core/node-kit';
import { odooError } from './client';
import { LOAD_CONTEXT } from './contract';
import { asSaleOrderSource, documentTime, odooDatetime, prepareSaleOrders } from './map';
import { asResult, cancelledInOdoo, checked, FoundOrders, foundOrders, ORDER_FIELDS, OrderResult, OrderRow, sweep, Swept } from './orders';
import type { OdooSync } from './sync';

/** One message of the batch: its payload and idempotency key. */
export interface SaleItem {
  payload: unknown;
  key: string;
}

/** Every order carrying one of `keys`, by key (keys with none are absent). */
async function findByRefs(sync: OdooSync, keys: string[]): Promise<Map<string, FoundOrders>> {
  const rows = await sync.client.searchRead<OrderRow & { client_order_ref: string }>('sale.order', [['client_order_ref', 'in', keys]], {
    fields: [...ORDER_FIELDS, 'client_order_ref'],
    order: 'id asc',
  });
  const byKey = new Map<string, OrderRow[]>();
  for (const { client_order_ref: ref, ...row } of rows) byKey.set(ref, [...(byKey.get(ref) ?? []), row]);
  return new Map([...byKey].map(([key, list]) => [key, foundOrders(list)]));
}

/** Rows per `load` call: a full batch (MAX_BATCH_SIZE) in one, a bounded request beyond. */
const DATES_PER_LOAD = 1000;

/**
 * Each order's own `date_order` (id → UTC text) in one `load` per DATES_PER_LOAD orders, instead of
 * one `write` per distinct time (a backlog has one per sale). `load` does not raise for a bad row:
 * it answers with messages and writes nothing (contract.ts), and some databases customise or refuse
 * imports. The orders it did not write get plain `write`s, one per distinct value: they land where
 * `write` is allowed, and a real refusal fails the batch with Odoo's own error.
 */
async function writeOrderDates(sync: OdooSync, dates: Map<number, string>): Promise<void> {
  const rows = [...dates].map(([id, when]) => [String(id), when]);
  const unwritten = new Map<string, number[]>();
  for (let i = 0; i < rows.length; i += DATES_PER_LOAD) {
    const chunk = rows.slice(i, i + DATES_PER_LOAD);
    const { ids } = await sync.client.load('sale.order', ['.id', 'date_order'], chunk, { context: LOAD_CONTEXT });
    const written = new Set(ids || []);
    for (const [id, when] of chunk) if (!written.has(Number(id))) unwritten.set(when, [...(unwritten.get(when) ?? []), Number(id)]);
  }
  await Promise.all([...unwritten].map(([when, ids]) => sync.client.write('sale.order', ids, { date_order: when })));
}

/**
 * Writes till sales to Odoo once per key: each item's result (`msg.erp`) or its own error, in the
 * order given. Copies of one key in the batch share one order; the first copy carries `created`.
 */
export async function pushSales(sync: OdooSync, items: SaleItem[]): Promise<Array<OrderResult | Error>> {
  const out: Array<OrderResult | Error> = new Array(items.length);
  const byKey = new Map<string, { doc: Sale; at: number[] }>();
  items.forEach(({ payload, key }, i) => {
    try {
      const doc = asSaleOrderSource(payload);
      if (doc.kind !== 'sale') throw odooError('sale.order', `only till sales are written in a batch, got kind '${doc.kind}'`, { retryable: false });
      if (!key) throw odooError('sale.order', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
      const group = byKey.get(key);
      if (group) group.at.push(i);
      else byKey.set(key, { doc, at: [i] });
    } catch (err) {
      out[i] = asError(err);
    }
  });
  if (!byKey.size) return out;
  const docs = new Map([...byKey].map(([key, g]) => [key, g.doc]));
  const results = await sync.client.track(sync.locks.runAll([...byKey.keys()], () => writeSales(sync, docs)));
  for (const [key, { at }] of byKey) {
    const result = results.get(key)!;
    at.forEach((i, n) => (out[i] = result instanceof Error || n === 0 ? result : { ...result, created: false }));
  }
  return out;
}

async function writeSales(sync: OdooSync, docs: Map<string, Sale>): Promise<Map<string, OrderResult | Error>> {
  const results = new Map<string, OrderResult | Error>();
  /** The order each key goes on with; `created` when this batch made it. */
  const chosen = new Map<string, { id: number; state: string; date_order?: string; created: boolean }>();
  const use = (key: string, found: FoundOrders, created: boolean) => {
    if (found.row) chosen.set(key, { ...found.row, created });
    else if (found.cancelled) results.set(key, cancelledInOdoo(found.cancelled, key));
  };

  // 1. Look every key up; 2. values for the new ones.
  const before = await findByRefs(sync, [...docs.keys()]);
  const fresh: string[] = [];
  for (const key of docs.keys()) {
    const found = before.get(key);
    if (found) use(key, found, false);
    else fresh.push(key);
  }
  const values = await prepareSaleOrders(
    sync.client,
    fresh.map((key) => ({ doc: docs.get(key)!, key })),
    sync.options,
    sync.cache,
  );
  const entries: Array<{ key: string; values: Record<string, unknown> }> = [];
  fresh.forEach((key, i) => {
    const v = values[i];
    if (v instanceof Error) results.set(key, v);
    else entries.push({ key, values: v });
  });

  // 3. Create, each record once.
  const made = await sync.createEach('sale.order', entries, (keys) => findByRefs(sync, keys));
  for (const [key, id] of made.created) chosen.set(key, { id, state: 'draft', created: true });
  // Found after the create's answer was lost: that create did make it.
  for (const [key, found] of made.found) use(key, found, true);
  for (const [key, err] of made.failed) results.set(key, err);

  // 4. Confirm the quotations (a lost answer reads their states).
  const quotations = [...chosen.values()].filter((c) => c.state === 'draft' || c.state === 'sent').map((c) => c.id);
  const unconfirmed = await sync.transitionEach('sale.order', 'action_confirm', quotations, async (ids) =>
    (await sync.client.read<{ id: number; state: string }>('sale.order', ids, ['state'])).filter((r) => r.state !== 'sale').map((r) => r.id),
  );
  const confirmed = new Set(quotations.filter((id) => !unconfirmed.has(id)));
  for (const [key, c] of chosen) {
    const err = unconfirmed.get(c.id);
    if (err) {
      results.set(key, err);
      chosen.delete(key);
    }
  }

  // 5. The sale's own time back into date_order: confirming stamped it with now.
  const dates = new Map<number, string>();
  for (const [key, c] of chosen) {
    const when = odooDatetime(documentTime(docs.get(key)!));
    if (confirmed.has(c.id) || c.date_order !== when) dates.set(c.id, when);
  }
  await writeOrderDates(sync, dates);

  // 6. One read of every key at the end: totals, and other orders carrying a key.
  const after = chosen.size ? await findByRefs(sync, [...chosen.keys()]) : new Map<string, FoundOrders>();
  const kept: Array<{ key: string; keep: OrderRow; others: OrderRow[] }> = [];
  for (const [key, c] of chosen) {
    const rows = after.get(key);
    const keep = rows?.live.find((r) => r.id === c.id);
    if (!keep) {
      // Cancelled or deleted in Odoo while the batch ran: say so rather than report an order that is gone.
      results.set(
        key,
        odooError('sale.order', `the order for ${key} (id ${c.id}) was cancelled or deleted in Odoo while it was being written`, { retryable: true }),
      );
      continue;
    }
    kept.push({ key, keep, others: rows!.live.filter((r) => r.id !== c.id) });
  }
  const crowded = kept.filter((k) => k.others.length);
  const swept = new Map<string, Swept>();
  try {
    (await sweep(sync, crowded)).forEach((s, i) => swept.set(crowded[i].key, s));
  } catch (err) {
    // Those sales are written; only they fail, and their redelivery finds them and sweeps again.
    for (const { key } of crowded) results.set(key, asError(err));
  }
  for (const { key, keep } of kept) {
    if (results.has(key)) continue;
    const doc = docs.get(key)!;
    results.set(
      key,
      checked(asResult(keep, key, chosen.get(key)!.created, doc.currency), doc.totals.grandTotal.amount, swept.get(key) ?? { duplicates: [], cancelled: [] }),
    );
  }
  return results;
}
