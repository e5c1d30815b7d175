/**
 * Exact decimals: the one place Tillwire reads, rounds, divides and writes decimal numbers.
 *
 * A decimal is an integer `units` at a `scale` (value = units / 10^scale), held as a BigInt, so no
 * amount, rate or quantity ever passes through float arithmetic. Text is read by its digits; a JSON
 * number is read by its shortest round-trip text (`String(n)`), which is the text the provider
 * wrote. Every operation that can lose digits takes a rounding rule by name, so each caller states
 * the rule its counterpart uses (see docs/canonical-model.md, "Decimals and rounding").
 */

export class DecimalError extends Error {
  override name = 'DecimalError';
}

/** value = units / 10^scale; scale ≥ 0. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/**
 * How to settle digits that do not fit:
 * - `half-away-from-zero`: a tie goes away from zero (2.5 → 3, −2.5 → −3). Commercial rounding;
 *   what Square, Business Central, Odoo ("HALF-UP") and the till tax rule use.
 * - `half-even`: a tie goes to the even neighbour (2.5 → 2, 3.5 → 4). Banker's rounding.
 * - `ceiling` / `floor`: towards +∞ / −∞, whatever the digits.
 */
export type Rounding = 'half-away-from-zero' | 'half-even' | 'ceiling' | 'floor';

export interface ParseOptions {
  /** The decimal mark in text: '.' (default) or ',' (EU settlement files write "95,00"). Grouping marks are never accepted. */
  decimalSeparator?: '.' | ',';
  /** Accept an exponent in text ("1.5e3"). JSON numbers may always carry one (String(1e-7) is "1e-7"). */
  exponent?: boolean;
  /** False: a negative value is an error. Default true. */
  negative?: boolean;
  /** Accept a trailing '%' meaning hundredths ("20%" is 0.20). */
  percent?: boolean;
  /** Names the value in error messages ("amount", "tax rate"); default "number". */
  what?: string;
}

/** Longest text read: long enough for any amount or rate, short enough that BigInt work stays trivial. */
const MAX_TEXT = 64;
/** Largest exponent magnitude accepted (a provider writing 1e400 is sending nonsense, not money). */
const MAX_EXPONENT = 64;

const PATTERNS = {
  '.': /^([+-])?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?(%)?$/,
  ',': /^([+-])?(\d+)(?:,(\d+))?(?:[eE]([+-]?\d+))?(%)?$/,
};

/** Reads decimal text, a JSON number or a bigint exactly. Throws DecimalError naming the text. */
export function parseDecimal(value: string | number | bigint, opts: ParseOptions = {}): Decimal {
  const what = opts.what ?? 'number';
  let text: string;
  let fromNumber = false;
  if (typeof value === 'bigint') {
    text = value.toString();
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DecimalError(`${what} ${value} is not a finite number`);
    text = String(value);
    fromNumber = true;
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new DecimalError(`${what} must be decimal text or a number, got ${value === null ? 'null' : typeof value}`);
  }
  if (text.length > MAX_TEXT) throw new DecimalError(`${what} '${text.slice(0, 20)}…' is too long (${text.length} characters) to be a decimal`);
  const separator = fromNumber ? '.' : (opts.decimalSeparator ?? '.');
  const m = PATTERNS[separator].exec(text);
  const [, sign, whole = '', fraction = '', exp, percent] = m ?? [];
  const exponentAllowed = fromNumber || opts.exponent === true;
  if (!m || (exp !== undefined && !exponentAllowed) || (percent && !opts.percent)) {
    throw new DecimalError(`'${text}' is not a ${separator === ',' ? 'decimal-comma' : 'decimal'} ${what}`);
  }
  const shift = exp === undefined ? 0 : Number(exp);
  // A double's exponent is bounded (±324); text could ask for 10^1000000, so it is held to MAX_EXPONENT.
  if (!fromNumber && Math.abs(shift) > MAX_EXPONENT) throw new DecimalError(`${what} '${text}' is out of range`);
  if (sign === '-' && opts.negative === false && /[1-9]/.test(whole + fraction)) {
    throw new DecimalError(`${what} '${text}' must not be negative`);
  }
  let units = BigInt(whole + fraction);
  let scale = fraction.length - shift + (percent ? 2 : 0);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === '-' ? -units : units, scale };
}

/** Decimal text with exactly `d.scale` decimals ("-12.30"); `decimalSeparator` ',' writes "12,30". */
export function formatDecimal(d: Decimal, opts: { decimalSeparator?: '.' | ',' } = {}): string {
  assertDecimal(d);
  const negative = d.units < 0n;
  const digits = (negative ? -d.units : d.units).toString().padStart(d.scale + 1, '0');
  const whole = d.scale === 0 ? digits : digits.slice(0, -d.scale);
  const fraction = d.scale === 0 ? '' : (opts.decimalSeparator ?? '.') + digits.slice(-d.scale);
  return (negative ? '-' : '') + whole + fraction;
}

/** The same value at the smallest scale (no trailing zeros): 0.2000 → 0.2, 20.0 → 20. */
export function trimDecimal(d: Decimal): Decimal {
  assertDecimal(d);
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  return { units, scale };
}

/** The value at `scale` decimals, rounded by `rounding` when digits are dropped. */
export function rescale(d: Decimal, scale: number, rounding: Rounding): Decimal {
  assertDecimal(d);
  assertScale(scale);
  if (scale >= d.scale) return { units: d.units * 10n ** BigInt(scale - d.scale), scale };
  return { units: divRound(d.units, 10n ** BigInt(d.scale - scale), rounding), scale };
}

/** The value at `scale` decimals when that loses nothing; undefined when digits would be dropped. */
export function rescaleExact(d: Decimal, scale: number): Decimal | undefined {
  assertDecimal(d);
  assertScale(scale);
  if (scale >= d.scale) return { units: d.units * 10n ** BigInt(scale - d.scale), scale };
  const f = 10n ** BigInt(d.scale - scale);
  return d.units % f === 0n ? { units: d.units / f, scale } : undefined;
}

/** n / d as an integer, rounded by `rounding`. */
export function divRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  if (d === 0n) throw new DecimalError('division by zero');
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const q = n / d; // truncated towards zero
  const r = n % d; // sign of n
  if (r === 0n) return q;
  const up = n > 0n; // the exact value lies between q and q + (up ? 1 : -1)
  const away = up ? q + 1n : q - 1n;
  switch (rounding) {
    case 'ceiling':
      return up ? away : q;
    case 'floor':
      return up ? q : away;
    case 'half-away-from-zero':
    case 'half-even': {
      const twice = 2n * (r < 0n ? -r : r);
      if (twice > d) return away;
      if (twice < d) return q;
      if (rounding === 'half-away-from-zero') return away;
      return q % 2n === 0n ? q : away;
    }
  }
}

/** Exact sum at the largest scale of the terms. */
export function addDecimals(terms: readonly Decimal[]): Decimal {
  const scale = terms.reduce((s, t) => Math.max(s, t.scale), 0);
  let units = 0n;
  for (const t of terms) units += rescale(t, scale, 'half-even').units; // only ever widens: nothing rounded
  return { units, scale };
}

/** A percentage as the fraction it stands for: 8.875 → 0.08875 (the point moves; nothing is rounded). */
export function percentToFraction(p: Decimal): Decimal {
  return { units: p.units, scale: p.scale + 2 };
}

/** A fraction as a percentage: 0.08875 → 8.875. */
export function fractionToPercent(f: Decimal): Decimal {
  return f.scale >= 2 ? { units: f.units, scale: f.scale - 2 } : { units: f.units * 10n ** BigInt(2 - f.scale), scale: 0 };
}

// ─── integer amounts (minor units, quantities) ────────────────────────────────────────────────

/** A bigint as a JS number, or a DecimalError when it is beyond ±(2^53 − 1) and would lose digits. */
export function toSafeNumber(n: bigint, what = 'amount'): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DecimalError(`${what} ${n} is too large to represent exactly (beyond ±${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(n);
}

function safeBig(amount: number, what = 'amount'): bigint {
  if (!Number.isSafeInteger(amount)) throw new DecimalError(`${what} must be a safe integer, got ${amount}`);
  return BigInt(amount);
}

/** amount × factor, rounded to a whole number by `rounding` (a quantity, a percentage as a fraction…). */
export function multiplyRound(amount: number, factor: Decimal, rounding: Rounding): number {
  return toSafeNumber(divRound(safeBig(amount) * factor.units, 10n ** BigInt(factor.scale), rounding));
}

/** amount / by (whole numbers, by ≠ 0), rounded by `rounding`: a total spread over units, exactly. */
export function divideRound(amount: number, by: number, rounding: Rounding): number {
  return toSafeNumber(divRound(safeBig(amount), safeBig(by, 'divisor'), rounding));
}

/** amount × part / whole, rounded by `rounding` (a proportional share); 0 when whole is 0. */
export function shareRound(amount: number, part: number, whole: number, rounding: Rounding): number {
  if (whole === 0) return 0;
  return toSafeNumber(divRound(safeBig(amount) * safeBig(part, 'part'), safeBig(whole, 'whole'), rounding));
}

/** The tax inside a tax-inclusive amount at `rate` (a fraction: 0.2 for 20 %): amount × rate / (1 + rate). */
export function includedTax(amount: number, rate: Decimal, rounding: Rounding): number {
  assertDecimal(rate);
  return toSafeNumber(divRound(safeBig(amount) * rate.units, 10n ** BigInt(rate.scale) + rate.units, rounding));
}

/** A tax-inclusive amount without its tax at `rate` (a fraction): amount / (1 + rate). */
export function excludeTax(amount: number, rate: Decimal, rounding: Rounding): number {
  assertDecimal(rate);
  const one = 10n ** BigInt(rate.scale);
  return toSafeNumber(divRound(safeBig(amount) * one, one + rate.units, rounding));
}

/**
 * Splits `total` into parts proportional to `weights` that add up to `total` exactly: each part is
 * the floor of its exact share, and the units left over go one each to the largest remainders
 * (ties to the earlier part). Weights must be ≥ 0 and not all 0.
 */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  if (!weights.length) throw new DecimalError('cannot allocate over no parts');
  if (weights.some((w) => w < 0n)) throw new DecimalError('allocation weights must not be negative');
  const sum = weights.reduce((a, w) => a + w, 0n);
  if (sum === 0n) throw new DecimalError('allocation weights add up to 0');
  const negative = total < 0n;
  const t = negative ? -total : total;
  const parts = weights.map((w) => (t * w) / sum);
  let left = t - parts.reduce((a, p) => a + p, 0n);
  const order = weights.map((w, i) => ({ i, rem: (t * w) % sum })).sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i] += 1n;
    left -= 1n;
  }
  return negative ? parts.map((p) => -p) : parts;
}

function assertDecimal(d: Decimal): void {
  if (typeof d?.units !== 'bigint') throw new DecimalError('a decimal needs bigint units');
  assertScale(d.scale);
}

function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > 1000) throw new DecimalError(`scale must be a whole number from 0 to 1000, got ${scale}`);
}
