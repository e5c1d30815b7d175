/**
 * Square's arithmetic, named once: percentages and quantities are Square's decimal text, and every
 * result is rounded half away from zero (as Square prices orders). The digits are read and divided
 * by model/decimal.ts; this file only fixes the rule. Used by the mapper (quantities, tax rates) and
 * the Square simulator (pricing orders).
 */
import {
  includedTax as taxInside,
  formatDecimal,
  multiplyRound,
  parseDecimal,
  percentToFraction,
  shareRound,
  trimDecimal,
  type Decimal,
} from '../model/decimal';

const RULE = 'half-away-from-zero' as const;

function nonNegative(text: string, what: string): Decimal {
  return parseDecimal(String(text), { negative: false, what });
}

/** Integer quantity from Square's decimal text ("2", "2.0"); undefined when it has a fraction or is out of range. */
export function integerQuantity(text: string): number | undefined {
  const q = trimDecimal(nonNegative(text, 'quantity'));
  if (q.scale !== 0 || q.units > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(q.units);
}

/** amount × percentage / 100. */
export function percentOf(amount: number, percentage: string): number {
  return multiplyRound(amount, percentToFraction(nonNegative(percentage, 'percentage')), RULE);
}

/** The tax contained in a tax-inclusive `amount` at `percentage`: amount × p / (100 + p). */
export function includedTax(amount: number, percentage: string): number {
  return taxInside(amount, percentToFraction(nonNegative(percentage, 'percentage')), RULE);
}

/** amount × quantity (decimal text). */
export function times(amount: number, quantity: string): number {
  return multiplyRound(amount, nonNegative(quantity, 'quantity'), RULE);
}

/** amount × part / whole (proportional share). */
export function share(amount: number, part: number, whole: number): number {
  return shareRound(amount, part, whole, RULE);
}

/** "8.875" (percent) → "0.08875" (the fraction as decimal text, at least two decimals). */
export function percentToRate(percentage: string): string {
  const f = trimDecimal(percentToFraction(nonNegative(percentage, 'percentage')));
  return formatDecimal(f.scale < 2 ? { units: f.units * 10n ** BigInt(2 - f.scale), scale: 2 } : f);
}
