/**
 * Tax rates as exact decimal text (the canonical model writes them as "0.20", "0.08875": never
 * floats). Rates are read, added and shown through model/decimal.ts, so "0.2", "0.20" and "20%" are
 * the same rate and 0.04 + 0.04875 is exactly 0.08875.
 */
import { addDecimals, DecimalError, formatDecimal, fractionToPercent, parseDecimal, trimDecimal, type Decimal } from '../model/decimal';

export class TaxRateError extends Error {
  override name = 'TaxRateError';
}

function parse(text: string): Decimal {
  try {
    return parseDecimal(String(text), { percent: true, negative: false, what: 'tax rate' });
  } catch (err) {
    if (!(err instanceof DecimalError)) throw err;
    throw new TaxRateError(`'${text}' is not a tax rate (expected a decimal fraction such as 0.20, or a percentage such as 20%)`);
  }
}

/** Shortest text of a rate: no trailing zeros, "0" for zero. */
function format(d: Decimal): string {
  return formatDecimal(trimDecimal(d));
}

/** The canonical text of a rate: "0.20" → "0.2", "0.2000" → "0.2", "20%" → "0.2", "0.00" → "0". */
export function normaliseRate(text: string): string {
  return format(parse(text));
}

/** Exact sum of rates (a line taxed by state and city: "0.04" + "0.04875" → "0.08875"). */
export function addRates(rates: readonly string[]): string {
  return format(addDecimals(rates.map(parse)));
}

/** A rate as a percentage for people: "0.2" → "20%", "0.08875" → "8.875%", "0" → "0%". */
export function ratePercent(text: string): string {
  return `${format(fractionToPercent(parse(text)))}%`;
}
