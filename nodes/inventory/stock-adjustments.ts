/**
 * Stock movements on the reserve node's input (docs/inventory.md, "The reserve node"): canonical
 * `inventory.adjustment` documents (one per message, or many in one array) — a goods receipt,
 * damage, a count correction, a transfer — booked in the ledger as adjustments of on hand. Each is
 * checked against its canonical schema (nodes/model/validate.ts) and known to the ledger by its
 * `adjustmentId` (source system `tillwire`: the id is unique across all sources), so the same
 * document again changes nothing and the same id with another SKU, location or delta is refused as
 * a conflict. An array's documents are booked in one ledger transaction (`adjustments`); one refused
 * leaves the others booked, and the refusals are named together after the sends, as an array of
 * positions is (stock-readings.ts).
 */
import type { InventoryAdjustment } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { InventoryInputError, INVENTORY_LIMITS, refusalsText, type InventoryEvent, type InventoryLedger } from '../runtime/inventory';

/** Adjustments in one array message at most: one ledger transaction. */
export const MAX_ADJUSTMENTS = INVENTORY_LIMITS.documents;

/** The ledger source system of a canonical adjustment: its `adjustmentId` alone names it. */
export const ADJUSTMENT_SOURCE = 'tillwire';

export interface AdjustmentResult {
  /** Adjustments booked, and found booked before with the same SKU, location and delta (nothing changed). */
  summary: { booked: number; duplicate: number; events: InventoryEvent[] };
  /** The SKUs of the adjustments booked (for tillwire-available-to-sell). */
  skus: string[];
  /** Adjustments of an array that were refused (the others were booked): thrown after the sends. */
  problem?: Error;
}

/** Whether the payload is a stock movement (one, or an array starting with one). */
export function isAdjustment(payload: unknown): boolean {
  return (Array.isArray(payload) ? payload[0] : payload)?.kind === 'inventory.adjustment';
}

/** Checks one canonical adjustment; refuses it naming the problem. */
export function checkAdjustmentDocument(doc: unknown, where: string): InventoryAdjustment {
  const v = validateDocument('inventory-adjustment', doc);
  if (!v.valid) {
    // The schema says `not: { const: 0 }`, which the validator can only call "a value that is not allowed".
    const zero = (doc as { delta?: unknown }).delta === 0;
    const errors = v.errors.map((e) => (zero && e === 'delta has a value that is not allowed' ? 'delta must not be 0' : e));
    throw new InventoryInputError(`${where} is not a valid inventory.adjustment: ${errors.slice(0, 3).join('; ')}`);
  }
  return doc as InventoryAdjustment;
}

const named = (doc: unknown, i: number) => {
  const id = (doc as { adjustmentId?: unknown } | null)?.adjustmentId;
  return typeof id === 'string' && id ? `adjustment [${i}] ${JSON.stringify(id.slice(0, 80))}` : `adjustment [${i}]`;
};

/** Books the payload's adjustments; a lone document refused throws, an array's refused ones come back as `problem`. */
export async function bookAdjustments(ledger: InventoryLedger, payload: unknown): Promise<AdjustmentResult> {
  const many = Array.isArray(payload);
  const docs: unknown[] = many ? payload : [payload];
  if (docs.length > MAX_ADJUSTMENTS) throw new InventoryInputError(`${docs.length} adjustments in one message, at most ${MAX_ADJUSTMENTS}`);
  const good: { i: number; doc: InventoryAdjustment }[] = [];
  const refused: { i: number; why: string }[] = [];
  docs.forEach((d, i) => {
    try {
      good.push({ i, doc: checkAdjustmentDocument(d, many ? named(d, i) : 'the adjustment') });
    } catch (err) {
      if (!many) throw err;
      refused.push({ i, why: (err as Error).message });
    }
  });
  const changes = good.length
    ? await ledger.adjustments(
        good.map(({ doc }) => ({
          source: { system: ADJUSTMENT_SOURCE, account: '', documentId: doc.adjustmentId },
          lines: [{ sku: doc.sku, locationId: doc.locationId, delta: doc.delta }],
        })),
      )
    : [];
  const summary: AdjustmentResult['summary'] = { booked: 0, duplicate: 0, events: [] };
  const skus = new Set<string>();
  changes.forEach((change, n) => {
    const { i, doc } = good[n];
    if (change instanceof Error) {
      if (!many) throw change;
      refused.push({ i, why: `${named(doc, i)}: ${change.message}` });
    } else if (change.duplicate) summary.duplicate++;
    else {
      summary.booked++;
      summary.events.push(...change.events);
      skus.add(doc.sku);
    }
  });
  // Named in the message's order, whether the schema or the ledger refused them.
  refused.sort((a, b) => a.i - b.i);
  return {
    summary,
    skus: [...skus],
    ...(refused.length
      ? { problem: new InventoryInputError(`${refused.length} of ${docs.length} adjustments refused: ${refusalsText(refused.map((r) => r.why))}`) }
      : {}),
  };
}
