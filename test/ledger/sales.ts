/**
 * Test support: canonical sales built from a short spec, adding up the way a till does
 * (lineTotal = quantity × unitPrice − discount; grandTotal = Σ lineTotal (+ Σ tax when prices
 * exclude tax) = Σ tenders), and register entries for them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Sale, Tender } from '../../nodes/model/types.generated';
import type { NewRegisterEntry, RegisterEntry } from '../../nodes/runtime/store';
import { businessKey } from '../../nodes/model/validate';

export const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));

export interface LineSpec {
  qty: number;
  unit: number;
  /** Positive amount off the line (signed like qty in the document). */
  discount?: number;
  taxes?: Array<{ code: string; rate: string; amount: number }>;
  sku?: string;
}

export interface SaleSpec {
  saleId: string;
  storeId?: string;
  terminalId?: string;
  sequence?: number;
  businessDate?: string;
  currency?: string;
  taxesIncluded?: boolean;
  lines: LineSpec[];
  /** Tender split; the last tender takes whatever is left of the grand total. Default: one card tender. */
  tenders?: Array<{ type: Tender['type']; amount?: number }>;
}

export function makeSale(spec: SaleSpec): Sale {
  const currency = spec.currency ?? 'GBP';
  const m = (amount: number) => ({ amount, currency });
  const sign = (n: number) => (n < 0 ? -1 : 1);
  let subtotal = 0;
  let discountTotal = 0;
  let taxTotal = 0;
  let linesTotal = 0;
  const lines = spec.lines.map((l, i) => {
    const gross = l.qty * l.unit;
    const discount = (l.discount ?? 0) * sign(l.qty);
    const lineTotal = gross - discount;
    subtotal += gross;
    discountTotal += discount;
    linesTotal += lineTotal;
    const taxes = (l.taxes ?? []).map((t) => {
      taxTotal += t.amount;
      return { code: t.code, rate: t.rate, amount: m(t.amount) };
    });
    return {
      lineId: String(i + 1),
      sku: l.sku ?? `SKU-${i + 1}`,
      quantity: l.qty,
      unitPrice: m(l.unit),
      lineTotal: m(lineTotal),
      ...(discount ? { discounts: [{ kind: 'promotion' as const, amount: m(discount) }] } : {}),
      ...(taxes.length ? { taxes } : {}),
    };
  });
  const taxesIncluded = spec.taxesIncluded ?? true;
  const grand = linesTotal + (taxesIncluded ? 0 : taxTotal);
  const tenderSpecs = spec.tenders ?? [{ type: 'card' as const }];
  let left = grand;
  const tenders = tenderSpecs.map((t, i) => {
    const amount = i === tenderSpecs.length - 1 ? left : (t.amount ?? 0);
    left -= amount;
    return { type: t.type, amount: m(amount) };
  });
  return {
    kind: 'sale',
    saleId: spec.saleId,
    storeId: spec.storeId ?? 'LDN-042',
    terminalId: spec.terminalId ?? 'T03',
    sequence: spec.sequence ?? 1,
    occurredAt: `${spec.businessDate ?? '2025-03-14'}T12:00:00Z`,
    businessDate: spec.businessDate ?? '2025-03-14',
    currency,
    lines,
    tenders,
    totals: { subtotal: m(subtotal), discountTotal: m(discountTotal), taxTotal: m(taxTotal), grandTotal: m(grand) },
    taxesIncluded,
  };
}

export function keyOf(sale: Sale): string {
  return businessKey(sale as unknown as Record<string, unknown>)!;
}

export function newEntry(sale: Sale): NewRegisterEntry {
  return {
    key: keyOf(sale),
    kind: 'sale',
    storeId: sale.storeId,
    terminalId: sale.terminalId,
    businessDate: sale.businessDate,
    sequence: sale.sequence,
    amount: sale.totals.grandTotal.amount,
    currency: sale.currency,
    document: sale as unknown as Record<string, unknown>,
  };
}

export function entry(sale: Sale, externalRefs: Record<string, string> = {}, recordedAt = '2025-03-14T12:00:01.000Z'): RegisterEntry {
  return { ...newEntry(sale), recordedAt, externalRefs };
}
