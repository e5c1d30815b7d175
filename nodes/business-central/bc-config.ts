/**
 * `tillwire-bc-config`: one Business Central company (tenant, environment, company id) and how to
 * reach it. It owns the one client, concurrency Limiter and TokenBucket that every Business
 * Central node using it shares, so the account's limits are respected however many nodes send,
 * and closes them when the flow stops.
 */
import type { NodeRED } from '../core/node-red';
import { BcConfigDef, BcConfigNode, connectionFrom } from './connection';

export = function register(RED: NodeRED) {
  function TillwireBcConfigNode(this: BcConfigNode, def: BcConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    try {
      node.connection = connectionFrom(def, node.credentials ?? {});
    } catch (err) {
      node.problem = (err as Error).message;
      node.warn(`Business Central "${def.name || def.id}": ${node.problem}`);
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      node.connection?.client.close();
      node.connection = undefined;
      done();
    });
  }
  RED.nodes.registerType('tillwire-bc-config', TillwireBcConfigNode, {
    credentials: { token: { type: 'password' }, clientSecret: { type: 'password' } },
  });
};
