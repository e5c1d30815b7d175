/**
 * A canonical JournalEntry as a CSV file, in one of two layouts (docs/ledger.md, "CSV layouts"):
 *
 *  - `xero`: Xero's manual-journal import template (Xero's help page on importing manual
 *    journals, help.xero.com "ManualJournalsImport"; docs/ledger.md, "Xero manual-journal import"):
 *      columns  *Narration, *Date, Description, *AccountCode, *TaxRate, *Amount,
 *               TrackingName1, TrackingOption1, TrackingName2, TrackingOption2
 *      *Date    dd/mm/yyyy (one of the two accepted forms; the other is "dd mmm yyyy")
 *      *Amount  signed: positive = debit, negative = credit (the same sign as a manual journal's LineAmount in Xero's API)
 *      *TaxRate the full tax-rate NAME as shown in Xero (e.g. "15% GST on Expenses"), required on
 *               every row: the line's taxCode, else the configured default (e.g. "No VAT")
 *      rows with the same Narration + Date form one journal and must net to zero; at most 300
 *      lines per file; at most two tracking categories (§5.1: Tracking[] ≤ 2).
 *    Xero manual journals are in the organisation's base currency: the layout has no currency column.
 *  - `neutral`: date, journal_id, line, account, debit, credit, tax_code, memo, source_ref, with
 *    ISO dates and decimal-text amounts (fromMinor: "12.30", "1.250" KWD, "1500" JPY), one of
 *    debit/credit filled per row.
 *
 * Either way an unbalanced journal is refused with the difference named; nothing is written for it.
 * Records end with CRLF (RFC 4180); fields are quoted only when they need it.
 */
import { stringify } from 'csv-stringify/sync';
import type { JournalEntry, JournalLine, SourceRef } from '../model/types.generated';
import { fromMinor } from '../model/money';
import { isKnownCurrency } from '../model/currencies';
import { validateDocument } from '../model/validate';

export type JournalLayout = 'xero' | 'neutral';
export const JOURNAL_LAYOUTS: readonly JournalLayout[] = ['xero', 'neutral'];

export const XERO_COLUMNS = [
  '*Narration',
  '*Date',
  'Description',
  '*AccountCode',
  '*TaxRate',
  '*Amount',
  'TrackingName1',
  'TrackingOption1',
  'TrackingName2',
  'TrackingOption2',
] as const;

export const NEUTRAL_COLUMNS = ['date', 'journal_id', 'line', 'account', 'debit', 'credit', 'tax_code', 'memo', 'source_ref'] as const;

/** Xero's import takes at most 300 lines per file (§5.3). */
export const XERO_MAX_LINES = 300;

export interface XeroLayoutOptions {
  /** Xero tax-rate name for lines without a taxCode, e.g. "No VAT", "No GST", "Tax Exempt". */
  defaultTaxRate?: string;
  /**
   * Xero tracking category name per tracking dimension, e.g. { store: "Store" }. The order of the
   * keys is the order of TrackingName1/2; a dimension without a name here uses its own key.
   */
  trackingNames?: Record<string, string>;
}

export interface JournalCsvOptions {
  xero?: XeroLayoutOptions;
}

export class JournalCsvError extends Error {
  override name = 'JournalCsvError';
}

/**
 * Throws unless every line has exactly one of debit/credit in the journal's currency and the debits
 * equal the credits; the message names the difference. Then checks the rest of the schema.
 */
export function assertBalanced(journal: JournalEntry): void {
  if (!journal || typeof journal !== 'object' || !Array.isArray(journal.lines)) {
    throw new JournalCsvError('payload is not a journal entry (expected an object with lines)');
  }
  const id = typeof journal.journalId === 'string' ? journal.journalId : '(no journalId)';
  const currency = journal.currency;
  if (!isKnownCurrency(currency)) throw new JournalCsvError(`journal ${id}: currency ${JSON.stringify(currency)} is not a known ISO 4217 currency`);
  let debit = 0n;
  let credit = 0n;
  journal.lines.forEach((line, i) => {
    const d = line?.debit;
    const c = line?.credit;
    if ((d === undefined) === (c === undefined)) {
      throw new JournalCsvError(`journal ${id}: line ${i + 1} must have exactly one of debit and credit`);
    }
    const m = (d ?? c)!;
    if (!Number.isSafeInteger(m.amount) || m.amount < 0 || m.currency !== currency) {
      throw new JournalCsvError(`journal ${id}: line ${i + 1} must carry a non-negative whole amount of minor units in ${currency}`);
    }
    if (d) debit += BigInt(m.amount);
    else credit += BigInt(m.amount);
  });
  if (debit !== credit) {
    const diff = debit - credit;
    const fmt = (v: bigint) => fromMinor(Number(v), currency);
    throw new JournalCsvError(
      `journal ${id} does not balance: debits ${fmt(debit)} ${currency}, credits ${fmt(credit)} ${currency}, difference ${fmt(diff < 0n ? -diff : diff)} ${currency} ${diff > 0n ? 'more debit' : 'more credit'}`,
    );
  }
  const result = validateDocument('journal-entry', journal);
  if (!result.valid) throw new JournalCsvError(`journal ${id} is not a valid journal entry: ${result.errors.join('; ')}`);
}

/** "2025-03-14" → "14/03/2025" (Xero's dd/mm/yyyy, §5.3). */
export function xeroDate(isoDate: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new JournalCsvError(`journal date ${JSON.stringify(isoDate)} is not YYYY-MM-DD`);
  return `${m[3]}/${m[2]}/${m[1]}`;
}

/** Signed amount in minor units: debit positive, credit negative (§5.1 LineAmount, §5.3 *Amount). */
export function signedAmount(line: JournalLine): number {
  return line.debit ? line.debit.amount : -line.credit!.amount;
}

function trackingColumns(journal: JournalEntry, options: XeroLayoutOptions): (line: JournalLine) => string[] {
  const names = options.trackingNames ?? {};
  const used = new Set<string>();
  for (const line of journal.lines) for (const [k, v] of Object.entries(line.tracking ?? {})) if (v !== undefined && v !== '') used.add(k);
  const order = [...Object.keys(names).filter((k) => used.has(k)), ...[...used].filter((k) => !(k in names)).sort()];
  if (order.length > 2) {
    throw new JournalCsvError(
      `journal ${journal.journalId} uses ${order.length} tracking dimensions (${order.join(', ')}); Xero allows at most two tracking categories`,
    );
  }
  return (line) => {
    const cells: string[] = [];
    for (let slot = 0; slot < 2; slot++) {
      const dim = order[slot];
      const value = dim === undefined ? undefined : line.tracking?.[dim];
      cells.push(value ? names[dim!] || dim! : '', value ?? '');
    }
    return cells;
  };
}

/** The rows of the Xero manual-journal import (header first). */
export function xeroRows(journal: JournalEntry, options: XeroLayoutOptions = {}): string[][] {
  assertBalanced(journal);
  if (journal.lines.length > XERO_MAX_LINES) {
    throw new JournalCsvError(
      `journal ${journal.journalId} has ${journal.lines.length} lines; Xero's manual-journal import takes at most ${XERO_MAX_LINES} per file`,
    );
  }
  const date = xeroDate(journal.date);
  const tracking = trackingColumns(journal, options);
  const fallback = options.defaultTaxRate?.trim();
  const rows: string[][] = [[...XERO_COLUMNS]];
  journal.lines.forEach((line, i) => {
    const taxRate = line.taxCode?.trim() || fallback;
    if (!taxRate) {
      throw new JournalCsvError(
        `journal ${journal.journalId} line ${i + 1} has no tax rate: Xero's *TaxRate column is required on every row; set the default tax rate (e.g. "No VAT") for lines without a tax code`,
      );
    }
    rows.push([journal.narration, date, line.memo ?? '', line.account, taxRate, fromMinor(signedAmount(line), journal.currency), ...tracking(line)]);
  });
  return rows;
}

function sourceText(refs: readonly SourceRef[] | undefined): string {
  const seen = new Set<string>();
  for (const r of refs ?? []) {
    const id = r.system === 'tillwire' ? r.id : `${r.system}:${r.id}`;
    seen.add(r.line === undefined ? id : `${id}#${r.line}`);
  }
  return [...seen].join(';');
}

/** The rows of the neutral layout (header first). */
export function neutralRows(journal: JournalEntry): string[][] {
  assertBalanced(journal);
  const rows: string[][] = [[...NEUTRAL_COLUMNS]];
  const fallbackSource = sourceText(journal.source);
  journal.lines.forEach((line, i) => {
    rows.push([
      journal.date,
      journal.journalId,
      String(i + 1),
      line.account,
      line.debit ? fromMinor(line.debit.amount, journal.currency) : '',
      line.credit ? fromMinor(line.credit.amount, journal.currency) : '',
      line.taxCode ?? '',
      line.memo ?? '',
      sourceText(line.source) || fallbackSource,
    ]);
  });
  return rows;
}

/** The CSV text of a journal in a layout. Throws JournalCsvError for an unbalanced or invalid journal. */
export function journalToCsv(journal: JournalEntry, layout: JournalLayout, options: JournalCsvOptions = {}): string {
  let rows: string[][];
  if (layout === 'xero') rows = xeroRows(journal, options.xero);
  else if (layout === 'neutral') rows = neutralRows(journal);
  else throw new JournalCsvError(`unknown journal layout ${JSON.stringify(layout)} (expected ${JOURNAL_LAYOUTS.join(' or ')})`);
  // A bare CR or LF inside a field must be quoted too, or a reader splits the record there
  // (csv-stringify only quotes the configured record delimiter, CRLF, by itself).
  return stringify(rows, { record_delimiter: '\r\n', quoted_match: /[\r\n]/ });
}
