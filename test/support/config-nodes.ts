/**
 * Config nodes that real-runtime tests deploy against the simulators, written once: a QuickBooks
 * company and an Odoo database as a test wants them (short timeouts, no pacing).
 */
import type { OdooSimulator } from '../../simulators/odoo/simulator';
import { SEED } from '../../simulators/odoo/simulator';

/** A `tillwire-quickbooks-config` for a QuickBooks simulator: its token URL and realm, the store keeping the rotated token. */
export function qboConfigNode(qbo: { url: string; tokenUrl: string; realmId: string }, o: { id?: string; store?: string; homeCurrency?: string } = {}) {
  return {
    id: o.id ?? 'q1',
    type: 'tillwire-quickbooks-config',
    environment: 'custom',
    baseUrl: qbo.url,
    tokenUrl: qbo.tokenUrl,
    realmId: qbo.realmId,
    homeCurrency: o.homeCurrency ?? 'USD',
    store: o.store ?? 'st1',
    timeout: 5,
    attempts: 3,
  };
}

/** A `tillwire-odoo-config` for an Odoo simulator (database and login of its seed, JSON-RPC, no pacing, quick retries). */
export function odooConfigNode(odoo: Pick<OdooSimulator, 'url' | 'version'>, o: { id?: string; attempts?: number } = {}) {
  return {
    id: o.id ?? 'oc',
    type: 'tillwire-odoo-config',
    url: odoo.url,
    database: 'tillwire',
    login: 'admin',
    api: 'jsonrpc',
    version: String(odoo.version),
    defaultPartnerId: String(SEED.walkInPartnerId),
    maxConcurrent: '4',
    ratePerSecond: '0',
    timeout: '5',
    attempts: String(o.attempts ?? 2),
    retryDelay: '1',
    maxRetryWait: '0.01',
  };
}
