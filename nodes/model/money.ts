/**
 * Exact money: integer minor units plus an ISO 4217 currency (docs/architecture.md, Principles 2).
 * Provider amounts arrive as decimal text ("12.30") or as JSON numbers; both are read by their
 * digits (model/decimal.ts), never by multiplying a float, and a value with more decimals than the
 * currency allows is an error unless the caller names the rounding its provider applies.
 */
import { CURRENCY_EXPONENTS } from './currencies';
import { formatDecimal, parseDecimal, rescale, rescaleExact, trimDecimal, type Decimal, type Rounding } from './decimal';

export interface Money {
  amount: number;
  currency: string;
}

export class MoneyError extends Error {
  override name = 'MoneyError';
}

export function currencyExponent(currency: string): number {
  const exponent = CURRENCY_EXPONENTS.get(currency);
  if (exponent === undefined) {
    throw new MoneyError(`unknown currency '${currency}' (expected an ISO 4217 code such as USD, JPY or KWD)`);
  }
  return exponent;
}

export interface ToMinorOptions {
  /**
   * How to round digits beyond the currency's exponent. Without it such a value is an error (a
   * provider sending 12.345 USD is sending something we must not silently change).
   */
  rounding?: Rounding;
  /** ',' reads decimal-comma text ("95,00", as EU settlement files write it). */
  decimalSeparator?: '.' | ',';
}

/** Converts decimal text (or a JSON number) in major units to integer minor units. */
export function toMinor(value: string | number, currency: string, opts: ToMinorOptions = {}): number {
  const exponent = currencyExponent(currency);
  let d: Decimal;
  try {
    d = parseDecimal(value, { decimalSeparator: opts.decimalSeparator, what: 'amount' });
  } catch (err) {
    throw new MoneyError((err as Error).message);
  }
  const text = typeof value === 'string' ? value.trim() : String(value);
  let scaled = rescaleExact(d, exponent);
  if (!scaled) {
    if (!opts.rounding) {
      const decimals = trimDecimal(d).scale;
      throw new MoneyError(`${text} has ${decimals} decimals but ${currency} allows ${exponent}`);
    }
    scaled = rescale(d, exponent, opts.rounding);
  }
  if (scaled.units > BigInt(Number.MAX_SAFE_INTEGER) || scaled.units < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError(`${text} ${currency} is too large to represent exactly (out of range beyond ±${Number.MAX_SAFE_INTEGER} minor units)`);
  }
  return Number(scaled.units);
}

/** Formats integer minor units as decimal text in major units ("-12.30"; "12,30" with decimalSeparator ','). */
export function fromMinor(amount: number, currency: string, opts: { decimalSeparator?: '.' | ',' } = {}): string {
  assertMinor(amount);
  return formatDecimal({ units: BigInt(amount), scale: currencyExponent(currency) }, opts);
}

function assertMinor(amount: number): void {
  if (!Number.isSafeInteger(amount)) {
    throw new MoneyError(`minor-unit amount must be a safe integer, got ${amount}`);
  }
}

export function money(value: string | number, currency: string): Money {
  return { amount: toMinor(value, currency), currency };
}

/** Adds integer minor units; every item must share one currency. Overflow is an error. */
export function sumMoney(items: readonly Money[], currency?: string): Money {
  const cur = currency ?? items[0]?.currency;
  if (!cur) throw new MoneyError('cannot sum an empty list without a currency');
  currencyExponent(cur);
  let total = 0;
  for (const item of items) {
    if (item.currency !== cur) {
      throw new MoneyError(`cannot add ${item.currency} to ${cur}`);
    }
    assertMinor(item.amount);
    total += item.amount;
    if (!Number.isSafeInteger(total)) throw new MoneyError(`sum overflows the exact range in ${cur}`);
  }
  return { amount: total, currency: cur };
}

export function formatMoney(m: Money): string {
  return `${fromMinor(m.amount, m.currency)} ${m.currency}`;
}
