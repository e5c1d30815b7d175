/**
 * Exact decimal arithmetic for Business Central amounts (JSON numbers on the wire): a value is read
 * from its shortest decimal text into a BigInt at a fixed scale and written back the same way, so
 * no float arithmetic ever touches money. Used by the simulator (line and document totals) and the
 * client (reading BC's totals back into minor units).
 */

export class DecimalError extends Error {
  override name = 'DecimalError';
}

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** Reads a JSON number (or decimal text) as an integer at `scale` decimals, rounding half away from zero. */
export function toScaled(value: number | string, scale: number): bigint {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DecimalError(`${value} is not a finite number`);
    text = String(value);
    if (/e/i.test(text)) {
      // 1e-7 or 1e21: toFixed gives the digits without an exponent (20 decimals are plenty here).
      text = Math.abs(value) < 1 ? value.toFixed(20) : BigInt(value).toString();
    }
  } else {
    text = value.trim();
  }
  const m = DECIMAL.exec(text);
  if (!m) throw new DecimalError(`'${text}' is not a decimal number`);
  const [, sign, whole, fraction = ''] = m;
  const kept = fraction.slice(0, scale).padEnd(scale, '0');
  let n = BigInt(whole + kept);
  const dropped = fraction.slice(scale);
  if (dropped && dropped[0] >= '5') n += 1n;
  return sign === '-' ? -n : n;
}

/** Divides with rounding half away from zero. */
export function divRound(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new DecimalError('division by zero');
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  let q = an / ad;
  if ((an % ad) * 2n >= ad) q += 1n;
  return negative ? -q : q;
}

/** Changes the scale of a scaled integer, rounding half away from zero when it shrinks. */
export function rescale(n: bigint, from: number, to: number): bigint {
  if (to >= from) return n * 10n ** BigInt(to - from);
  return divRound(n, 10n ** BigInt(from - to));
}

/** Decimal text of a scaled integer: (12345n, 2) → "123.45". */
export function scaledText(n: bigint, scale: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? '' : '.' + digits.slice(-scale);
  return (negative ? '-' : '') + whole + fraction;
}

/** A JSON number for a scaled integer: the double whose shortest text is exactly these digits. */
export function scaledNumber(n: bigint, scale: number): number {
  return Number(scaledText(n, scale));
}
