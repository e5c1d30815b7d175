/**
 * `tillwire-inventory`: the available-to-sell rules (rules.ts), edited in its dialog. Offers
 * `connection = { rules, problems }` to the nodes that compute and push stock figures; rules with
 * problems are offered as `rules: undefined`, so nothing is computed from a mistyped rule. Each
 * problem is logged by name on deploy. Admin routes (adminAuth, permission tillwire-inventory.read):
 *
 *   POST /tillwire/inventory/check-rules   body: the rules as the dialog has them → { problems }
 *        (the dialog's "Check rules" button, before deploying)
 *
 * The explanation of a channel's figure, `GET /tillwire/inventory/explain?rules=…`, is in
 * inventory-routes.ts beside the ledger's (one route, two questions).
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { respond } from '../core/admin-api';
import { registerInventoryRoutes } from './inventory-routes';
import { compileRules, type CompiledRules, type InventoryRulesConfig } from './rules';

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
  registerInventoryRoutes(RED);

  if (RED.httpAdmin && !registered.has(RED.httpAdmin)) {
    registered.add(RED.httpAdmin);
    RED.httpAdmin.post(
      '/tillwire/inventory/check-rules',
      RED.auth.needsPermission('tillwire-inventory.read'),
      respond(async (req) => ({ problems: compileRules((req.body ?? {}) as InventoryRulesConfig).problems })),
    );
  }
};
