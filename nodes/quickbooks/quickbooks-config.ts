/**
 * `tillwire-quickbooks-config`: one QuickBooks Online company (environment, realm id, home
 * currency, tracking dimensions; the app's client id and secret and the refresh token in
 * credentials). It owns the company's client and poster, so every node posting to it shares one
 * access token, the 10 request slots and the per-second and per-minute windows.
 *
 * Intuit rotates the refresh token. Each new one replaces the credential in the runtime (saved
 * with the next deploy) and, when a Tillwire store is chosen, is written to the store under the
 * realm together with a hash of the credential it descends from; on start the stored one is used
 * as long as the credential is still that one (a newly pasted token starts a new chain).
 */
import { createHash } from 'node:crypto';
import type { NodeDef, NodeRED } from '../core/node-red';
import type { StoreManager } from '../runtime/store-manager';
import { openConnection, QUICKBOOKS_CONFIG, type QboConfigNode } from './connection';

interface QboConfigDef extends NodeDef {
  environment?: string;
  baseUrl?: string;
  tokenUrl?: string;
  realmId?: string;
  homeCurrency?: string;
  classFrom?: string;
  departmentFrom?: string;
  store?: string;
  timeout?: string | number;
  attempts?: string | number;
}

const tokenKey = (realmId: string) => `quickbooks:refresh-token:${realmId}`;
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

export = function register(RED: NodeRED) {
  function TillwireQuickbooksConfigNode(this: QboConfigNode, def: QboConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = (node.credentials ?? {}) as Record<string, string | undefined>;
    const seed = creds.refreshToken ?? '';
    const manager: StoreManager | undefined = def.store ? RED.nodes.getNode(def.store)?.manager : undefined;
    const realmId = String(def.realmId ?? '').trim();
    const persist = async (token: string) => {
      await RED.nodes.addCredentials?.(node.id, { ...creds, refreshToken: token });
      if (manager) await (await manager.acquire()).kvPut(tokenKey(realmId), { seed: digest(seed), latest: token });
    };
    const connection = openConnection(
      {
        environment: def.environment || 'production',
        baseUrl: def.baseUrl?.trim(),
        tokenUrl: def.tokenUrl?.trim(),
        realmId,
        homeCurrency: String(def.homeCurrency ?? '').trim(),
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
        refreshToken: seed,
        classFrom: def.classFrom?.trim(),
        departmentFrom: def.departmentFrom?.trim(),
      },
      persist,
      { client: { policy: { timeoutMs: Math.max(1, Number(def.timeout ?? 30)) * 1000, maxAttempts: Math.max(1, Number(def.attempts ?? 6)) } } },
    );
    if (def.name) connection.label = def.name;
    if (connection.problem) node.warn(`QuickBooks company "${connection.label}": ${connection.problem}`);
    // A token rotated before the last restart continues the chain.
    const ready =
      manager && connection.client
        ? manager
            .acquire()
            .then((store) => store.kvGet(tokenKey(realmId)))
            .then((saved: any) => {
              if (saved?.seed === digest(seed) && typeof saved.latest === 'string') connection.client!.useRefreshToken(saved.latest);
            })
        : Promise.resolve();
    ready.catch(() => undefined); // a store that is down is reported when a node posts
    node.connection = { ...connection, ready };
  }
  RED.nodes.registerType(QUICKBOOKS_CONFIG, TillwireQuickbooksConfigNode, {
    credentials: { clientId: { type: 'text' }, clientSecret: { type: 'password' }, refreshToken: { type: 'password' } },
  });
};
