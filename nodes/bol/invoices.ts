/**
 * bol.com invoices as settlements (no Node-RED import; docs/connectors/bol.md, "Invoices as
 * settlements"):
 *
 * - `retailerInvoices`: the ALL_IN_ONE invoices of a window, listed in slices of at most 31 days
 *   (bol's limit); advertising (ADVERTISING_VIA_BOL) invoices are costs bol nets against the
 *   payout, not payouts, and are left out.
 * - `readInvoiceSettlement`: one invoice as a canonical Settlement, its specification read page
 *   by page until a page has no lines; each page is mapped and let go before the next is asked for,
 *   so only the canonical lines are held. Lines that cannot be read go to `onProblem`.
 * - `pollInvoices`: one poll: the window from the cursor (less an overlap, as bol issues an
 *   invoice after its period) to today, each invoice written to the durable inbox under
 *   `invoice:<id>` (so each is delivered once), then the cursor moved on, compare-and-set.
 */
import type { Settlement, SettlementLine } from '../model/types.generated';
import type { Store } from '../runtime/store';
import { PollStopped } from '../runtime/poll-stopped';
import type { BolClient, InvoiceListItem } from './client';
import { INVOICE_LIST_MAX_DAYS, INVOICE_TYPES, SPECIFICATION_FIELDS, SPECIFICATION_MAX_PAGES } from './contract';
import { mapSpecificationLine, settlementHeader, settlementOf, type InvoiceLineProblem } from './invoice-map';

const DAY = 86_400_000;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The retailer invoices whose period meets [fromMs, toMs], in slices bol accepts. */
export async function retailerInvoices(client: BolClient, fromMs: number, toMs: number, signal?: AbortSignal): Promise<InvoiceListItem[]> {
  const found = new Map<string, InvoiceListItem>();
  const span = (INVOICE_LIST_MAX_DAYS - 1) * DAY; // both dates count: 31 days from start to end inclusive
  for (let start = Math.floor(fromMs / DAY) * DAY; start <= toMs; start += span + DAY) {
    if (signal?.aborted) throw new PollStopped();
    const end = Math.min(start + span, Math.floor(toMs / DAY) * DAY);
    const items = await client.listInvoices({ periodStartDate: dateOf(start), periodEndDate: dateOf(end) });
    for (const item of items) if (item?.invoiceType === INVOICE_TYPES.retailer && item.invoiceId) found.set(String(item.invoiceId), item);
  }
  return [...found.values()];
}

export interface ReadInvoiceOptions {
  /** channel.account (the bol connection's account). */
  account: string;
  /** Each line that is not a canonical line, in order (awaited, so a dead-letter write may be async). */
  onProblem?: (problem: InvoiceLineProblem) => void | Promise<void>;
  /** Pages read at most (default SPECIFICATION_MAX_PAGES); more is an error, not a truncation. */
  maxPages?: number;
  signal?: AbortSignal;
}

export interface InvoiceSettlement {
  settlement: Settlement;
  /** Specification pages that had lines. */
  pages: number;
  /** Lines that were not canonical lines (reported through onProblem). */
  problems: number;
}

export class InvoiceReadError extends Error {
  override name = 'InvoiceReadError';
}

/** One listed invoice → its Settlement, every specification page read. */
export async function readInvoiceSettlement(client: BolClient, item: InvoiceListItem, opts: ReadInvoiceOptions): Promise<InvoiceSettlement> {
  const header = settlementHeader(item, { account: opts.account });
  const invoiceId = header.settlementId;
  const maxPages = opts.maxPages ?? SPECIFICATION_MAX_PAGES;
  const lines: SettlementLine[] = [];
  let problems = 0;
  let line = 0;
  let pages = 0;
  for (let page = 1; ; page++) {
    if (opts.signal?.aborted) throw new PollStopped();
    if (page > maxPages) throw new InvoiceReadError(`invoice ${invoiceId}: the specification has more than ${maxPages} pages`);
    const body = await client.getInvoiceSpecification(invoiceId, page);
    const raw = body?.[SPECIFICATION_FIELDS.lines];
    if (raw !== undefined && !Array.isArray(raw)) throw new InvoiceReadError(`invoice ${invoiceId} page ${page}: ${SPECIFICATION_FIELDS.lines} is not a list`);
    if (!raw?.length) break;
    pages++;
    for (let i = 0; i < raw.length; i++) {
      line++;
      const r = mapSpecificationLine(raw[i], { invoiceId, page, position: i + 1, line }, { account: opts.account, currency: header.currency });
      if ('problem' in r) {
        problems++;
        await opts.onProblem?.(r.problem);
      } else lines.push(...r.lines);
    }
  }
  return { settlement: settlementOf(header, lines, problems), pages, problems };
}

export interface InvoiceCursor {
  /** Invoices with a period up to this day have been listed. */
  listedUntil: string;
}

export interface PollInvoicesOptions {
  client: BolClient;
  store: Store;
  cursorKey: string;
  /** Writes one listed invoice to the inbox (delivered once per invoice id). */
  accept: (eventId: string, item: InvoiceListItem) => Promise<{ duplicate: boolean }>;
  /** Days the first poll looks back (default 62). */
  lookbackDays?: number;
  /** Days re-listed before the cursor, for invoices issued after their period (default 35). */
  overlapDays?: number;
  now?: () => number;
  signal?: AbortSignal;
}

export interface PollInvoicesResult {
  from: string;
  to: string;
  listed: number;
  accepted: number;
  duplicates: number;
  advanced: boolean;
}

export const invoiceEventId = (item: Pick<InvoiceListItem, 'invoiceId'>) => `invoice:${item.invoiceId}`;

export async function pollInvoices(o: PollInvoicesOptions): Promise<PollInvoicesResult> {
  const now = (o.now ?? Date.now)();
  const previous = (await o.store.kvGet(o.cursorKey)) as InvoiceCursor | undefined;
  const from = previous ? Date.parse(`${previous.listedUntil}T00:00:00Z`) - (o.overlapDays ?? 35) * DAY : now - (o.lookbackDays ?? 62) * DAY;
  const items = await retailerInvoices(o.client, from, now, o.signal);
  const result: PollInvoicesResult = { from: dateOf(from), to: dateOf(now), listed: items.length, accepted: 0, duplicates: 0, advanced: false };
  for (const item of items) {
    if (o.signal?.aborted) throw new PollStopped();
    const { duplicate } = await o.accept(invoiceEventId(item), item);
    if (duplicate) result.duplicates++;
    else result.accepted++;
  }
  result.advanced = await o.store.kvPut(o.cursorKey, { listedUntil: dateOf(now) } satisfies InvoiceCursor, previous);
  return result;
}
