/**
 * The till close (Z report) document, kind "till.close" (nodes/model/schemas/till-close.schema.json),
 * and the checks its schema cannot express. The type is generated from the schema.
 */
import type { TillClose } from '../model/types.generated';
import { validateDocument } from '../model/validate';

export type { TillClose, TillCloseTotal, TillCloseTender } from '../model/types.generated';

export function isTillClose(value: unknown): value is TillClose {
  return !!value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'till.close';
}

/**
 * Everything wrong with a till close: schema errors, then the sums the schema describes but cannot
 * check (net = sales + returns = Σ tenders; the sequence range holds exactly the counted
 * transactions), which are business rules of the model (nodes/model/business-rules.ts).
 */
export function tillCloseProblems(doc: unknown): string[] {
  return validateDocument('till-close', doc).errors;
}
