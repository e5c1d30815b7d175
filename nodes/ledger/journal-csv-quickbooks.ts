/**
 * The `quickbooks` journal file layout: QuickBooks Online's journal-entry import (Settings ▸
 * Import data ▸ Journal entries; Intuit's help article "Import journal entries", which lists
 * Journal No., Journal Date, Account Name, Debits, Credits and Description, with Name for A/P and
 * A/R lines and Class and Location when those are tracked; the multicurrency import adds the
 * currency):
 *
 *   Journal No     21 characters at most (QuickBooks' DocNumber): journalNumber(journalId), the
 *                  same number the QuickBooks connector gives the journal; rows with the same
 *                  number form one entry
 *   Journal Date   MM/DD/YYYY (US companies) or DD/MM/YYYY (most others), as the company's
 *                  region writes dates
 *   Account Name   the account's name as in the chart of accounts (Parent:Sub for a
 *                  sub-account): from the configured code → name list; without a list, the code
 *   Debits/Credits positive decimal text with the currency's decimals, one of the two per row;
 *                  a zero line is left out (QuickBooks records nothing for it)
 *   Description    the line memo, then the journal's narration
 *   Name           empty (settlement and store journals post to no customer or supplier)
 *   Currency       the journal's currency (read by companies with multicurrency on)
 *   Location/Class the value of the configured tracking dimension
 */
import type { JournalEntry } from '../model/types.generated';
import { fromMinor } from '../model/money';
import { journalNumber } from '../model/journal-number';
import { isSafeCode, textCell } from './csv-cells';
import { checkJournal, JournalCsvError } from './journal-check';

export const QUICKBOOKS_COLUMNS = [
  'Journal No',
  'Journal Date',
  'Account Name',
  'Debits',
  'Credits',
  'Description',
  'Name',
  'Currency',
  'Location',
  'Class',
] as const;

/** Longest line description QuickBooks Online keeps (4,000 characters). */
export const QUICKBOOKS_DESCRIPTION_MAX = 4000;

export type QuickBooksDateFormat = 'MM/DD/YYYY' | 'DD/MM/YYYY';
export const QUICKBOOKS_DATE_FORMATS: readonly QuickBooksDateFormat[] = ['MM/DD/YYYY', 'DD/MM/YYYY'];

export interface QuickBooksLayoutOptions {
  /** Default MM/DD/YYYY. */
  dateFormat?: QuickBooksDateFormat;
  /** Account code → QuickBooks account name. When any is given, every account of a journal must be listed. */
  accountNames?: Record<string, string>;
  /** Tracking dimension whose value is written as the line's Class, e.g. "channel". */
  classFrom?: string;
  /** Tracking dimension whose value is written as the line's Location, e.g. "marketplace" or "store". */
  locationFrom?: string;
}

export function quickBooksDate(isoDate: string, format: QuickBooksDateFormat = 'MM/DD/YYYY'): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) throw new JournalCsvError(`journal date ${JSON.stringify(isoDate)} is not YYYY-MM-DD`);
  return format === 'DD/MM/YYYY' ? `${m[3]}/${m[2]}/${m[1]}` : `${m[2]}/${m[3]}/${m[1]}`;
}

/** The rows of the QuickBooks Online journal-entry import (header first). */
export function quickBooksRows(journal: JournalEntry, options: QuickBooksLayoutOptions = {}): string[][] {
  checkJournal(journal);
  const id = journal.journalId;
  if (options.dateFormat !== undefined && !QUICKBOOKS_DATE_FORMATS.includes(options.dateFormat)) {
    throw new JournalCsvError(`unknown QuickBooks date format ${JSON.stringify(options.dateFormat)} (expected ${QUICKBOOKS_DATE_FORMATS.join(' or ')})`);
  }
  const date = quickBooksDate(journal.date, options.dateFormat);
  const names = options.accountNames ?? {};
  const named = Object.keys(names).length > 0;
  const lines = journal.lines.filter((l) => (l.debit ?? l.credit)!.amount !== 0);
  if (lines.length === 0) throw new JournalCsvError(`journal ${id} has no line with an amount: QuickBooks has nothing to import`);
  const unnamed = [...new Set(lines.map((l) => l.account).filter((a) => !names[a]))];
  if (named && unnamed.length) {
    const listed = unnamed.length > 10 ? `${unnamed.slice(0, 10).join(', ')} and ${unnamed.length - 10} more` : unnamed.join(', ');
    throw new JournalCsvError(`journal ${id}: no QuickBooks account name for account ${listed}; add "code=name" to the account names`);
  }
  for (const name of Object.values(names)) {
    if (!isSafeCode(name)) throw new JournalCsvError(`the QuickBooks account name ${JSON.stringify(name)} starts with a formula character`);
  }
  const number = journalNumber(id);
  const rows: string[][] = [[...QUICKBOOKS_COLUMNS]];
  for (const line of lines) {
    const description = [line.memo?.trim(), journal.narration].filter(Boolean).join(' | ');
    if (description.length > QUICKBOOKS_DESCRIPTION_MAX) {
      throw new JournalCsvError(
        `journal ${id}: the description of account ${line.account}'s line is ${description.length} characters; QuickBooks keeps ${QUICKBOOKS_DESCRIPTION_MAX}`,
      );
    }
    rows.push([
      number,
      date,
      named ? names[line.account] : line.account,
      line.debit ? fromMinor(line.debit.amount, journal.currency) : '',
      line.credit ? fromMinor(line.credit.amount, journal.currency) : '',
      textCell(description),
      '',
      journal.currency,
      (options.locationFrom && line.tracking?.[options.locationFrom]) || '',
      (options.classFrom && line.tracking?.[options.classFrom]) || '',
    ]);
  }
  return rows;
}
