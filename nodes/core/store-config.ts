/**
 * `tillwire-store` config node: one store (SQLite file, PostgreSQL, or memory) shared by the
 * dedupe, dead-letter and replay nodes and the inbound connectors' durable inbox.
 */
import os from 'node:os';
import path from 'node:path';
import type { NodeDef, NodeRED, RuntimeNode } from './node-red';
import { createStore, StoreConfig, storeConfigFrom, StoreNodeDef } from '../runtime/create-store';
import { StoreManager } from '../runtime/store-manager';
import { registerAdminApi } from './admin-api';

export = function register(RED: NodeRED) {
  function TillwireStoreNode(this: RuntimeNode & { manager?: StoreManager }, def: StoreNodeDef & NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const baseDir = RED.settings.userDir ?? process.cwd();
    const config = storeConfigFrom(def, node.credentials);
    // Names this Node-RED and store across restarts, so a restart frees the claims its killed
    // predecessor left open (two processes never share one user directory on one host).
    const instance = `${os.hostname()}|${path.resolve(baseDir)}|${def.id}`;
    const log = (m: string) => node.warn(`Tillwire store "${def.name || def.id}" (${where(config, baseDir)}): ${m}`);
    const onHeartbeatError = (err: Error) => log(`could not renew open claims (they lapse 30 s after the last renewal): ${err.message}`);
    const manager = new StoreManager(() => createStore(config, baseDir, { instance, onHeartbeatError, warn: log }), { log });
    node.manager = manager;
    manager.start().catch(() => undefined); // failures are retried and shown on the nodes' badges
    node.on('close', (_removed: boolean, done: () => void) => {
      manager.stop().then(done, (err) => {
        node.error(err);
        done();
      });
    });
  }
  RED.nodes.registerType('tillwire-store', TillwireStoreNode, { credentials: { url: { type: 'password' } } });
  registerAdminApi(RED);
};

function where(config: StoreConfig, baseDir: string): string {
  if (config.backend === 'sqlite') return path.resolve(baseDir, config.file);
  return config.backend;
}
