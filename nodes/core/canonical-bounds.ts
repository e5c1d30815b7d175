/**
 * The validation bounds of a `tillwire-canonical` node, read from its configuration (strings from
 * the edit dialog). An empty field means the product's default (DEFAULT_BOUNDS); dates are compared
 * with the clock only when the node says so, which every node made in the editor does by default.
 */
import { DEFAULT_BOUNDS, ValidationOptions } from '../model/validate';
import type { DocumentType } from '../model/validate';

export interface BoundsConfig {
  maxDepth?: unknown;
  maxLines?: unknown;
  maxQuantity?: unknown;
  checkDates?: unknown;
  pastDays?: unknown;
  futureDays?: unknown;
}

/** Types whose lines are a statement's (a settlement's rows, a journal's postings). */
const STATEMENTS: ReadonlySet<DocumentType> = new Set<DocumentType>(['settlement', 'journal-entry']);

/**
 * Deepest nesting the node may be set to accept: accepted documents travel on through Node-RED,
 * whose message cloning recurses and fails a few thousand levels down.
 */
export const MAX_DEPTH_SETTING = 256;

/** A whole number from a dialog field, within [min, max]; undefined when the field is empty. */
function wholeNumber(label: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    throw new Error(`${label} must be a whole number ${range}, got '${String(value)}'`);
  }
  return n;
}

/** The options the node validates with; throws a sentence naming the field when one is wrong. */
export function boundsFromConfig(docType: DocumentType, def: BoundsConfig): ValidationOptions {
  const options: ValidationOptions = {};
  const depth = wholeNumber('Max depth', def.maxDepth, 1, MAX_DEPTH_SETTING);
  if (depth !== undefined) options.maxDepth = depth;
  const lines = wholeNumber('Max lines', def.maxLines, 1);
  if (lines !== undefined) {
    if (STATEMENTS.has(docType)) options.maxStatementLines = lines;
    else options.maxLines = lines;
  }
  const quantity = wholeNumber('Max quantity', def.maxQuantity, 1);
  if (quantity !== undefined) options.maxQuantity = quantity;
  if (def.checkDates === true || def.checkDates === 'true') {
    options.dateWindow = {
      pastDays: wholeNumber('Days back', def.pastDays, 0) ?? DEFAULT_BOUNDS.dateWindow.pastDays,
      futureDays: wholeNumber('Days ahead', def.futureDays, 0) ?? DEFAULT_BOUNDS.dateWindow.futureDays,
    };
  }
  return options;
}
