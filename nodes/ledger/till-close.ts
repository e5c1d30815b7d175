/**
 * The till close (Z report) document, kind "till.close" (nodes/model/schemas/till-close.schema.json),
 * and the checks its schema cannot express. The type is generated from the schema.
 */
import type { TillClose } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { formatMoney, sumMoney } from '../model/money';

export type { TillClose, TillCloseTotal, TillCloseTender } from '../model/types.generated';

export function isTillClose(value: unknown): value is TillClose {
  return !!value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'till.close';
}

/** Largest sequence range a close may span (a bigger one is a till reset or a typo, not a day's trade). */
export const MAX_SEQUENCE_RANGE = 1_000_000;

/**
 * Everything wrong with a till close: schema errors, then the sums the schema describes but cannot
 * check (net = sales + returns = Σ tenders; the sequence range holds exactly the counted transactions).
 */
export function tillCloseProblems(doc: unknown): string[] {
  const result = validateDocument('till-close', doc);
  if (!result.valid) return result.errors;
  const close = doc as TillClose;
  const cur = close.currency;
  const problems: string[] = [];
  const net = sumMoney([close.sales.total, close.returns.total], cur);
  if (net.amount !== close.net.amount) {
    problems.push(`net ${formatMoney(close.net)} is not sales ${formatMoney(close.sales.total)} + returns ${formatMoney(close.returns.total)} = ${formatMoney(net)}`);
  }
  if (close.returns.total.amount > 0) problems.push(`returns.total ${formatMoney(close.returns.total)} must be negative or zero`);
  const counted = close.sales.count + close.returns.count;
  if (close.firstSequence === undefined || close.lastSequence === undefined) {
    if (counted > 0) problems.push(`firstSequence and lastSequence are required when the till counted ${counted} transaction(s)`);
  } else {
    const span = close.lastSequence - close.firstSequence + 1;
    if (span < 1) problems.push(`lastSequence ${close.lastSequence} is before firstSequence ${close.firstSequence}`);
    else if (span > MAX_SEQUENCE_RANGE) problems.push(`the sequence range ${close.firstSequence}..${close.lastSequence} spans more than ${MAX_SEQUENCE_RANGE} transactions`);
    else if (span !== counted) {
      problems.push(
        `the sequence range ${close.firstSequence}..${close.lastSequence} holds ${span} transaction(s) but sales.count + returns.count = ${counted}`,
      );
    }
  }
  if (close.tenders) {
    const seen = new Set<string>();
    for (const t of close.tenders) {
      if (seen.has(t.type)) problems.push(`tender type '${t.type}' is listed more than once`);
      seen.add(t.type);
    }
    const tenders = sumMoney(close.tenders.map((t) => t.amount), cur);
    if (tenders.amount !== close.net.amount) problems.push(`tenders add up to ${formatMoney(tenders)} but net is ${formatMoney(close.net)}`);
  }
  return problems;
}
