/**
 * `tillwire-bc-config`: one Business Central company (tenant, environment, company id) and how to
 * reach it. It owns the one client, concurrency Limiter and TokenBucket that every Business
 * Central node using it shares, so the account's limits are respected however many nodes send,
 * and closes them when the flow stops.
 */
import type { NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { BC_CONFIG, BcConfigConnection, BcConfigDef, connectionFrom } from './connection';

export = function register(RED: NodeRED) {
  function TillwireBcConfigNode(this: ConfigNode<BcConfigConnection>, def: BcConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    try {
      node.connection = connectionFrom(def, node.credentials ?? {});
    } catch (err) {
      node.connection = { problem: (err as Error).message };
      node.warn(`Business Central "${def.name || def.id}": ${node.connection.problem}`);
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      // Calls still under way end with a retryable 'stopped' error.
      const connection = node.connection;
      if (connection && connection.problem === undefined) connection.client.close();
      node.connection = undefined;
      done();
    });
  }
  RED.nodes.registerType(BC_CONFIG, TillwireBcConfigNode, {
    credentials: { token: { type: 'password' }, clientSecret: { type: 'password' } },
  });
};
