/**
 * Canonical JournalEntry ↔ Xero ManualJournal, pure functions (docs/architecture.md, "The
 * connector form"). A journal is checked (schema, balance) before anything is built, and every
 * reason it cannot go to Xero is named with its figures:
 *
 * - Xero's manual journals carry no currency: they are in the organisation's base currency, so a
 *   journal in another currency is refused rather than posted as if it were the base currency.
 * - LineAmount is signed (debit positive, credit negative) and has at most 2 decimals. A 0-decimal
 *   currency (JPY) is sent as whole numbers; a 3-decimal one (KWD, BHD) only when each amount's
 *   third decimal is 0, otherwise it is refused, never rounded.
 * - The journal id travels in the narration (`… [tw:<journalId>]`) so a journal whose answer was
 *   lost is found again by it, and in the Idempotency-Key (`idempotencyKey`), so it is limited to
 *   119 characters and to characters a `where` filter can quote.
 * - Tracking is `{ category name: option }`, at most 2 per line, each name and option ≤ 100.
 * - A line with a tax code is tax-inclusive (`LineAmountTypes: Inclusive`): Xero splits the tax
 *   out of the line's own amount, so the journal still balances; without tax codes, `NoTax`.
 */
import { createHash } from 'node:crypto';
import { validateDocument } from '../model/validate';
import { currencyExponent, fromMinor, toMinor } from '../model/money';
import type { JournalEntry } from '../model/types.generated';
import {
  AMOUNT_DECIMALS,
  IDEMPOTENCY_KEY_MAX,
  MAX_TRACKING_PER_LINE,
  TRACKING_TEXT_MAX,
  parseMsDate,
  type JournalStatus,
  type XeroJournalLine,
  type XeroManualJournal,
} from './contract';

/** A journal that cannot be sent to Xero as it is; `problems` names each reason. */
export class JournalMappingError extends Error {
  override name = 'JournalMappingError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** The narration suffix that carries the journal id. */
export function journalMarker(journalId: string): string {
  return `[tw:${journalId}]`;
}

/** The journal id a Xero narration carries, if any. */
export function journalIdOf(narration: string | undefined): string | undefined {
  return /\[tw:([^\]]+)\]$/.exec(narration ?? '')?.[1];
}

/** Characters the Idempotency-Key adds to the journal id: '/' and 8 hex digits of the request. */
const KEY_SUFFIX = 9;

/**
 * The Idempotency-Key of a journal's create: its id plus a digest of the request. The same journal
 * sent again carries the same key (Xero answers the first answer, nothing is created); a journal
 * corrected after a refusal carries a new one, since Xero also keeps refusals under their key
 * and would refuse the corrected request as "used with a different request" for minutes.
 */
export function idempotencyKey(journalId: string, journal: XeroManualJournal): string {
  return `${journalId}/${createHash('sha256')
    .update(JSON.stringify(journal))
    .digest('hex')
    .slice(0, KEY_SUFFIX - 1)}`;
}

/** Why a journal id cannot go into the Idempotency-Key and a quoted `where` value, or undefined. */
export function journalIdProblem(journalId: string): string | undefined {
  const max = IDEMPOTENCY_KEY_MAX - KEY_SUFFIX;
  if (journalId.length > max) return `journalId is ${journalId.length} characters; at most ${max} fit Xero's Idempotency-Key (${IDEMPOTENCY_KEY_MAX})`;
  // eslint-disable-next-line no-control-regex
  if (/["\\\]\u0000-\u001f]/.test(journalId)) return 'journalId contains a quote, backslash, ] or control character, which Xero filters cannot carry';
  return undefined;
}

/** A minor-unit amount as Xero's LineAmount (≤ 2 decimals), or a problem naming the figure. */
export function lineAmount(minor: number, currency: string): { value: number } | { problem: string } {
  const exponent = currencyExponent(currency);
  let text = fromMinor(minor, currency);
  if (exponent > AMOUNT_DECIMALS) {
    const extra = text.slice(text.length - (exponent - AMOUNT_DECIMALS));
    if (/[^0]/.test(extra)) return { problem: `${text} ${currency} has ${exponent} decimals; Xero amounts carry ${AMOUNT_DECIMALS}` };
    text = text.slice(0, text.length - (exponent - AMOUNT_DECIMALS));
  }
  const value = Number(text);
  // A JSON number is written by its shortest round-trip text: it must be this text, digit for digit.
  let exact = false;
  try {
    exact = toMinor(String(value), currency) === minor;
  } catch {
    exact = false;
  }
  if (!exact) return { problem: `${text} ${currency} has too many digits to send exactly as a JSON number` };
  return { value };
}

export interface MapOptions {
  /** The organisation's base currency (Organisation.BaseCurrency). */
  baseCurrency: string;
  /** POSTED (default) or DRAFT. */
  status?: Extract<JournalStatus, 'POSTED' | 'DRAFT'>;
}

/** Builds the ManualJournal for a canonical journal, or throws JournalMappingError naming every problem. */
export function toManualJournal(doc: unknown, opts: MapOptions): XeroManualJournal {
  const checked = validateDocument('journal-entry', doc);
  if (!checked.valid) throw new JournalMappingError(checked.errors);
  const entry = doc as JournalEntry;
  const problems: string[] = [];
  const idProblem = journalIdProblem(entry.journalId);
  if (idProblem) problems.push(idProblem);
  if (entry.currency !== opts.baseCurrency) {
    problems.push(`journal is in ${entry.currency} but Xero manual journals are in the organisation's base currency ${opts.baseCurrency}`);
  }
  const lines: XeroJournalLine[] = [];
  entry.lines.forEach((line, i) => {
    const where = `lines[${i}] (account ${line.account})`;
    const minor = line.debit ? line.debit.amount : -line.credit!.amount;
    const amount = lineAmount(minor, entry.currency);
    if ('problem' in amount) problems.push(`${where}: ${amount.problem}`);
    const tracking = Object.entries(line.tracking ?? {}).map(([Name, Option]) => ({ Name, Option: String(Option ?? '') }));
    if (tracking.length > MAX_TRACKING_PER_LINE)
      problems.push(`${where}: ${tracking.length} tracking categories; Xero takes at most ${MAX_TRACKING_PER_LINE} per line`);
    for (const t of tracking) {
      if (!t.Name || !t.Option) problems.push(`${where}: tracking category and option must not be empty`);
      if (t.Name.length > TRACKING_TEXT_MAX || t.Option.length > TRACKING_TEXT_MAX)
        problems.push(`${where}: tracking '${t.Name.slice(0, 20)}' is longer than ${TRACKING_TEXT_MAX} characters`);
    }
    lines.push({
      LineAmount: 'value' in amount ? amount.value : 0,
      AccountCode: line.account,
      ...(line.memo ? { Description: line.memo } : {}),
      ...(line.taxCode ? { TaxType: line.taxCode } : {}),
      ...(tracking.length ? { Tracking: tracking } : {}),
    });
  });
  if (problems.length) throw new JournalMappingError(problems);
  return {
    Narration: `${entry.narration} ${journalMarker(entry.journalId)}`,
    Date: entry.date,
    Status: opts.status ?? 'POSTED',
    LineAmountTypes: entry.lines.some((l) => l.taxCode) ? 'Inclusive' : 'NoTax',
    JournalLines: lines,
  };
}

/** What was posted, read back from Xero. */
export interface PostingStatus {
  journalId?: string;
  manualJournalId: string;
  status: string;
  /** YYYY-MM-DD. */
  date?: string;
  narration: string;
  lines: number;
  /** Σ of the debit lines, in minor units of `currency`. */
  debitTotal: number;
  currency: string;
  updatedAt?: string;
}

/** Reads a ManualJournal answer into a posting status; amounts are read by their digits. */
export function postingStatus(mj: XeroManualJournal, currency: string): PostingStatus {
  let debitTotal = 0;
  for (const line of mj.JournalLines ?? []) {
    const minor = toMinor(String(line.LineAmount), currency);
    if (minor > 0) debitTotal += minor;
  }
  const date = parseMsDate(mj.Date) ?? mj.Date;
  return {
    journalId: journalIdOf(mj.Narration),
    manualJournalId: mj.ManualJournalID ?? '',
    status: mj.Status ?? 'UNKNOWN',
    date: date?.slice(0, 10),
    narration: mj.Narration,
    lines: mj.JournalLines?.length ?? 0,
    debitTotal,
    currency,
    updatedAt: parseMsDate(mj.UpdatedDateUTC),
  };
}
