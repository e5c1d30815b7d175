/**
 * Business Central's rounding rule, named once for the BC simulator: amounts are JSON numbers read
 * by their digits into a BigInt at a fixed scale, and every dropped digit is rounded half away from
 * zero (as BC rounds amounts). All parsing and arithmetic is model/decimal.ts.
 */
import { divRound as divide, formatDecimal, parseDecimal, rescale as rescaleDecimal } from '../model/decimal';

const RULE = 'half-away-from-zero' as const;

/** Reads a JSON number (or decimal text) as an integer at `scale` decimals. */
export function toScaled(value: number | string, scale: number): bigint {
  return rescaleDecimal(parseDecimal(value), scale, RULE).units;
}

/** n / d, rounded. */
export function divRound(n: bigint, d: bigint): bigint {
  return divide(n, d, RULE);
}

/** Changes the scale of a scaled integer, rounding when it shrinks. */
export function rescale(n: bigint, from: number, to: number): bigint {
  return rescaleDecimal({ units: n, scale: from }, to, RULE).units;
}

/** A JSON number for a scaled integer: the double whose shortest text is exactly these digits. */
export function scaledNumber(n: bigint, scale: number): number {
  return Number(formatDecimal({ units: n, scale }));
}
