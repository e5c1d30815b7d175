/**
 * Explanations over the admin API (docs/inventory.md, "The explain API" and "Reading an
 * available-to-sell explanation"). Mounted on Node-RED's admin app, so they sit behind adminAuth
 * with the permission tillwire-inventory.read. One route answers two questions:
 *
 *   GET /tillwire/inventory/explain?store=&sku=&location=&limit=
 *       → { sku, location, positions (with `free`), events (most recent first), more }:
 *       the ledger's figures of a SKU and the events behind them. 400 names the parameter that
 *       is wrong; 404 when the SKU has no position (at that location).
 *   GET /tillwire/inventory/explain?rules=<tillwire-inventory node id>&channel=<system[/account]>&sku=&store=
 *       → { document, explanation, lines, positionProblems }: "why does this channel show 3?",
 *       from the positions in the store's inventory ledger now.
 *
 * Registered by both the reserve node and the tillwire-inventory config node (once per admin app).
 */
import type { ConfigNode } from '../core/config-node';
import type { NodeRED, RequestLike } from '../core/node-red';
import { HttpError, resolveStore, respond } from '../core/admin-api';
import { INVENTORY_LIMITS } from '../runtime/inventory';
import { AtsEngine, describeAts, PositionIndex, skusBehind } from './available-to-sell';
import { channelKey, type CompiledRules } from './rules';

const registered = new WeakSet<object>();
const KNOWN = new Set(['store', 'sku', 'location', 'limit']);
const KNOWN_ATS = new Set(['rules', 'channel', 'sku', 'store']);
const INVENTORY_CONFIG = 'tillwire-inventory';

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

/** A channel's available-to-sell figure for a SKU under a tillwire-inventory node's rules. */
async function explainAts(RED: NodeRED, req: RequestLike) {
  // The same checks as the ledger's question: each parameter once, as text, bounded, no control characters.
  const unknown = Object.keys(req.query).filter((k) => !KNOWN_ATS.has(k));
  if (unknown.length) throw new HttpError(400, `unknown parameter ${unknown[0].slice(0, 40)}: use rules, channel, sku, store`);
  const usage = 'pass ?rules=<tillwire-inventory node id>&channel=<system or system/account>&sku=<SKU> (and &store= when several stores are deployed)';
  const id = param(req, 'rules', 255, false);
  const channel = param(req, 'channel', 511, false);
  const sku = param(req, 'sku', 128, false);
  if (!id || !channel || !sku) throw new HttpError(400, usage);
  const node = RED.nodes.getNode(id) as ConfigNode<CompiledRules> | null;
  if (node?.type !== INVENTORY_CONFIG || !node.connection) throw new HttpError(404, `no tillwire-inventory node with id ${id}`);
  const { rules, problems } = node.connection;
  if (!rules) throw new HttpError(409, `these rules are not used until their problems are fixed: ${problems.join('; ')}`);
  const rule = rules.channels.find((c) => channelKey(c) === channel);
  if (!rule) throw new HttpError(404, `no channel ${channel} in these rules (they have: ${rules.channels.map(channelKey).join(', ') || 'none'})`);
  const store = await resolveStore(RED, param(req, 'store', 255, false));
  const index = new PositionIndex(await store.inventory.positions({ skus: skusBehind(rules, sku), locationIds: rule.locations }));
  const engine = new AtsEngine(rules, index);
  const explanation = engine.explain(rule, sku);
  return {
    document: engine.document(rule, sku, new Date().toISOString()),
    explanation,
    lines: describeAts(explanation),
    positionProblems: index.problems,
  };
}

export async function explainRoute(RED: NodeRED, req: RequestLike) {
  // With rules or a channel, the question is a channel's figure; otherwise the ledger's.
  if (req.query.rules !== undefined || req.query.channel !== undefined) return explainAts(RED, req);
  const unknown = Object.keys(req.query).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new HttpError(400, `unknown parameter ${unknown[0].slice(0, 40)}: use store, sku, location, limit`);
  const sku = param(req, 'sku', 128, true)!;
  const location = param(req, 'location', 255, false);
  const limitText = param(req, 'limit', 12, false);
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
