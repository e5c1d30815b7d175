/**
 * Exact money: integer minor units plus an ISO 4217 currency (docs/architecture.md, Principles 2).
 * Provider amounts arrive as decimal text ("12.30") or as JSON numbers; both are converted by
 * reading their digits, never by multiplying a float, and a value with more decimals than the
 * currency allows is an error rather than a silent rounding.
 */
import { CURRENCY_EXPONENTS } from './currencies';

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

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** Converts decimal text (or a JSON number) in major units to integer minor units. */
export function toMinor(value: string | number, currency: string): number {
  const exponent = currencyExponent(currency);
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new MoneyError(`amount ${value} is not a finite number`);
    // String(n) is the shortest text that reads back as n: it carries the digits the provider sent.
    text = String(value);
    if (/e/i.test(text)) throw new MoneyError(`amount ${text} is out of range for ${currency}`);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new MoneyError(`amount must be decimal text or a number, got ${value === null ? 'null' : typeof value}`);
  }
  const m = DECIMAL.exec(text);
  if (!m) throw new MoneyError(`'${text}' is not a decimal amount`);
  const [, sign, whole, fractionRaw = ''] = m;
  const fraction = fractionRaw.replace(/0+$/, '');
  if (fraction.length > exponent) {
    throw new MoneyError(
      `${text} has ${fraction.length} decimals but ${currency} allows ${exponent}`,
    );
  }
  const digits = whole + fraction.padEnd(exponent, '0');
  const big = BigInt(digits) * (sign === '-' ? -1n : 1n);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError(`${text} ${currency} is too large to represent exactly`);
  }
  return Number(big);
}

/** Formats integer minor units as decimal text in major units ("-12.30"). */
export function fromMinor(amount: number, currency: string): string {
  assertMinor(amount);
  const exponent = currencyExponent(currency);
  const negative = amount < 0;
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : '.' + digits.slice(-exponent);
  return (negative ? '-' : '') + whole + fraction;
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
