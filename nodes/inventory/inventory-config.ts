/**
 * `tillwire-inventory`: the available-to-sell rules (rules.ts), edited in its dialog. Offers
 * `connection = { rules, problems }` to the nodes that compute and push stock figures; rules with
 * problems are offered as `rules: undefined`, so nothing is computed from a mistyped rule. Each
 * problem is logged by name on deploy. Admin routes (adminAuth, permission tillwire-inventory.read):
 *
 *   POST /tillwire/inventory/check-rules   body: the rules as the dialog has them → { problems }
 *        (the dialog's "Check rules" button, before deploying)
 *   GET  /tillwire/inventory/explain?rules=<config node id>&channel=<system[/account]>&sku=&store=
 *        → { document, explanation, lines, positionProblems }: "why does this channel show 3?",
 *        from the positions in the store's inventory ledger now
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { HttpError, resolveStore, respond } from '../core/admin-api';
import { AtsEngine, describeAts, PositionIndex, skusBehind } from './available-to-sell';
import { channelKey, compileRules, type CompiledRules, type InventoryRulesConfig } from './rules';

const INVENTORY_CONFIG = 'tillwire-inventory';
/** Problems logged one by one on deploy; the rest are counted. */
const LOGGED_PROBLEMS = 20;

const registered = new WeakSet<object>();

export = function register(RED: NodeRED) {
  function TillwireInventoryNode(this: ConfigNode<CompiledRules>, def: NodeDef & InventoryRulesConfig) {
    RED.nodes.createNode(this as RuntimeNode, def);
    const compiled = compileRules(def);
    this.connection = compiled;
    const { problems } = compiled;
    if (!problems.length) return;
    const name = def.name || def.id;
    this.error(`inventory rules "${name}" are not used: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const p of problems.slice(0, LOGGED_PROBLEMS)) this.error(`inventory rules "${name}": ${p}`);
    if (problems.length > LOGGED_PROBLEMS) this.error(`inventory rules "${name}": and ${problems.length - LOGGED_PROBLEMS} more`);
  }
  RED.nodes.registerType(INVENTORY_CONFIG, TillwireInventoryNode);

  if (RED.httpAdmin && !registered.has(RED.httpAdmin)) {
    registered.add(RED.httpAdmin);
    RED.httpAdmin.post(
      '/tillwire/inventory/check-rules',
      RED.auth.needsPermission('tillwire-inventory.read'),
      respond(async (req) => ({ problems: compileRules((req.body ?? {}) as InventoryRulesConfig).problems })),
    );
    RED.httpAdmin.get(
      '/tillwire/inventory/explain',
      RED.auth.needsPermission('tillwire-inventory.read'),
      respond(async (req) => {
        const { rules: id, channel, sku } = req.query;
        if (!id || !channel || !sku || sku.length > 128) {
          throw new HttpError(
            400,
            'pass ?rules=<tillwire-inventory node id>&channel=<system or system/account>&sku=<SKU> (and &store= when several stores are deployed)',
          );
        }
        const node = RED.nodes.getNode(id) as ConfigNode<CompiledRules> | null;
        if (node?.type !== INVENTORY_CONFIG || !node.connection) throw new HttpError(404, `no tillwire-inventory node with id ${id}`);
        const { rules, problems } = node.connection;
        if (!rules) throw new HttpError(409, `these rules are not used until their problems are fixed: ${problems.join('; ')}`);
        const rule = rules.channels.find((c) => channelKey(c) === channel);
        if (!rule) throw new HttpError(404, `no channel ${channel} in these rules (they have: ${rules.channels.map(channelKey).join(', ') || 'none'})`);
        const store = await resolveStore(RED, req.query.store);
        const index = new PositionIndex(await store.inventory.positions({ skus: skusBehind(rules, sku), locationIds: rule.locations }));
        const engine = new AtsEngine(rules, index);
        const explanation = engine.explain(rule, sku);
        return {
          document: engine.document(rule, sku, new Date().toISOString()),
          explanation,
          lines: describeAts(explanation),
          positionProblems: index.problems,
        };
      }),
    );
  }
};
