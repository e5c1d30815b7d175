/**
 * Cells of the journal files that a spreadsheet might run as a formula (CSV injection, OWASP
 * "CSV Injection"): a spreadsheet program treats a cell whose text starts with `=`, `+`, `-` or
 * `@` (or a tab or carriage return before one) as a formula, and a memo from a marketplace report
 * or a POS can carry anything.
 *
 * - Free text (narration, memo, source references) is neutralised: such a cell gets a leading
 *   apostrophe, which spreadsheets show as text and never evaluate.
 * - Values that a ledger matches exactly (journal id, account, tax rate or code, tracking
 *   category and option, QuickBooks class and location) are refused instead: an altered value
 *   would point at another record, or at none.
 *
 * Amounts are written by the layouts from minor units (a signed amount such as `-12.00` is a
 * number, not text) and do not pass through here.
 */
export const FORMULA_START = /^[=+\-@\t\r]/;

/** The text as a cell that no spreadsheet evaluates. */
export function textCell(value: string | undefined): string {
  const text = value ?? '';
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** A code as it is, or undefined when it would start a formula (the caller names the refusal). */
export function isSafeCode(value: string): boolean {
  return !FORMULA_START.test(value);
}
