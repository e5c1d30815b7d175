/**
 * A canonical JournalEntry as a QuickBooks Online JournalEntry (pure functions, docs/connectors/quickbooks.md):
 * - TxnDate = the journal's date; DocNumber = "TW" + 19 characters of a hash of the journalId
 *   (21, DOC_NUMBER_MAX), the same for every copy of the journal; PrivateNote starts with
 *   `tillwire:<journalId>` on its own line, so a lookup can tell our entry from a foreign one
 *   with the same DocNumber, then the narration;
 * - one Line per non-zero canonical line: PostingType Debit or Credit, AccountRef, Description
 *   (the line's memo), ClassRef / DepartmentRef from the tracking dimensions configured;
 * - Amount written from the minor units as exact decimal text (money.ts), never through a float:
 *   the JSON is built by `toQboJson`, which writes it as a number token with exactly those digits;
 * - CurrencyRef and ExchangeRate (home-currency units per unit) when the journal's currency is not
 *   the company's home currency.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { JournalEntry, JournalLine } from '../model/types.generated';
import { fromMinor, MoneyError } from '../model/money';
import { isKnownCurrency } from '../model/currencies';
import { parseDecimal, trimDecimal, formatDecimal } from '../model/decimal';
import { ConnectorError, permanentFailure } from '../runtime/errors';
import { DESCRIPTION_MAX, EXCHANGE_RATE_MAX_DECIMALS, LINE_DETAIL_TYPE, PostingType, PRIVATE_NOTE_MAX, REQUEST_ID_MAX } from './contract';
import { journalNumber } from '../model/journal-number';

const SYSTEM = 'quickbooks';

export interface QboMapOptions {
  /** The company's home currency (ISO 4217). */
  homeCurrency: string;
  /** Home-currency units per unit of the journal's currency, as decimal text; needed when they differ. */
  exchangeRate?: string;
  /** Ledger account code → QuickBooks Account Id; a code not listed is sent as the Id. */
  accounts?: Readonly<Record<string, string>>;
  /** The tracking dimension whose value becomes the line's ClassRef, and value → Class Id (the value itself when not listed). */
  classFrom?: string;
  classes?: Readonly<Record<string, string>>;
  /** The tracking dimension whose value becomes the line's DepartmentRef (QuickBooks "location"), and value → Department Id. */
  departmentFrom?: string;
  departments?: Readonly<Record<string, string>>;
}

/** An amount to be written as a JSON number token with exactly these digits. */
export class ExactDecimal {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `${SENTINEL}${this.text}`;
  }
}

// A per-process marker no input can know in advance, so no string of a journal is mistaken for an amount.
const SENTINEL = `~tw-decimal-${randomBytes(6).toString('hex')}~`;
const SENTINEL_VALUE = new RegExp(`"${SENTINEL}(-?\\d+(?:\\.\\d+)?)"`, 'g');

export interface QboRef {
  value: string;
  name?: string;
}

export interface QboLineInput {
  Description?: string;
  Amount: ExactDecimal;
  DetailType: typeof LINE_DETAIL_TYPE;
  JournalEntryLineDetail: { PostingType: PostingType; AccountRef: QboRef; ClassRef?: QboRef; DepartmentRef?: QboRef };
}

export interface QboJournalEntryInput {
  TxnDate: string;
  DocNumber: string;
  PrivateNote: string;
  CurrencyRef?: QboRef;
  ExchangeRate?: ExactDecimal;
  Line: QboLineInput[];
}

/** The JSON text of a body, amounts written with their exact digits. */
export function toQboJson(body: unknown): string {
  return JSON.stringify(body).replace(SENTINEL_VALUE, '$1');
}

/** The DocNumber of a journal: the journal number every QuickBooks-facing output uses (21 characters, model/journal-number.ts). */
export const docNumberFor = journalNumber;

/**
 * The `requestid` of one journal's create: derived from the journalId and the exact body, so
 * every resend of this request is the same request to Intuit, and a corrected journal (a changed
 * body) is a new one rather than a replay of the refused answer.
 */
export function requestIdFor(journalId: string, bodyJson: string): string {
  const id = `tw-${createHash('sha256').update(journalId, 'utf8').update('\u0000').update(bodyJson, 'utf8').digest('hex').slice(0, 40)}`;
  return id.slice(0, REQUEST_ID_MAX);
}

/** The first line of PrivateNote that marks an entry as this journal's. */
export function journalMarker(journalId: string): string {
  return `tillwire:${journalId}`;
}

/** Whether a QuickBooks entry's PrivateNote marks it as this journal's. */
export function isEntryOf(entry: { PrivateNote?: string }, journalId: string): boolean {
  return typeof entry.PrivateNote === 'string' && entry.PrivateNote.split('\n', 1)[0] === journalMarker(journalId);
}

function refused(description: string, kind: 'value' | 'missing-reference' = 'value'): ConnectorError {
  return permanentFailure(SYSTEM, 'journalentry.map', description, { kind, providerCode: 'mapping' });
}

/** Maps a (validated) canonical journal; a journal QuickBooks cannot take is a `value` ConnectorError naming why. */
export function toQboJournalEntry(journal: JournalEntry, options: QboMapOptions): QboJournalEntryInput {
  const currency = journal.currency;
  if (!isKnownCurrency(currency)) throw refused(`unknown currency ${JSON.stringify(currency)}`);
  if (!isKnownCurrency(options.homeCurrency)) throw refused(`the company's home currency ${JSON.stringify(options.homeCurrency)} is not an ISO 4217 code`);
  const lines: QboLineInput[] = [];
  journal.lines.forEach((line, i) => {
    const mapped = toQboLine(line, i, currency, options);
    if (mapped) lines.push(mapped);
  });
  if (lines.length < 2) throw refused(`journal ${journal.journalId} has ${lines.length} non-zero line(s); QuickBooks needs at least a debit and a credit`);
  const entry: QboJournalEntryInput = {
    TxnDate: journal.date,
    DocNumber: docNumberFor(journal.journalId),
    PrivateNote: `${journalMarker(journal.journalId)}\n${journal.narration}`.slice(0, PRIVATE_NOTE_MAX),
    Line: lines,
  };
  if (currency !== options.homeCurrency) {
    entry.CurrencyRef = { value: currency };
    entry.ExchangeRate = new ExactDecimal(exchangeRateText(options.exchangeRate, currency, options.homeCurrency));
  }
  return entry;
}

function toQboLine(line: JournalLine, i: number, currency: string, options: QboMapOptions): QboLineInput | undefined {
  const at = `line ${i + 1}`;
  if (line.taxCode !== undefined) {
    throw refused(
      `${at} has tax code ${JSON.stringify(line.taxCode)}: QuickBooks journal lines need the tax amount and direction as well; post tax to its own account instead`,
    );
  }
  const money = line.debit ?? line.credit;
  if (!money || (line.debit && line.credit)) throw refused(`${at} needs exactly one of debit and credit`);
  if (money.currency !== currency) throw refused(`${at} is in ${money.currency}, the journal in ${currency}`);
  if (!Number.isSafeInteger(money.amount) || money.amount < 0) throw refused(`${at} amount ${money.amount} is not a non-negative integer of minor units`);
  if (money.amount === 0) return undefined; // QuickBooks records nothing for it
  let amount: string;
  try {
    amount = fromMinor(money.amount, currency);
  } catch (err) {
    throw refused(`${at}: ${(err as MoneyError).message}`);
  }
  const detail: QboLineInput['JournalEntryLineDetail'] = {
    PostingType: line.debit ? 'Debit' : 'Credit',
    AccountRef: { value: options.accounts?.[line.account] ?? line.account },
  };
  const cls = options.classFrom ? line.tracking?.[options.classFrom] : undefined;
  if (cls !== undefined) detail.ClassRef = { value: options.classes?.[cls] ?? cls };
  const dept = options.departmentFrom ? line.tracking?.[options.departmentFrom] : undefined;
  if (dept !== undefined) detail.DepartmentRef = { value: options.departments?.[dept] ?? dept };
  const out: QboLineInput = { Amount: new ExactDecimal(amount), DetailType: LINE_DETAIL_TYPE, JournalEntryLineDetail: detail };
  if (line.memo) out.Description = line.memo.slice(0, DESCRIPTION_MAX);
  return out;
}

/** The exchange rate as exact decimal text: positive, at most EXCHANGE_RATE_MAX_DECIMALS decimals. */
function exchangeRateText(rate: string | undefined, currency: string, home: string): string {
  if (rate === undefined || rate === '') throw refused(`journal in ${currency} needs an exchange rate to ${home}, the company's home currency`);
  let d;
  try {
    d = trimDecimal(parseDecimal(rate, { what: 'exchange rate' }));
  } catch (err) {
    throw refused((err as Error).message);
  }
  if (d.units <= 0n) throw refused(`exchange rate ${rate} must be greater than zero`);
  if (d.scale > EXCHANGE_RATE_MAX_DECIMALS) throw refused(`exchange rate ${rate} has more than ${EXCHANGE_RATE_MAX_DECIMALS} decimals`);
  return formatDecimal(d);
}
