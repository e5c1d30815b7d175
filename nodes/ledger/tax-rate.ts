/**
 * Tax rates as exact decimal text (the canonical model writes them as "0.20", "0.08875": never
 * floats). Rates are compared, added and shown here with BigInt arithmetic on their digits, so
 * "0.2", "0.20" and "20%" are the same rate and 0.04 + 0.04875 is exactly 0.08875.
 */

interface Decimal {
  /** digits as an integer: value = units / 10^scale */
  units: bigint;
  scale: number;
}

const RATE_TEXT = /^(\d+)(?:\.(\d+))?(%)?$/;

export class TaxRateError extends Error {
  override name = 'TaxRateError';
}

function parse(text: string): Decimal {
  const m = RATE_TEXT.exec(String(text).trim());
  if (!m) throw new TaxRateError(`'${text}' is not a tax rate (expected a decimal fraction such as 0.20, or a percentage such as 20%)`);
  const [, whole, fraction = '', percent] = m;
  const scale = fraction.length + (percent ? 2 : 0);
  return { units: BigInt(whole + fraction), scale };
}

function format(d: Decimal): string {
  if (d.units === 0n) return '0';
  let digits = d.units.toString().padStart(d.scale + 1, '0');
  let scale = d.scale;
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

/** The canonical text of a rate: "0.20" → "0.2", "0.2000" → "0.2", "20%" → "0.2", "0.00" → "0". */
export function normaliseRate(text: string): string {
  return format(parse(text));
}

/** Exact sum of rates (a line taxed by state and city: "0.04" + "0.04875" → "0.08875"). */
export function addRates(rates: readonly string[]): string {
  let total: Decimal = { units: 0n, scale: 0 };
  for (const r of rates) {
    const [a, b, scale] = align(total, parse(r));
    total = { units: a + b, scale };
  }
  return format(total);
}

/** A rate as a percentage for people: "0.2" → "20%", "0.08875" → "8.875%", "0" → "0%". */
export function ratePercent(text: string): string {
  const d = parse(text);
  return `${format({ units: d.units * 100n, scale: d.scale })}%`;
}
