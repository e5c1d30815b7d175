/**
 * Exact integer arithmetic shared by the Square simulator (pricing orders as Square does) and the
 * mapper (checking that mapped figures add up). Percentages and quantities are decimal text and
 * are read as fractions; nothing passes through a float.
 */

export interface Fraction {
  n: bigint;
  d: bigint;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** "8.875" → 8875/1000. Throws on anything that is not plain non-negative decimal text. */
export function parseDecimal(text: string): Fraction {
  const m = DECIMAL.exec(String(text).trim());
  if (!m) throw new Error(`'${text}' is not a non-negative decimal number`);
  const frac = m[2] ?? '';
  return { n: BigInt(m[1] + frac), d: 10n ** BigInt(frac.length) };
}

/** Integer quantity from Square's decimal text ("2", "2.0"); undefined when it has a fraction. */
export function integerQuantity(text: string): number | undefined {
  const f = parseDecimal(text);
  if (f.n % f.d !== 0n) return undefined;
  const q = f.n / f.d;
  return q <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(q) : undefined;
}

/** num/den rounded half away from zero (den > 0). */
export function divRound(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = (2n * a + den) / (2n * den);
  return neg ? -q : q;
}

/** amount × percentage / 100, rounded half away from zero. */
export function percentOf(amount: number, percentage: string): number {
  const p = parseDecimal(percentage);
  return Number(divRound(BigInt(amount) * p.n, p.d * 100n));
}

/** The tax contained in a tax-inclusive `amount` at `percentage`: amount × p / (100 + p). */
export function includedTax(amount: number, percentage: string): number {
  const p = parseDecimal(percentage);
  return Number(divRound(BigInt(amount) * p.n, p.d * 100n + p.n));
}

/** amount × quantity (decimal text), rounded half away from zero. */
export function times(amount: number, quantity: string): number {
  const q = parseDecimal(quantity);
  return Number(divRound(BigInt(amount) * q.n, q.d));
}

/** amount × part / whole, rounded half away from zero (proportional share). */
export function share(amount: number, part: number, whole: number): number {
  if (whole === 0) return 0;
  return Number(divRound(BigInt(amount) * BigInt(part), BigInt(whole)));
}

/** "8.875" (percent) → "0.08875" (fraction as decimal text), by moving the decimal point. */
export function percentToRate(percentage: string): string {
  const m = DECIMAL.exec(String(percentage).trim());
  if (!m) throw new Error(`'${percentage}' is not a percentage`);
  const digits = (m[1] + (m[2] ?? '')).replace(/^0+(?=\d)/, '');
  const scale = (m[2] ?? '').length + 2;
  const padded = digits.padStart(scale + 1, '0');
  const int = padded.slice(0, padded.length - scale);
  let frac = padded.slice(padded.length - scale).replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${int}.${frac}`;
}
