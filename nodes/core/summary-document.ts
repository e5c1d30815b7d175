/**
 * The ERP document of a summary (summarised posting, docs/summarised-posting.md): one canonical
 * `Sale` that carries many till sales, so each ERP's existing create-once sale path posts it.
 *
 * Lines are aggregated per SKU, unit price, taxes (code and rate) and direction: sold units and
 * returned units stay apart, as their own positive and negative lines. Netting them would let a
 * line reach quantity 0 with discounts or taxes still on it, which no ERP line can carry, and it
 * would hide the returns from the ERP's stock moves and revenue. A line never exceeds the model's
 * most units per line: a sale's line that would push it past starts a second line of the same kind.
 *
 * Everything is summed in integer minor units, so each line keeps lineTotal = quantity × unitPrice
 * − discounts, and the summary's totals (subtotal, discounts, taxes, grand total, tenders) are the
 * exact sums of its sales' totals: its grand total is the sum of its sales' grand totals to the cent.
 */
import type { Discount, Sale, SaleLine, TaxLine, Tender } from '../model/types.generated';
import { DEFAULT_BOUNDS } from '../model/bounds';

export interface SummaryHeader {
  key: string;
  storeId: string;
  businessDate: string;
  /** The interval, RFC 3339. */
  from: string;
  to: string;
  currency: string;
  taxesIncluded: boolean;
}

interface Group {
  line: SaleLine;
  discounts: Map<string, Discount>;
  taxes: Map<string, TaxLine>;
}

const taxSignature = (taxes: readonly TaxLine[] | undefined) =>
  (taxes ?? [])
    .map((t) => `${t.code}\u0000${t.rate}`)
    .sort()
    .join('\u0001');

const money = (amount: number, currency: string) => ({ amount, currency });

/**
 * The summary document for `sales` (canonical sales of one store, business date, currency and tax
 * basis; taken in the order given, so the same sales in the same order give the same document).
 */
export function summaryDocument(header: SummaryHeader, sales: readonly Sale[]): Sale {
  const { currency } = header;
  const groups: Group[] = [];
  // Per line kind, the group still taking units.
  const current = new Map<string, Group>();
  const tenders = new Map<Tender['type'], number>();
  const totals = { subtotal: 0, discountTotal: 0, taxTotal: 0, grandTotal: 0 };
  // The summary happened when its last sale did (a day's sales near their business date, late ones too).
  let last: { at: number; text: string } | undefined;
  for (const sale of sales) {
    const at = Date.parse(sale.occurredAt);
    if (!last || at > last.at) last = { at, text: sale.occurredAt };
    if (sale.currency !== currency) throw new Error(`${sale.saleId} is in ${sale.currency}, the summary ${header.key} in ${currency}`);
    if (sale.taxesIncluded !== header.taxesIncluded) throw new Error(`${sale.saleId} has another tax basis than the summary ${header.key}`);
    totals.subtotal += sale.totals.subtotal.amount;
    totals.discountTotal += sale.totals.discountTotal.amount;
    totals.taxTotal += sale.totals.taxTotal.amount;
    totals.grandTotal += sale.totals.grandTotal.amount;
    for (const t of sale.tenders) tenders.set(t.type, (tenders.get(t.type) ?? 0) + t.amount.amount);
    for (const l of sale.lines) {
      const kind = [l.sku, l.unitPrice.amount, l.quantity < 0 ? '-' : '+', taxSignature(l.taxes)].join('\u0002');
      let g = current.get(kind);
      if (g && Math.abs(g.line.quantity + l.quantity) > DEFAULT_BOUNDS.maxQuantity) g = undefined;
      if (!g) {
        g = {
          line: {
            lineId: String(groups.length + 1),
            sku: l.sku,
            ...(l.description ? { description: l.description } : {}),
            quantity: 0,
            unitPrice: money(l.unitPrice.amount, currency),
            lineTotal: money(0, currency),
          },
          discounts: new Map(),
          taxes: new Map(),
        };
        groups.push(g);
        current.set(kind, g);
      }
      g.line.quantity += l.quantity;
      g.line.lineTotal.amount += l.lineTotal.amount;
      for (const d of l.discounts ?? []) {
        const k = `${d.kind}\u0000${d.code ?? ''}`;
        const had = g.discounts.get(k);
        if (had) had.amount.amount += d.amount.amount;
        else g.discounts.set(k, { kind: d.kind, ...(d.code ? { code: d.code } : {}), amount: money(d.amount.amount, currency) });
      }
      for (const t of l.taxes ?? []) {
        const k = `${t.code}\u0000${t.rate}`;
        const had = g.taxes.get(k);
        if (had) had.amount.amount += t.amount.amount;
        else g.taxes.set(k, { code: t.code, rate: t.rate, ...(t.name ? { name: t.name } : {}), amount: money(t.amount.amount, currency) });
      }
    }
  }
  const lines = groups.map((g) => ({
    ...g.line,
    ...(g.discounts.size ? { discounts: [...g.discounts.values()] } : {}),
    ...(g.taxes.size ? { taxes: [...g.taxes.values()] } : {}),
  }));
  // Tender types that net to zero are left out; the schema wants at least one.
  const tendered = [...tenders].filter(([, amount]) => amount !== 0).map(([type, amount]) => ({ type, amount: money(amount, currency) }));
  return {
    kind: 'sale',
    saleId: header.key,
    storeId: header.storeId,
    terminalId: 'summary',
    sequence: Number(header.key.slice(header.key.lastIndexOf(':') + 1)) || 1,
    occurredAt: last?.text ?? header.to,
    businessDate: header.businessDate,
    currency,
    taxesIncluded: header.taxesIncluded,
    lines,
    tenders: tendered.length ? tendered : [{ type: sales[0]?.tenders[0]?.type ?? 'other', amount: money(0, currency) }],
    totals: {
      subtotal: money(totals.subtotal, currency),
      discountTotal: money(totals.discountTotal, currency),
      taxTotal: money(totals.taxTotal, currency),
      grandTotal: money(totals.grandTotal, currency),
    },
    attributes: { summaryKey: header.key, sales: String(sales.length), from: header.from, to: header.to },
  };
}
