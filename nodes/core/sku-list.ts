/**
 * Which SKUs a stock read asks for, from msg.payload: one rule for every node that reads stock
 * (the Odoo and Business Central nodes).
 *
 * - Every SKU: `"*"`, an empty payload (`""`, none), or an inject node's timestamp (a number, or a
 *   Date). An inject on a timer sends its timestamp by default, so "read everything" needs no
 *   payload set up. SKUs are identifiers and never numbers, so a number cannot mean one SKU.
 * - Those SKUs: a SKU (`"SKU-1"`), a comma- or newline-separated list (`"SKU-1, SKU-2"`), an array
 *   of SKUs, `{ skus: [...] }` or `{ sku: "SKU-1" }`. Each SKU is trimmed; repeats are read once;
 *   an empty array asks for nothing.
 * - What changed in the ERP since the node's last read of changes: `{ changes: true }`
 *   (`isStockChanges`; the ERP node keeps where it got to in its store).
 * - Anything else (true, an object without `skus`, an array holding a number or `"*"`) is refused
 *   with an error saying what was sent, never guessed at.
 */

export class SkuListError extends Error {
  override name = 'SkuListError';
}

const EXPECTED = `msg.payload must be "*" (or empty, or an inject's timestamp) for every SKU, or a SKU, a comma-separated list of SKUs, an array of SKUs, { skus: [...] }, or (ERP nodes) { changes: true }`;

/** `{ changes: true }`: the stock that changed since the last such read, not a list of SKUs. */
export function isStockChanges(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) && (payload as { changes?: unknown }).changes === true;
}

/** The SKUs asked for; undefined means every SKU. Throws SkuListError for anything else. */
export function skuList(payload: unknown): string[] | undefined {
  if (payload === undefined || payload === null) return undefined;
  if ((typeof payload === 'number' && Number.isFinite(payload)) || payload instanceof Date) return undefined;
  if (typeof payload === 'string') {
    const text = payload.trim();
    if (text === '' || text === '*') return undefined;
    return listOf(text.split(/[,\r\n]+/).filter((s) => s.trim() !== ''));
  }
  if (Array.isArray(payload)) return listOf(payload);
  if (typeof payload === 'object') {
    const p = payload as { skus?: unknown; sku?: unknown };
    if (Array.isArray(p.skus)) return listOf(p.skus);
    if (typeof p.sku === 'string' && p.sku.trim() !== '' && p.sku.trim() !== '*') return [p.sku.trim()];
  }
  throw new SkuListError(`${EXPECTED}; got ${describe(payload)}`);
}

function listOf(entries: unknown[]): string[] {
  const bad = entries.filter((s) => typeof s !== 'string' || s.trim() === '' || s.trim() === '*');
  if (bad.length) {
    throw new SkuListError(`${EXPECTED}; the list holds ${bad.map(describe).join(', ')}, which ${bad.length > 1 ? 'are not SKUs' : 'is not a SKU'}`);
  }
  return [...new Set((entries as string[]).map((s) => s.trim()))];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object')
    return `an object with keys ${
      Object.keys(value as object)
        .slice(0, 5)
        .join(', ') || '(none)'
    }`;
  return `${typeof value} ${String(value)}`;
}
