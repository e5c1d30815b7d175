/**
 * The explanation of an inventory position over the admin API (docs/inventory.md, "The explain
 * API"). Mounted on Node-RED's admin app, so it sits behind adminAuth with a read permission.
 *
 *   GET /tillwire/inventory/explain?store=&sku=&location=&limit=
 *       → { sku, location, positions (with `free`), events (most recent first), more }
 *
 * 400 names the parameter that is wrong; 404 when the SKU has no position (at that location).
 */
import type { NodeRED, RequestLike } from '../core/node-red';
import { HttpError, resolveStore, respond } from '../core/admin-api';
import { INVENTORY_LIMITS } from '../runtime/inventory';

const registered = new WeakSet<object>();
const KNOWN = new Set(['store', 'sku', 'location', 'limit']);

/** One text parameter: absent (undefined), or a non-empty string of at most `max` characters given once. */
function param(req: RequestLike, name: string, max: number, required: boolean): string | undefined {
  const v: unknown = req.query[name];
  if (v === undefined || v === '') {
    if (required) throw new HttpError(400, `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new HttpError(400, `${name} must be given once, as text`);
  if (v.length > max) throw new HttpError(400, `${name} is ${v.length} characters long, at most ${max} allowed`);
  if (/\p{Cc}/u.test(v)) throw new HttpError(400, `${name} holds control characters`);
  return v;
}

export async function explainRoute(RED: NodeRED, req: RequestLike) {
  const unknown = Object.keys(req.query).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new HttpError(400, `unknown parameter ${unknown[0].slice(0, 40)}: use store, sku, location, limit`);
  const sku = param(req, 'sku', 128, true)!;
  const location = param(req, 'location', 255, false);
  const limitText = param(req, 'limit', 4, false);
  const max = INVENTORY_LIMITS.explainEvents;
  const limit = limitText === undefined ? 50 : /^\d+$/.test(limitText) ? Number(limitText) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new HttpError(400, `limit must be a whole number from 1 to ${max}`);
  const store = await resolveStore(RED, param(req, 'store', 255, false));
  const explanation = await store.inventory.explain(sku, location, limit);
  if (explanation.positions.length === 0) {
    throw new HttpError(404, `no inventory position for SKU ${sku}${location === undefined ? '' : ` at location ${location}`}`);
  }
  return {
    sku,
    location: location ?? null,
    // What an order may take from each: on hand − reserved − safety stock, never below zero.
    positions: explanation.positions.map((p) => ({ ...p, free: Math.max(0, p.onHand - p.reserved - p.safetyStock) })),
    events: explanation.events,
    more: explanation.more,
  };
}

export function registerInventoryRoutes(RED: NodeRED): void {
  if (!RED.httpAdmin || registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  RED.httpAdmin.get(
    '/tillwire/inventory/explain',
    RED.auth.needsPermission('tillwire-inventory.read'),
    respond((req) => explainRoute(RED, req)),
  );
}
