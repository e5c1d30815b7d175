/**
 * `tillwire-odoo-config` config node: one Odoo connection (URL, database, login, API key, API
 * flavour, version) shared by every `tillwire-odoo` node that uses it. It owns the connection's
 * HttpClient, concurrency Limiter and TokenBucket, so a burst of messages in many nodes still
 * respects one limit per Odoo account, and it closes them when the flow stops.
 */
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { TokenBucket } from '../runtime/http';
import { Limiter } from '../runtime/limiter';
import { OdooClient } from './client';
import { OdooSync } from './sync';
import { ODOO_CONFIG, OdooConfigDef, OdooConnection, odooSettingsFrom } from './connection';

export = function register(RED: NodeRED) {
  function TillwireOdooConfigNode(this: ConfigNode<OdooConnection>, def: OdooConfigDef & NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const settings = odooSettingsFrom(def, node.credentials as { apiKey?: string } | undefined);
    const label = def.name || `${settings.database || '?'} @ ${settings.url || '?'}`;
    const connection: OdooConnection = { label, settings };
    if (settings.problems.length) {
      connection.problem = settings.problems.join('; ');
      node.warn(`Odoo connection "${label}": ${connection.problem}`);
    } else {
      const limiter = new Limiter(settings.maxConcurrent);
      const rate = settings.ratePerSecond;
      const governor = rate > 0 ? new TokenBucket(rate, Math.max(1, Math.ceil(rate))) : undefined;
      connection.client = new OdooClient({
        url: settings.url,
        database: settings.database,
        login: settings.login,
        apiKey: settings.apiKey,
        api: settings.api,
        version: settings.version,
        policy: settings.policy,
        governor,
        limiter,
      });
      connection.sync = new OdooSync(connection.client, {
        version: settings.version,
        defaultPartnerId: settings.defaultPartnerId,
        taxMap: settings.taxMap,
        shippingSku: settings.shippingSku,
        discountSku: settings.discountSku,
        timeZone: settings.timeZone,
      });
    }
    node.connection = connection;
    node.on('close', (_removed: boolean, done: () => void) => {
      if (!connection.client) return done();
      // Let requests in flight finish (a create and its confirmation belong together), then abort.
      connection.client.close(5000).then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType(ODOO_CONFIG, TillwireOdooConfigNode, { credentials: { apiKey: { type: 'password' } } });
};
