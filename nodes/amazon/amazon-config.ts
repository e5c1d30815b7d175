/**
 * `tillwire-amazon-config`: one Amazon selling-partner account (region endpoint, seller id,
 * marketplaces; LWA client id, client secret and refresh token in credentials). It owns the
 * account's AmazonClient, so every node using it shares one access token and one token bucket per
 * operation, as Amazon counts them.
 */
import { AMAZON_CONFIG, type AmazonConnection } from './connection';
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { AmazonClient, REGION_ENDPOINTS, LWA_TOKEN_URL } from './client';
import { DEFAULT_API_VERSION, findMarketplace, ordersApiVersion, ORDERS_V0_REMOVAL, versionProblem } from './contract';

interface AmazonConfigDef extends NodeDef {
  region?: string;
  endpoint?: string;
  tokenUrl?: string;
  sellerId?: string;
  marketplaceIds?: string;
  timeout?: string | number;
  attempts?: string | number;
  /** Orders API version: '2026-01-01' (default) or 'v0' (until Amazon removes it). */
  apiVersion?: string;
}

export = function register(RED: NodeRED) {
  function TillwireAmazonConfigNode(this: ConfigNode<AmazonConnection>, def: AmazonConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = (node.credentials ?? {}) as Record<string, string | undefined>;
    const region = def.region || 'na';
    const endpoint = region === 'custom' ? (def.endpoint ?? '').trim() : REGION_ENDPOINTS[region];
    const marketplaceIds = String(def.marketplaceIds ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const apiVersion = ordersApiVersion(def.apiVersion || DEFAULT_API_VERSION);
    const connection: AmazonConnection = {
      label: def.name || `${def.sellerId || 'amazon'} (${region})`,
      sellerId: String(def.sellerId ?? '').trim(),
      marketplaceIds,
      apiVersion: apiVersion ?? DEFAULT_API_VERSION,
    };
    const problems: string[] = [];
    const versionIssue = versionProblem(def.apiVersion || DEFAULT_API_VERSION, new Date().toISOString().slice(0, 10));
    if (versionIssue) problems.push(versionIssue);
    else if (apiVersion === 'v0')
      node.warn(`Amazon account "${connection.label}": Orders API v0 is deprecated and Amazon removes it on ${ORDERS_V0_REMOVAL}; switch to 2026-01-01`);
    if (!endpoint || !/^https?:\/\//.test(endpoint)) problems.push('no SP-API endpoint');
    if (!marketplaceIds.length) problems.push('no marketplace ids');
    // Whether a marketplace's prices include tax decides every order total: never guessed.
    const unknown = marketplaceIds.filter((id) => !findMarketplace(id));
    if (unknown.length) problems.push(`unknown marketplace id(s) ${unknown.join(', ')}: not in SP-API's marketplace table`);
    if (!creds.clientId || !creds.clientSecret || !creds.refreshToken) problems.push('LWA client id, client secret and refresh token are all needed');
    if (problems.length) {
      connection.problem = problems.join('; ');
      node.warn(`Amazon account "${connection.label}": ${connection.problem}`);
    } else {
      const timeoutMs = Math.max(1, Number(def.timeout ?? 30)) * 1000;
      connection.client = new AmazonClient({
        endpoint,
        tokenUrl: region === 'custom' && def.tokenUrl ? def.tokenUrl.trim() : LWA_TOKEN_URL,
        credentials: { clientId: creds.clientId!, clientSecret: creds.clientSecret!, refreshToken: creds.refreshToken! },
        policy: { timeoutMs, maxAttempts: Math.max(1, Number(def.attempts ?? 6)) },
      });
    }
    node.connection = connection;
  }
  RED.nodes.registerType(AMAZON_CONFIG, TillwireAmazonConfigNode, {
    credentials: { clientId: { type: 'text' }, clientSecret: { type: 'password' }, refreshToken: { type: 'password' } },
  });
};
