/**
 * `tillwire-bol-config`: one bol.com retailer account (API and token URLs, retailer id; client id
 * and client secret in credentials). It owns the account's BolClient, so every node using it
 * shares one access token and one token bucket per endpoint group, as bol counts them.
 */
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { BOL_CONFIG, type BolConnection } from './connection';
import { BolClient, BOL_API_URL, BOL_TOKEN_URL } from './client';

interface BolConfigDef extends NodeDef {
  endpoint?: string;
  tokenUrl?: string;
  retailerId?: string;
  timeout?: string | number;
  attempts?: string | number;
}

export = function register(RED: NodeRED) {
  function TillwireBolConfigNode(this: ConfigNode<BolConnection>, def: BolConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = (node.credentials ?? {}) as Record<string, string | undefined>;
    const endpoint = String(def.endpoint || BOL_API_URL)
      .trim()
      .replace(/\/+$/, '');
    const tokenUrl = String(def.tokenUrl || BOL_TOKEN_URL).trim();
    const account = String(def.retailerId ?? '').trim() || String(def.name ?? '').trim() || 'bol';
    const connection: BolConnection = { label: def.name || `bol.com ${account}`, account };
    const problems: string[] = [];
    if (!/^https?:\/\//.test(endpoint)) problems.push('no API URL');
    if (!/^https?:\/\//.test(tokenUrl)) problems.push('no token URL');
    if (!creds.clientId || !creds.clientSecret) problems.push('client id and client secret are both needed');
    if (problems.length) {
      connection.problem = problems.join('; ');
      node.warn(`bol.com account "${connection.label}": ${connection.problem}`);
    } else {
      connection.client = new BolClient({
        endpoint,
        tokenUrl,
        credentials: { clientId: creds.clientId!, clientSecret: creds.clientSecret! },
        policy: { timeoutMs: Math.max(1, Number(def.timeout ?? 30)) * 1000, maxAttempts: Math.max(1, Number(def.attempts ?? 6)) },
      });
    }
    node.connection = connection;
  }
  RED.nodes.registerType(BOL_CONFIG, TillwireBolConfigNode, {
    credentials: { clientId: { type: 'text' }, clientSecret: { type: 'password' } },
  });
};
