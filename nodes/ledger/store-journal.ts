/**
 * The store-day journal: one balanced canonical JournalEntry summarising every sale a store booked
 * to one business date (docs/ledger.md, "Posting rules").
 *
 * Posting rules (amounts are the sales' own figures in integer minor units; nothing is recomputed):
 *
 *  1. Tenders, per tender type, to that type's clearing account (mapping.tenderAccounts):
 *     the sum of the positive tender amounts (money taken) is a DEBIT "Takings: <type>";
 *     the sum of the negative tender amounts (money paid back to customers) is a CREDIT
 *     "Refunds paid out: <type>".
 *  2. Revenue net of tax, per revenue group: a sale line's group is the set of (tax code, rate) on
 *     it, and its rate is the exact sum of those rates ("none" when the line has no tax line).
 *     net of tax = lineTotal − Σ line taxes when the sale's taxesIncluded is true, else lineTotal.
 *     Lines sold (quantity > 0) sum to a CREDIT "Sales at <rate>"; lines returned (quantity < 0)
 *     sum to a DEBIT "Returns at <rate>" (returns reduce revenue). The account is
 *     mapping.revenueAccounts[rate] (or ["none"] for untaxed lines), else defaultRevenueAccount.
 *  3. Tax payable, per (tax code, rate), from the sale lines' own tax lines: tax on sold lines is a
 *     CREDIT "<code> <rate> on sales", tax on returned lines a DEBIT "<code> <rate> on returns",
 *     to mapping.taxAccounts["<code>@<rate>"], else mapping.taxAccounts["<code>"].
 *  Each of these sums keeps its side unless it comes out with the opposite sign (an unusual sale),
 *  in which case it is posted on the other side; a sum of zero is not posted.
 *
 * Why it balances exactly: per sale, credits − debits = Σ net of tax + Σ tax − Σ tenders
 *  = (Σ lineTotal + (taxesIncluded ? 0 : Σ tax)) − Σ tenders = grandTotal − grandTotal = 0.
 * Every sale is checked for exactly that (tenders = grand total = lines (+ tax)) before anything is
 * posted; a sale that does not add up is an error naming the sale, never a plug to a rounding or
 * suspense account. For the same reason the optional roundingAccount is accepted but nothing is
 * posted to it: the canonical Sale carries no cash-rounding amount (a till that rounds cash posts
 * the rounding as a sale line, which lands in revenue like any other line).
 *
 * Every line carries the tracking dimension `store` and the source lines it was summed from
 * (SourceRef with system "tillwire", the sale's business key, and the 1-based line or tender
 * position); the journal's `source` lists every sale. The journal id is
 * `store-day:<storeId>:<businessDate>`, so re-running a day (after a late sale arrived, say)
 * produces the same id and replaces the earlier journal wherever the id is the idempotency key.
 */
import type { JournalEntry, JournalLine, Sale, SourceRef, Tender } from '../model/types.generated';
import { businessKey, validateDocument } from '../model/validate';
import { sumMoney } from '../model/money';
import { isKnownCurrency } from '../model/currencies';
import { addRates, normaliseRate, ratePercent, TaxRateError } from './tax-rate';

export type TenderType = Tender['type'];

/** Tender types in the order their lines appear in the journal. */
export const TENDER_TYPES: readonly TenderType[] = ['cash', 'card', 'gift_card', 'voucher', 'store_credit', 'mobile', 'other'];

const TENDER_LABEL: Record<TenderType, string> = {
  cash: 'cash',
  card: 'card',
  gift_card: 'gift card',
  voucher: 'voucher',
  store_credit: 'store credit',
  mobile: 'mobile',
  other: 'other',
};

/** Ledger accounts for a store-day journal. */
export interface StoreJournalMapping {
  /**
   * Revenue account per tax rate. Keys are the rate as a decimal fraction or a percentage
   * ("0.20", "20%", "0.08875"; "0.2" and "0.200" are the same key) or "none" for lines without tax.
   */
  revenueAccounts?: Record<string, string>;
  /** Revenue account for any rate not listed in revenueAccounts. */
  defaultRevenueAccount?: string;
  /** Tax payable account per tax code ("VAT-STD") or per code and rate ("VAT-STD@0.20"; the more specific key wins). */
  taxAccounts?: Record<string, string>;
  /**
   * Optional ledger tax code per canonical tax code, written as JournalLine.taxCode on that code's
   * tax lines and on revenue lines taxed by that code alone.
   */
  ledgerTaxCodes?: Record<string, string>;
  /** Clearing account per tender type (card clearing, cash in transit, gift card liability...). */
  tenderAccounts?: Partial<Record<TenderType, string>>;
  /** Accepted for configuration compatibility; never posted to (see the module comment). */
  roundingAccount?: string;
}

export interface StoreJournalOptions {
  storeId: string;
  businessDate: string;
  currency: string;
  /** Journal narration; default "Store <storeId> takings <businessDate>". */
  narration?: string;
}

/** A sale that does not add up, or a day that cannot be journalled; `problems` lists each reason. */
export class StoreJournalError extends Error {
  override name = 'StoreJournalError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** A tender type, tax code or revenue rate the mapping has no account for. */
export class MappingError extends StoreJournalError {
  override name = 'MappingError';
}

/** No sale (or nothing but zero amounts) for the store day. */
export class NothingToPostError extends StoreJournalError {
  override name = 'NothingToPostError';
}

export function storeDayJournalId(storeId: string, businessDate: string): string {
  return `store-day:${storeId}:${businessDate}`;
}

interface CompiledMapping {
  revenue: Map<string, string>;
  defaultRevenue?: string;
  tax: Map<string, string>;
  ledgerTaxCodes: Map<string, string>;
  tenders: Map<string, string>;
}

function account(value: unknown, what: string, problems: string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !value.trim()) {
    problems.push(`${what} must be an account code (text), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return value.trim();
}

/** Splits "CODE@RATE" into code and normalised rate; a key without a valid "@rate" is a code. */
function taxKey(key: string): { code: string; rate?: string } {
  const at = key.lastIndexOf('@');
  if (at > 0) {
    try {
      return { code: key.slice(0, at), rate: normaliseRate(key.slice(at + 1)) };
    } catch {
      /* not a rate: the whole key is the code */
    }
  }
  return { code: key };
}

export function compileMapping(mapping: StoreJournalMapping): CompiledMapping {
  const problems: string[] = [];
  if (mapping === null || typeof mapping !== 'object') {
    throw new MappingError('mapping must be an object', ['mapping must be an object']);
  }
  const revenue = new Map<string, string>();
  for (const [key, value] of Object.entries(mapping.revenueAccounts ?? {})) {
    let rate: string;
    try {
      rate = key.trim().toLowerCase() === 'none' ? 'none' : normaliseRate(key);
    } catch (err) {
      problems.push(`revenue account key ${JSON.stringify(key)}: ${(err as TaxRateError).message}`);
      continue;
    }
    const acc = account(value, `revenue account for rate ${key}`, problems);
    if (acc) {
      if (revenue.has(rate) && revenue.get(rate) !== acc) problems.push(`revenue rate ${key} is mapped twice`);
      revenue.set(rate, acc);
    }
  }
  const tax = new Map<string, string>();
  for (const [key, value] of Object.entries(mapping.taxAccounts ?? {})) {
    const { code, rate } = taxKey(key.trim());
    const acc = account(value, `tax account for ${key}`, problems);
    if (acc) tax.set(rate === undefined ? code : `${code}@${rate}`, acc);
  }
  const ledgerTaxCodes = new Map<string, string>();
  for (const [code, value] of Object.entries(mapping.ledgerTaxCodes ?? {})) {
    if (typeof value === 'string' && value.trim()) ledgerTaxCodes.set(code.trim(), value.trim());
  }
  const tenders = new Map<string, string>();
  for (const [type, value] of Object.entries(mapping.tenderAccounts ?? {})) {
    if (!TENDER_TYPES.includes(type as TenderType)) {
      problems.push(`tender type ${JSON.stringify(type)} is not one of ${TENDER_TYPES.join(', ')}`);
      continue;
    }
    const acc = account(value, `tender account for ${type}`, problems);
    if (acc) tenders.set(type, acc);
  }
  const defaultRevenue = account(mapping.defaultRevenueAccount, 'default revenue account', problems);
  account(mapping.roundingAccount, 'rounding account', problems);
  if (problems.length) throw new MappingError(`invalid ledger mapping: ${problems.join('; ')}`, problems);
  return { revenue, defaultRevenue, tax, ledgerTaxCodes, tenders };
}

/** Adds minor units, refusing to leave the exact integer range. */
function add(a: number, b: number, currency: string): number {
  return sumMoney(
    [
      { amount: a, currency },
      { amount: b, currency },
    ],
    currency,
  ).amount;
}

/**
 * Checks one sale: a valid canonical sale (its business rules make tenders = grand total = lines
 * (+ tax) exactly) of this store day.
 */
function saleProblems(sale: Sale, opts: StoreJournalOptions): string[] {
  const result = validateDocument('sale', sale);
  if (!result.valid) return result.errors.map((e) => `is not a valid sale: ${e}`);
  const problems: string[] = [];
  if (sale.storeId !== opts.storeId) problems.push(`belongs to store ${sale.storeId}, not ${opts.storeId}`);
  if (sale.businessDate !== opts.businessDate) problems.push(`is booked to ${sale.businessDate}, not ${opts.businessDate}`);
  if (sale.currency !== opts.currency) problems.push(`is in ${sale.currency}, but the journal is in ${opts.currency}`);
  return problems;
}

type Section = 0 | 1 | 2; // tenders, revenue, tax

interface Bucket {
  section: Section;
  sortKey: string;
  account: string;
  memo: string;
  taxCode?: string;
  /** credit − debit, in minor units */
  signed: number;
  source: SourceRef[];
}

function summary(what: string, problems: string[]): string {
  const shown = problems.slice(0, 5).join('; ');
  return `${what}: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`;
}

/**
 * Builds the balanced store-day journal from the day's sales (any order; each sale once).
 * Throws StoreJournalError naming every sale that does not add up, MappingError naming every
 * unmapped tender type, tax code or revenue rate, NothingToPostError for an empty day.
 */
export function buildStoreJournal(sales: readonly Sale[], mapping: StoreJournalMapping, opts: StoreJournalOptions): JournalEntry {
  const { storeId, businessDate, currency } = opts;
  const day = `store ${storeId} on ${businessDate}`;
  if (typeof storeId !== 'string' || !storeId) throw new StoreJournalError('storeId is required', ['storeId is required']);
  if (typeof businessDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(businessDate)) {
    throw new StoreJournalError(`businessDate must be YYYY-MM-DD, got ${JSON.stringify(businessDate)}`, ['businessDate must be YYYY-MM-DD']);
  }
  if (sales.length === 0) throw new NothingToPostError(`no sales registered for ${day}: nothing to post`, ['no sales']);
  if (!isKnownCurrency(currency)) {
    throw new StoreJournalError(`currency ${JSON.stringify(currency)} is not a known ISO 4217 currency`, ['unknown currency']);
  }
  const map = compileMapping(mapping);

  // 1. every sale once, in business-key order (so a re-run yields the same journal), each balanced
  const keyed = sales.map((sale) => ({ sale, key: businessKey(sale as unknown as Record<string, unknown>) ?? `sale:?:?:${(sale as Sale)?.saleId}` }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const problems: string[] = [];
  for (let i = 0; i < keyed.length; i++) {
    if (i > 0 && keyed[i].key === keyed[i - 1].key) problems.push(`sale ${keyed[i].key} is given more than once`);
    else for (const p of saleProblems(keyed[i].sale, opts)) problems.push(`sale ${keyed[i].key} ${p}`);
  }
  if (problems.length) throw new StoreJournalError(summary(`cannot journal ${day}`, problems), problems);

  // 2. sum into buckets (one journal line each)
  const buckets = new Map<string, Bucket>();
  const unmapped = new Map<string, string>();
  const bucket = (id: string, make: () => Omit<Bucket, 'signed' | 'source'>): Bucket => {
    let b = buckets.get(id);
    if (!b) {
      b = { ...make(), signed: 0, source: [] };
      buckets.set(id, b);
    }
    return b;
  };
  const missing = (what: string, key: string) => {
    if (!unmapped.has(what)) unmapped.set(what, key);
  };

  for (const { sale, key } of keyed) {
    sale.tenders.forEach((tender, i) => {
      const amount = tender.amount.amount;
      if (amount === 0) return;
      const acc = map.tenders.get(tender.type);
      if (!acc) return missing(`no account mapped for tender type '${tender.type}'`, key);
      const paidOut = amount < 0;
      const b = bucket(`0|${TENDER_TYPES.indexOf(tender.type)}|${paidOut ? 1 : 0}`, () => ({
        section: 0,
        sortKey: `${TENDER_TYPES.indexOf(tender.type)}|${paidOut ? 1 : 0}`,
        account: acc,
        memo: paidOut ? `Refunds paid out: ${TENDER_LABEL[tender.type]}` : `Takings: ${TENDER_LABEL[tender.type]}`,
      }));
      b.signed = add(b.signed, -amount, currency); // a tender is a debit: credit − debit goes down
      b.source.push({ system: 'tillwire', type: 'sale.tender', id: key, line: i + 1 });
    });

    sale.lines.forEach((line, i) => {
      const returned = line.quantity < 0;
      const flow = returned ? 'returns' : 'sales';
      const taxes = (line.taxes ?? []).map((t) => ({ code: t.code, rate: normaliseRate(t.rate), amount: t.amount.amount }));
      const ref: SourceRef = { system: 'tillwire', type: 'sale', id: key, line: i + 1 };

      // revenue net of tax
      const parts = [...new Set(taxes.map((t) => `${t.code}@${t.rate}`))].sort();
      const rate = taxes.length ? addRates([...new Map(taxes.map((t) => [`${t.code}@${t.rate}`, t.rate])).values()]) : 'none';
      const taxOnLine = taxes.reduce((sum, t) => add(sum, t.amount, currency), 0);
      const net = sale.taxesIncluded ? add(line.lineTotal.amount, -taxOnLine, currency) : line.lineTotal.amount;
      const group = parts.join('+');
      const revenueAccount = map.revenue.get(rate) ?? map.defaultRevenue;
      const codes = parts.map((p) => taxKey(p));
      const rateLabel =
        codes.length === 0
          ? 'no tax'
          : codes.length === 1
            ? `${ratePercent(rate)} (${codes[0].code})`
            : `${ratePercent(rate)} (${codes.map((c) => `${c.code} ${ratePercent(c.rate!)}`).join(' + ')})`;
      if (!revenueAccount) {
        missing(`no revenue account for ${rate === 'none' ? 'lines without tax' : `tax rate ${ratePercent(rate)}`} and no default revenue account`, key);
      } else {
        const singleCode = codes.length === 1 ? codes[0].code : undefined;
        const b = bucket(`1|${group}|${flow}`, () => ({
          section: 1,
          sortKey: `${group}|${returned ? 1 : 0}`,
          account: revenueAccount,
          memo: rate === 'none' ? `${returned ? 'Returns' : 'Sales'} without tax` : `${returned ? 'Returns' : 'Sales'} at ${rateLabel}`,
          taxCode: singleCode ? map.ledgerTaxCodes.get(singleCode) : undefined,
        }));
        b.signed = add(b.signed, net, currency);
        b.source.push(ref);
      }

      // tax payable, from the line's own tax lines
      for (const t of taxes) {
        const acc = map.tax.get(`${t.code}@${t.rate}`) ?? map.tax.get(t.code);
        if (!acc) {
          missing(`no tax account mapped for tax code '${t.code}' (rate ${ratePercent(t.rate)})`, key);
          continue;
        }
        const b = bucket(`2|${t.code}@${t.rate}|${flow}`, () => ({
          section: 2,
          sortKey: `${t.code}@${t.rate}|${returned ? 1 : 0}`,
          account: acc,
          memo: `${t.code} ${ratePercent(t.rate)} on ${flow}`,
          taxCode: map.ledgerTaxCodes.get(t.code),
        }));
        b.signed = add(b.signed, t.amount, currency);
        const last = b.source[b.source.length - 1];
        if (!last || last.id !== ref.id || last.line !== ref.line) b.source.push(ref);
      }
    });
  }
  if (unmapped.size) {
    const list = [...unmapped].map(([what, key]) => `${what} (first used by ${key})`);
    throw new MappingError(summary(`cannot journal ${day}`, list), list);
  }

  // 3. lines in a fixed order: tenders, revenue, tax
  const ordered = [...buckets.values()].sort((a, b) =>
    a.section !== b.section ? a.section - b.section : a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0,
  );
  const lines: JournalLine[] = [];
  for (const b of ordered) {
    if (b.signed === 0) continue;
    const amount = { amount: Math.abs(b.signed), currency };
    const line = {
      account: b.account,
      ...(b.signed > 0 ? { credit: amount } : { debit: amount }),
      ...(b.taxCode ? { taxCode: b.taxCode } : {}),
      tracking: { store: storeId },
      memo: b.memo,
      source: b.source,
    } as JournalLine;
    lines.push(line);
  }
  if (lines.length === 0) {
    throw new NothingToPostError(`the ${keyed.length} sale(s) of ${day} net to zero on every account: nothing to post`, ['all zero']);
  }

  const journal: JournalEntry = {
    kind: 'journal',
    journalId: storeDayJournalId(storeId, businessDate),
    date: businessDate,
    currency,
    narration: opts.narration?.trim() || `Store ${storeId} takings ${businessDate}`,
    lines,
    source: keyed.map(({ key }) => ({ system: 'tillwire', type: 'sale', id: key })),
    attributes: { journalType: 'store-day', storeId, businessDate, saleCount: String(keyed.length) },
  };
  const check = validateDocument('journal-entry', journal);
  if (!check.valid) {
    throw new StoreJournalError(summary(`the journal built for ${day} is not valid`, check.errors), check.errors);
  }
  return journal;
}
