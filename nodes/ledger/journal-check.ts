/**
 * What every journal file layout checks before it writes a row (docs/ledger.md, "CSV layouts"):
 * the journal balances to the minor unit, is a valid canonical JournalEntry, and carries no value
 * a ledger matches exactly that a spreadsheet would run as a formula (csv-cells.ts).
 */
import type { JournalEntry, JournalLine } from '../model/types.generated';
import { fromMinor } from '../model/money';
import { isKnownCurrency } from '../model/currencies';
import { validateDocument } from '../model/validate';
import { isSafeCode } from './csv-cells';

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

/** Refuses a journal id, account, tax code or tracking dimension that a spreadsheet would read as a formula. */
export function assertSafeCodes(journal: JournalEntry): void {
  const refuse = (what: string, value: string) =>
    new JournalCsvError(
      `journal ${journal.journalId}: ${what} ${JSON.stringify(value.slice(0, 40))} starts with a formula character (= + - @, tab or CR); refused so that no spreadsheet runs it`,
    );
  if (!isSafeCode(journal.journalId)) throw refuse('the journal id', journal.journalId);
  journal.lines.forEach((line, i) => {
    if (!isSafeCode(line.account)) throw refuse(`line ${i + 1}: account`, line.account);
    if (line.taxCode !== undefined && !isSafeCode(line.taxCode)) throw refuse(`line ${i + 1}: tax code`, line.taxCode);
    for (const [dim, value] of Object.entries(line.tracking ?? {})) {
      if (!isSafeCode(dim)) throw refuse(`line ${i + 1}: tracking dimension`, dim);
      if (typeof value === 'string' && !isSafeCode(value)) throw refuse(`line ${i + 1}: tracking ${dim}`, value);
    }
  });
}

/** Every check a layout needs before writing. */
export function checkJournal(journal: JournalEntry): void {
  assertBalanced(journal);
  assertSafeCodes(journal);
}

/** Signed amount in minor units: debit positive, credit negative (Xero's LineAmount and import *Amount). */
export function signedAmount(line: JournalLine): number {
  return line.debit ? line.debit.amount : -line.credit!.amount;
}
