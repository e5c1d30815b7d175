/**
 * A canonical JournalEntry as a CSV file, in one of three layouts (docs/ledger.md, "CSV layouts"):
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
 *      lines per file; at most two tracking categories (Xero's ManualJournal line: Tracking ≤ 2).
 *    Xero manual journals are in the organisation's base currency: the layout has no currency
 *    column. Xero amounts have at most two decimals (the API's LineAmount), so an amount of a
 *    3-decimal currency is written only when its third decimal is 0, never rounded.
 *  - `quickbooks`: QuickBooks Online's journal-entry import (journal-csv-quickbooks.ts).
 *  - `neutral`: every field of the journal, one row per line: date, journal_id, line, account,
 *    debit, credit, tax_code, memo, source_ref, then currency, tracking, attributes (of the line),
 *    narration and journal_attributes; tracking and attributes as `key=value;…` (pairsText); ISO
 *    dates and decimal-text amounts (fromMinor: "12.30", "1.250" KWD, "1500" JPY), one of
 *    debit/credit filled per row.
 *
 * Every layout refuses an unbalanced journal with the difference named (nothing is written for
 * it) and guards its cells against spreadsheet formulas (csv-cells.ts). Records end with CRLF
 * (RFC 4180); fields are quoted only when they need it.
 */
import { stringify } from 'csv-stringify/sync';
import type { JournalEntry, JournalLine, SourceRef } from '../model/types.generated';
import { currencyExponent, fromMinor } from '../model/money';
import { textCell, isSafeCode } from './csv-cells';
import { checkJournal, JournalCsvError, signedAmount } from './journal-check';
import { quickBooksRows, type QuickBooksLayoutOptions } from './journal-csv-quickbooks';

export { assertBalanced, JournalCsvError, signedAmount } from './journal-check';
export { QUICKBOOKS_COLUMNS, quickBooksRows, type QuickBooksLayoutOptions } from './journal-csv-quickbooks';

export type JournalLayout = 'xero' | 'quickbooks' | 'neutral';
export const JOURNAL_LAYOUTS: readonly JournalLayout[] = ['xero', 'quickbooks', 'neutral'];

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

export const NEUTRAL_COLUMNS = [
  'date',
  'journal_id',
  'line',
  'account',
  'debit',
  'credit',
  'tax_code',
  'memo',
  'source_ref',
  'currency',
  'tracking',
  'attributes',
  'narration',
  'journal_attributes',
] as const;

/** Xero's import takes at most 300 lines per file (Xero's ManualJournalsImport help page). */
export const XERO_MAX_LINES = 300;
/** Xero amounts have at most two decimals (ManualJournal LineAmount). */
const XERO_DECIMALS = 2;
/** A tracking dimension given this name in the Xero tracking setting is left out of the file. */
export const XERO_SKIP_TRACKING = '-';

export interface XeroLayoutOptions {
  /** Xero tax-rate name for lines without a taxCode, e.g. "No VAT", "No GST", "Tax Exempt". */
  defaultTaxRate?: string;
  /**
   * Xero tracking category name per tracking dimension, e.g. { store: "Store" }. The order of the
   * keys is the order of TrackingName1/2; a dimension without a name here uses its own key; a
   * dimension named "-" is not written (settlement journals carry channel, marketplace, brand,
   * store: pick the two Xero tracks).
   */
  trackingNames?: Record<string, string>;
}

export interface JournalCsvOptions {
  xero?: XeroLayoutOptions;
  quickbooks?: QuickBooksLayoutOptions;
}

/** "2025-03-14" → "14/03/2025" (Xero's dd/mm/yyyy). */
export function xeroDate(isoDate: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new JournalCsvError(`journal date ${JSON.stringify(isoDate)} is not YYYY-MM-DD`);
  return `${m[3]}/${m[2]}/${m[1]}`;
}

function trackingColumns(journal: JournalEntry, options: XeroLayoutOptions): (line: JournalLine) => string[] {
  const names = options.trackingNames ?? {};
  const used = new Set<string>();
  for (const line of journal.lines)
    for (const [k, v] of Object.entries(line.tracking ?? {})) if (v !== undefined && v !== '' && names[k] !== XERO_SKIP_TRACKING) used.add(k);
  const order = [...Object.keys(names).filter((k) => used.has(k)), ...[...used].filter((k) => !(k in names)).sort()];
  if (order.length > 2) {
    throw new JournalCsvError(
      `journal ${journal.journalId} uses ${order.length} tracking dimensions (${order.join(', ')}); Xero allows at most two tracking categories (name the others "-" in the tracking setting to leave them out)`,
    );
  }
  for (const dim of order) {
    const name = names[dim] || dim;
    if (!isSafeCode(name)) throw new JournalCsvError(`the Xero tracking category name ${JSON.stringify(name)} starts with a formula character`);
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

/** The *Amount of a line: signed decimal text, refused when a 3-decimal currency's amount needs its third decimal. */
function xeroAmount(journal: JournalEntry, line: JournalLine, index: number): string {
  const signed = signedAmount(line);
  const extra = currencyExponent(journal.currency) - XERO_DECIMALS;
  if (extra > 0 && signed % 10 ** extra !== 0) {
    throw new JournalCsvError(
      `journal ${journal.journalId} line ${index + 1}: ${fromMinor(signed, journal.currency)} ${journal.currency} has more than ${XERO_DECIMALS} decimals; Xero amounts have at most ${XERO_DECIMALS} and Tillwire does not round`,
    );
  }
  return fromMinor(signed, journal.currency);
}

/** The rows of the Xero manual-journal import (header first). */
export function xeroRows(journal: JournalEntry, options: XeroLayoutOptions = {}): string[][] {
  checkJournal(journal);
  if (journal.lines.length > XERO_MAX_LINES) {
    throw new JournalCsvError(
      `journal ${journal.journalId} has ${journal.lines.length} lines; Xero's manual-journal import takes at most ${XERO_MAX_LINES} per file`,
    );
  }
  const date = xeroDate(journal.date);
  const tracking = trackingColumns(journal, options);
  const fallback = options.defaultTaxRate?.trim();
  if (fallback && !isSafeCode(fallback)) throw new JournalCsvError(`the default Xero tax rate ${JSON.stringify(fallback)} starts with a formula character`);
  const narration = textCell(journal.narration);
  const rows: string[][] = [[...XERO_COLUMNS]];
  journal.lines.forEach((line, i) => {
    const taxRate = line.taxCode?.trim() || fallback;
    if (!taxRate) {
      throw new JournalCsvError(
        `journal ${journal.journalId} line ${i + 1} has no tax rate: Xero's *TaxRate column is required on every row; set the default tax rate (e.g. "No VAT") for lines without a tax code`,
      );
    }
    rows.push([narration, date, textCell(line.memo), line.account, taxRate, xeroAmount(journal, line, i), ...tracking(line)]);
  });
  return rows;
}

/** `system:id#line` per source, `;`-separated; a Tillwire document by its business key alone. */
export function sourceText(refs: readonly SourceRef[] | undefined): string {
  const seen = new Set<string>();
  for (const r of refs ?? []) {
    const id = r.system === 'tillwire' ? r.id : `${r.system}:${r.id}`;
    seen.add(r.line === undefined ? id : `${id}#${r.line}`);
  }
  return [...seen].join(';');
}

/**
 * Tracking and attributes as `key=value;key=value`, in the record's order; a `%`, `;` or `=` inside a
 * key or value is written as `%25`, `%3B`, `%3D`, so the text splits back exactly.
 */
export function pairsText(record: Readonly<Record<string, string | undefined>> | undefined): string {
  const esc = (text: string) => text.replace(/[%;=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return Object.entries(record ?? {})
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .join(';');
}

/** The rows of the neutral layout (header first). */
export function neutralRows(journal: JournalEntry): string[][] {
  checkJournal(journal);
  const rows: string[][] = [[...NEUTRAL_COLUMNS]];
  const fallbackSource = sourceText(journal.source);
  const narration = textCell(journal.narration);
  const journalAttributes = textCell(pairsText(journal.attributes));
  journal.lines.forEach((line, i) => {
    rows.push([
      journal.date,
      journal.journalId,
      String(i + 1),
      line.account,
      line.debit ? fromMinor(line.debit.amount, journal.currency) : '',
      line.credit ? fromMinor(line.credit.amount, journal.currency) : '',
      line.taxCode ?? '',
      textCell(line.memo),
      textCell(sourceText(line.source) || fallbackSource),
      journal.currency,
      pairsText(line.tracking),
      textCell(pairsText(line.attributes)),
      narration,
      journalAttributes,
    ]);
  });
  return rows;
}

/** The CSV text of a journal in a layout. Throws JournalCsvError for an unbalanced or invalid journal. */
export function journalToCsv(journal: JournalEntry, layout: JournalLayout, options: JournalCsvOptions = {}): string {
  let rows: string[][];
  if (layout === 'xero') rows = xeroRows(journal, options.xero);
  else if (layout === 'quickbooks') rows = quickBooksRows(journal, options.quickbooks);
  else if (layout === 'neutral') rows = neutralRows(journal);
  else throw new JournalCsvError(`unknown journal layout ${JSON.stringify(layout)} (expected ${JOURNAL_LAYOUTS.join(', ')})`);
  // A bare CR or LF inside a field must be quoted too, or a reader splits the record there
  // (csv-stringify only quotes the configured record delimiter, CRLF, by itself).
  return stringify(rows, { record_delimiter: '\r\n', quoted_match: /[\r\n]/ });
}
