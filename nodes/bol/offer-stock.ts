/**
 * Setting a bol.com offer's stock from a canonical stock figure (no Node-RED import).
 *
 * bol knows stock per offer, not per SKU: the retailer's SKU becomes an offer id through the node's
 * offer map (SKU → offer id). v10 has no look-up of one's own offer by reference or EAN; the offers
 * export (a CSV prepared asynchronously) is the only list, and reading it is not done yet
 * (docs/connectors/bol.md, "Not yet").
 *
 * The update is asynchronous at bol (202 + a process status, docs/connectors/bol-contract.md,
 * "Offer stock"): the process status is read until bol has processed it, so `sent` means bol
 * accepted the figure. FAILURE is a permanent error naming the offer and bol's reason; still
 * PENDING after `waitMs` is a retryable error (sending the same absolute amount again is harmless).
 * An amount above bol's 999 is sent as 999 and the result says `capped` with the figure asked for.
 */
import { ConnectorError, delay } from '../runtime/http';
import { permanentFailure } from '../runtime/errors';
import type { BolClient, ProcessStatus } from './client';
import { OFFER_STOCK_MAX } from './contract';

const OPERATION = 'offers:stock';

/** Parses the node's offer map: a JSON object of SKU → bol offer id. */
export function parseOfferMap(text: unknown): { map: Record<string, string>; invalid?: string } {
  if (typeof text !== 'string' || !text.trim()) return { map: {} };
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { map: {}, invalid: 'not a JSON object' };
    const bad = Object.entries(parsed).find(([, v]) => typeof v !== 'string' || !v.trim());
    if (bad) return { map: {}, invalid: `the offer id of '${bad[0]}' is not text` };
    return { map: Object.fromEntries(Object.entries(parsed as Record<string, string>).map(([k, v]) => [k, v.trim()])) };
  } catch (err) {
    return { map: {}, invalid: (err as Error).message };
  }
}

/** The amount bol is to offer: `available` of a figure; for a position on hand less reserved and safety stock, never below 0. */
export function stockAmount(doc: Record<string, any>, kind: 'inventory.ats' | 'inventory.position'): number {
  return kind === 'inventory.ats' ? doc.available : Math.max(0, doc.onHand - doc.reserved - doc.safetyStock);
}

export interface OfferStockResult {
  offerId: string;
  /** The amount bol was given (at most OFFER_STOCK_MAX). */
  amount: number;
  /** Set when the figure asked for was above what bol can list: `requested` is that figure, `amount` the cap. */
  capped?: true;
  requested?: number;
  managedByRetailer: boolean;
  processStatusId: string;
  status: ProcessStatus['status'];
}

export async function setOfferStock(o: {
  client: BolClient;
  sku: string;
  amount: number;
  offers: Record<string, string>;
  managedByRetailer: boolean;
  /** How long to wait for bol to process the update (default 60 s). */
  waitMs?: number;
  /** First pause between process status reads (doubles up to 5 s). */
  pollMs?: number;
}): Promise<OfferStockResult> {
  const offerId = o.offers[o.sku];
  if (!offerId) {
    throw permanentFailure('bol', OPERATION, `unknown SKU '${o.sku}': no bol offer id for it in the node's offer map`, { providerCode: 'UnknownSku' });
  }
  if (!Number.isInteger(o.amount) || o.amount < 0) {
    throw permanentFailure('bol', OPERATION, `offer ${offerId} (SKU '${o.sku}'): amount ${o.amount} is not a whole number of 0 or more`, {
      providerCode: 'AmountOutOfRange',
      kind: 'value',
    });
  }
  // bol refuses an amount above 999; more stock than that is still a full offer: it lists the most
  // it can (refusing it would leave bol at an older, lower figure on every poll).
  const capped = o.amount > OFFER_STOCK_MAX;
  const amount = capped ? OFFER_STOCK_MAX : o.amount;
  const body = { amount, managedByRetailer: o.managedByRetailer };
  let status = await o.client.updateOfferStock(offerId, body);
  const id = status.processStatusId;
  const deadline = Date.now() + (o.waitMs ?? 60_000);
  let pause = o.pollMs ?? 250;
  while (status.status === 'PENDING') {
    if (Date.now() >= deadline) {
      throw new ConnectorError('bol', OPERATION, `offer ${offerId} (SKU '${o.sku}'): bol has not processed the stock update yet (process status ${id})`, {
        kind: 'timeout',
        retryable: true,
      });
    }
    await delay(Math.min(pause, Math.max(0, deadline - Date.now())));
    pause = Math.min(pause * 2, 5_000);
    status = await o.client.getProcessStatus(id);
  }
  if (status.status !== 'SUCCESS') {
    // FAILURE: bol refused the figure (unknown offer, offer of another retailer…); TIMEOUT: bol gave up on it.
    const reason = status.errorMessage ?? status.status;
    if (status.status === 'TIMEOUT') {
      throw new ConnectorError('bol', OPERATION, `offer ${offerId} (SKU '${o.sku}'): bol timed out processing the stock update (process status ${id})`, {
        kind: 'unavailable',
        retryable: true,
      });
    }
    throw permanentFailure('bol', OPERATION, `offer ${offerId} (SKU '${o.sku}'): bol refused the stock update (process status ${id}): ${reason}`, {
      providerCode: 'ProcessFailure',
      providerMessage: reason,
      kind: 'value',
    });
  }
  return {
    offerId,
    amount,
    ...(capped ? { capped: true as const, requested: o.amount } : {}),
    managedByRetailer: o.managedByRetailer,
    processStatusId: id,
    status: status.status,
  };
}
