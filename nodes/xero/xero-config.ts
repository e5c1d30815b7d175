/**
 * `tillwire-xero-config`: one Xero organisation (tenant) and the app that reaches it. It owns the
 * one client and poster every Xero node of that organisation shares (connection.ts), so Xero's
 * per-organisation limits hold however many nodes post. Xero rotates the refresh token on each
 * refresh: the newest is kept in the chosen Tillwire store, so a restart does not need a new
 * authorisation.
 */
import type { NodeRED } from '../core/node-red';
import { statusTexts } from '../core/node-kit';
import type { StoreManager } from '../runtime/store-manager';
import { connectionFrom, kvTokenStore, XERO_CONFIG, type XeroConfigDef, type XeroConfigNode } from './connection';

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireXeroConfigNode(this: XeroConfigNode, def: XeroConfigDef & { store?: string }) {
    RED.nodes.createNode(this, def);
    const node = this;
    const credentials = (node.credentials ?? {}) as { clientSecret?: string; refreshToken?: string };
    // Looked up when first needed: the store's config node may be created after this one.
    const kv = async () => {
      const manager: StoreManager | undefined = def.store ? RED.nodes.getNode(def.store)?.manager : undefined;
      if (!manager) throw new Error(t('warn.noStore'));
      return manager.acquire();
    };
    try {
      const tokenStore = def.store && credentials.refreshToken ? kvTokenStore(kv, def.tenantId?.trim() ?? '', credentials.refreshToken) : undefined;
      node.connection = connectionFrom(def, credentials, { tokenStore });
      if (!tokenStore) node.warn(t('warn.noStore'));
    } catch (err) {
      const problem = (err as Error).message;
      node.connection = { problem };
      node.warn(t('warn.problem', { name: def.name || def.id, problem }));
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      node.connection = undefined;
      done();
    });
  }
  RED.nodes.registerType(XERO_CONFIG, TillwireXeroConfigNode, {
    credentials: { clientSecret: { type: 'password' }, refreshToken: { type: 'password' } },
  });
};
