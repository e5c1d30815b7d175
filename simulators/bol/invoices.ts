/**
 * The bol simulator's retailer invoices (docs/connectors/bol-contract.md, "Invoices"): half-monthly
 * ALL_IN_ONE invoices (periods 1st–15th and 16th–last, UTC days), issued the day after the period,
 * one per period and currency, built from the orders the simulator serves, so that what a flow
 * settles is what it received as orders:
 *
 * - per shipped order item: TURNOVER (−quantity shipped × unit price: bol owes it) and COMMISSION
 *   (15 % of it, plus 21 % VAT); per FBR order with something shipped a SHIPMENT_LABEL (4.95 + VAT),
 *   per shipped FBB unit a PICK_PACK (1.30 + VAT);
 * - every order whose number ends in 0 had one unit returned: CORRECTION_TURNOVER and
 *   CORRECTION_COMMISSION; every FBB order whose number ends in 3 a COMPENSATION for a lost unit;
 * - payableAmount = Σ lines including VAT, from bol's side (positive: the retailer owes bol).
 *
 * Amounts are JSON numbers in major units, as bol writes them. An invoice is computed from the
 * orders' current state each time it is asked for.
 */
import { fromMinor } from '../../nodes/model/money';
import {
  INVOICE_LIST_MAX_DAYS,
  INVOICE_TYPES,
  INVOICE_MEDIA_TYPES,
  SPECIFICATION_FIELDS,
  SPECIFICATION_MEDIA_TYPES,
  SPECIFICATION_PAGE_SIZE,
} from '../../nodes/bol/contract';

const DAY = 86_400_000;

export interface InvoiceSource {
  orderId: string;
  placed: number;
  currency: string;
  items: Array<{ orderItemId: string; ean: string; method: 'FBR' | 'FBB'; quantity: number; shipped: number; unit: number }>;
}

/** One line as the simulator keeps it: bol's side, minor units. */
export interface SimInvoiceLine {
  type: string;
  amount: number;
  vat: number;
  quantity: number;
  orderId?: string;
  orderItemId?: string;
  ean?: string;
  date: string;
}

export interface SimInvoice {
  invoiceId: string;
  currency: string;
  start: string;
  end: string;
  issued: number;
  lines: SimInvoiceLine[];
}

/** A request the simulator refuses, with bol's status and violations. */
export class InvoiceRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly violations?: Array<{ name: string; reason: string }>,
  ) {
    super(message);
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The half-month period [start, end] (UTC days) holding an instant. */
export function periodOf(ms: number): { start: string; end: string } {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (d.getUTCDate() <= 15) return { start: day(Date.UTC(y, m, 1)), end: day(Date.UTC(y, m, 15)) };
  return { start: day(Date.UTC(y, m, 16)), end: day(Date.UTC(y, m + 1, 0)) };
}

const vatOf = (minor: number) => Math.round((minor * 21) / 100);

export class InvoiceBook {
  /** Fault injection: lines added to an invoice by id (e.g. a line type bol introduces later), counted in its payable amount. */
  readonly extra = new Map<string, SimInvoiceLine[]>();

  constructor(
    private readonly o: {
      orders: () => InvoiceSource[];
      now: () => number;
      pageSize?: number;
      /**
       * Demo schedule: invoice periods of this length (from the Unix epoch, UTC) instead of half
       * months, each issued `issueDelayMs` after it ends, so a demo sees invoices while it runs. A
       * period's dates are still whole days (bol's format), so periods of one day share them; the
       * id names the period's start minute.
       */
      periodMs?: number;
      issueDelayMs?: number;
      /** Told every issued invoice, oldest first, each time they are read (the demo's continuity). */
      issued?: (invoices: readonly SimInvoice[]) => void;
    },
  ) {}

  get pageSize(): number {
    return Math.max(1, this.o.pageSize ?? SPECIFICATION_PAGE_SIZE);
  }

  /** Every issued invoice, oldest period first. */
  all(): SimInvoice[] {
    const now = this.o.now();
    const byKey = new Map<string, SimInvoice>();
    for (const order of this.o.orders()) {
      const p = this.periodOf(order.placed);
      if (p.issued > now) continue;
      const key = `${p.id}/${order.currency}`;
      let inv = byKey.get(key);
      if (!inv) {
        const id = `4500${p.id}${order.currency === 'EUR' ? '' : `-${order.currency}`}`;
        const issued = p.issued;
        byKey.set(key, (inv = { invoiceId: id, currency: order.currency, start: p.start, end: p.end, issued, lines: [] }));
      }
      inv.lines.push(...orderLines(order));
    }
    for (const inv of byKey.values()) inv.lines.push(...(this.extra.get(inv.invoiceId) ?? []));
    const issued = [...byKey.values()].filter((i) => i.lines.length).sort((a, b) => a.issued - b.issued || (a.currency < b.currency ? -1 : 1));
    this.o.issued?.(issued);
    return issued;
  }

  /** The period holding an instant: its dates, id part and issue time. */
  private periodOf(ms: number): { start: string; end: string; id: string; issued: number } {
    const length = this.o.periodMs;
    if (!length) {
      const p = periodOf(ms);
      return { ...p, id: p.start.replace(/-/g, ''), issued: Date.parse(`${p.end}T00:00:00Z`) + DAY + 6 * 3_600_000 };
    }
    const start = Math.floor(ms / length) * length;
    const end = start + length;
    const id = new Date(start).toISOString().slice(0, 16).replace(/[-T:]/g, '');
    return { start: day(start), end: day(end - 1), id, issued: end + (this.o.issueDelayMs ?? 0) };
  }

  find(id: string): SimInvoice {
    const inv = this.all().find((i) => i.invoiceId === id);
    if (!inv) throw new InvoiceRequestError(404, `Invoice ${id} not found.`);
    return inv;
  }

  /** payableAmount (bol's side, minor units) and the sums behind it. */
  totals(inv: SimInvoice): { exclusive: number; vat: number; payable: number } {
    let exclusive = 0;
    let vat = 0;
    for (const l of inv.lines) {
      exclusive += l.amount;
      vat += l.vat;
    }
    return { exclusive, vat, payable: exclusive + vat };
  }

  listItem(inv: SimInvoice): Record<string, unknown> {
    const t = this.totals(inv);
    const money = (minor: number) => ({ amount: amount(minor, inv.currency), currencyID: inv.currency });
    return {
      invoiceId: inv.invoiceId,
      invoiceMediaTypes: { availableMediaTypes: Object.values(INVOICE_MEDIA_TYPES) },
      invoiceType: INVOICE_TYPES.retailer,
      issueDate: new Date(inv.issued).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      invoicePeriod: { startDate: inv.start, endDate: inv.end },
      legalMonetaryTotal: {
        lineExtensionAmount: money(t.exclusive),
        payableAmount: money(t.payable),
        taxExclusiveAmount: money(t.exclusive),
        taxInclusiveAmount: money(t.payable),
      },
      specificationMediaTypes: { availableMediaTypes: Object.values(SPECIFICATION_MEDIA_TYPES) },
    };
  }

  /** GET /retailer/invoices. */
  list(q: URLSearchParams): Record<string, unknown> {
    const startText = q.get('period-start-date');
    const endText = q.get('period-end-date');
    const violations: Array<{ name: string; reason: string }> = [];
    let start = this.o.now() - 28 * DAY;
    let end = this.o.now();
    if ((startText === null) !== (endText === null))
      violations.push({ name: 'period-start-date', reason: 'Give both period-start-date and period-end-date, or neither.' });
    else if (startText !== null && endText !== null) {
      start = /^\d{4}-\d{2}-\d{2}$/.test(startText) ? Date.parse(`${startText}T00:00:00Z`) : NaN;
      end = /^\d{4}-\d{2}-\d{2}$/.test(endText) ? Date.parse(`${endText}T00:00:00Z`) : NaN;
      if (Number.isNaN(start)) violations.push({ name: 'period-start-date', reason: 'Must be a date as yyyy-MM-dd.' });
      if (Number.isNaN(end)) violations.push({ name: 'period-end-date', reason: 'Must be a date as yyyy-MM-dd.' });
      if (!violations.length && end < start) violations.push({ name: 'period-end-date', reason: 'Must not be before period-start-date.' });
      if (!violations.length && end - start > (INVOICE_LIST_MAX_DAYS - 1) * DAY)
        violations.push({ name: 'period-end-date', reason: `The period can be no longer than ${INVOICE_LIST_MAX_DAYS} days.` });
    }
    if (violations.length) throw new InvoiceRequestError(400, 'Request contains invalid value(s).', violations);
    const from = day(start);
    const to = day(end);
    const items = this.all().filter((i) => i.end >= from && i.start <= to);
    return { invoiceListItems: items.map((i) => this.listItem(i)), period: `${from}/${to}` };
  }

  /** GET /retailer/invoices/{id} (JSON): the header and a total per line type. */
  invoice(id: string): Record<string, unknown> {
    const inv = this.find(id);
    const perType = new Map<string, { amount: number; vat: number }>();
    for (const l of inv.lines) {
      const t = perType.get(l.type) ?? { amount: 0, vat: 0 };
      t.amount += l.amount;
      t.vat += l.vat;
      perType.set(l.type, t);
    }
    return {
      ...this.listItem(inv),
      invoiceLines: [...perType].map(([type, t]) => ({
        type,
        lineExtensionAmount: { amount: amount(t.amount, inv.currency), currencyID: inv.currency },
        taxAmount: { amount: amount(t.vat, inv.currency), currencyID: inv.currency },
      })),
    };
  }

  /** GET /retailer/invoices/{id}/specification?page=: `pageSize` lines a page; past the end `{}`. */
  specification(id: string, q: URLSearchParams): Record<string, unknown> {
    const pageText = q.get('page') ?? '1';
    if (!/^\d+$/.test(pageText) || Number(pageText) < 1) {
      throw new InvoiceRequestError(400, 'Request contains invalid value(s).', [{ name: 'page', reason: 'Must be greater than or equal to 1.' }]);
    }
    const inv = this.find(id);
    const page = Number(pageText);
    const slice = inv.lines.slice((page - 1) * this.pageSize, page * this.pageSize);
    if (!slice.length) return {};
    const offset = (page - 1) * this.pageSize;
    return { [SPECIFICATION_FIELDS.lines]: slice.map((l, i) => specificationJson(l, offset + i + 1, inv.currency)) };
  }

  /** Inspection: each invoice's id, period, line count and payable amount in minor units (bol's side). */
  summary(): Array<Record<string, unknown>> {
    return this.all().map((i) => ({
      invoiceId: i.invoiceId,
      currency: i.currency,
      start: i.start,
      end: i.end,
      lines: i.lines.length,
      payable: this.totals(i).payable,
    }));
  }
}

function amount(minor: number, currency: string): number {
  return Number(fromMinor(minor, currency));
}

function orderLines(o: InvoiceSource): SimInvoiceLine[] {
  const lines: SimInvoiceLine[] = [];
  const date = day(o.placed);
  const n = Number(o.orderId.slice(-1));
  let shippedFbr = false;
  for (const it of o.items) {
    if (it.shipped <= 0) continue;
    const ref = { orderId: o.orderId, orderItemId: it.orderItemId, ean: it.ean, date };
    const turnover = it.shipped * it.unit;
    const commission = Math.round((turnover * 15) / 100);
    lines.push({ type: 'TURNOVER', amount: -turnover, vat: 0, quantity: it.shipped, ...ref });
    lines.push({ type: 'COMMISSION', amount: commission, vat: vatOf(commission), quantity: it.shipped, ...ref });
    if (it.method === 'FBB') lines.push({ type: 'PICK_PACK', amount: 130 * it.shipped, vat: vatOf(130 * it.shipped), quantity: it.shipped, ...ref });
    else shippedFbr = true;
  }
  const first = o.items.find((it) => it.shipped > 0);
  if (shippedFbr) lines.push({ type: 'SHIPMENT_LABEL', amount: 495, vat: vatOf(495), quantity: 1, orderId: o.orderId, date });
  if (first && n === 0) {
    const ref = { orderId: o.orderId, orderItemId: first.orderItemId, ean: first.ean, date };
    const back = Math.round((first.unit * 15) / 100);
    lines.push({ type: 'CORRECTION_TURNOVER', amount: first.unit, vat: 0, quantity: 1, ...ref });
    lines.push({ type: 'CORRECTION_COMMISSION', amount: -back, vat: -vatOf(back), quantity: 1, ...ref });
  }
  if (first && n === 3 && first.method === 'FBB') {
    lines.push({ type: 'COMPENSATION', amount: -first.unit, vat: 0, quantity: 1, orderId: o.orderId, orderItemId: first.orderItemId, ean: first.ean, date });
  }
  return lines;
}

/** One specification line in bol's JSON form (contract.ts, SPECIFICATION_FIELDS). */
export function specificationJson(l: SimInvoiceLine, id: number, currency: string): Record<string, unknown> {
  const names = SPECIFICATION_FIELDS.properties;
  const props: Array<[string, string | undefined]> = [
    [names.orderId, l.orderId],
    [names.orderItemId, l.orderItemId],
    [names.ean, l.ean],
    [names.date, l.date],
  ];
  return {
    id: String(id),
    invoicedQuantity: { value: l.quantity },
    lineExtensionAmount: { value: amount(l.amount, currency), currencyID: currency },
    ...(l.vat ? { taxTotal: { [SPECIFICATION_FIELDS.vat]: { value: amount(l.vat, currency), currencyID: currency } } } : {}),
    item: {
      Name: { value: l.type },
      AdditionalItemProperty: props.filter(([, v]) => v !== undefined).map(([name, v]) => ({ Name: { value: name }, Value: { value: v } })),
    },
  };
}
