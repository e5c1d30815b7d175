/**
 * `tillwire-shopify-config`: one Shopify shop (domain, Admin API version, optional base URL for the
 * simulator; access token and webhook secrets in credentials). It owns the shop's GraphQL client
 * and its cost governor, so every node of the shop paces against one calculated-cost bucket.
 */
import { apiVersionWarning, DEFAULT_API_VERSION } from './contract';
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { ShopifyClient } from './client';
import { CostGovernor } from './cost-governor';
import { normaliseShop, SHOPIFY_CONFIG, type ShopifyConnection } from './connection';

interface ConfigDef extends NodeDef {
  shop?: string;
  apiVersion?: string;
  baseUrl?: string;
  timeout?: string | number;
}

export = function register(RED: NodeRED) {
  function TillwireShopifyConfigNode(this: ConfigNode<ShopifyConnection>, def: ConfigDef) {
    RED.nodes.createNode(this, def);
    const creds = (this.credentials ?? {}) as { accessToken?: string; webhookSecret?: string; previousWebhookSecret?: string };
    const shop = normaliseShop(def.shop);
    const apiVersion = String(def.apiVersion || DEFAULT_API_VERSION).trim();
    const connection: ShopifyConnection = { shop, apiVersion, secrets: [creds.webhookSecret ?? '', creds.previousWebhookSecret ?? ''].filter(Boolean) };
    const problems: string[] = [];
    if (!shop) problems.push('no shop domain');
    if (!/^(\d{4}-\d{2}|unstable)$/.test(apiVersion)) problems.push(`API version '${apiVersion}' is not like 2026-10`);
    const baseUrl = String(def.baseUrl ?? '').trim();
    if (baseUrl && !/^https?:\/\/.+/.test(baseUrl)) problems.push('base URL must start with http:// or https://');
    const versionNote = problems.length ? undefined : apiVersionWarning(apiVersion, new Date());
    if (versionNote) this.warn(versionNote);
    if (problems.length) connection.problem = problems.join('; ');
    else if (creds.accessToken) {
      const timeout = Number(def.timeout ?? 30);
      connection.client = new ShopifyClient({
        shop,
        apiVersion,
        accessToken: creds.accessToken,
        baseUrl: baseUrl || undefined,
        governor: new CostGovernor(),
        policy: { timeoutMs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 30) * 1000 },
      });
    }
    this.connection = connection;
  }
  RED.nodes.registerType(SHOPIFY_CONFIG, TillwireShopifyConfigNode, {
    credentials: { accessToken: { type: 'password' }, webhookSecret: { type: 'password' }, previousWebhookSecret: { type: 'password' } },
  });
};
