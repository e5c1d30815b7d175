/**
 * `tillwire-square-config`: one Square seller account (environment, API version, locations,
 * mapping tables; access token, webhook signature key and notification URL in credentials). It
 * owns the SquareClient and its TokenBucket, so every Square node on this account shares one rate.
 */
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { TokenBucket } from '../runtime/http';
import { SquareClient } from './client';
import { SQUARE_CONFIG, SquareConfigDef, SquareConnection, SquareCredentials, squareSettingsFrom } from './connection';

export = function register(RED: NodeRED) {
  function TillwireSquareConfigNode(this: ConfigNode<SquareConnection>, def: SquareConfigDef & NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const settings = squareSettingsFrom(def, node.credentials as SquareCredentials | undefined);
    const label = def.name || `square ${settings.locationIds.join(',') || '?'}`;
    const connection: SquareConnection = { label, settings };
    if (settings.problems.length) {
      connection.problem = settings.problems.join('; ');
      node.warn(`Square connection "${label}": ${connection.problem}`);
    } else {
      const rate = settings.ratePerSecond;
      connection.client = new SquareClient({
        baseUrl: settings.baseUrl,
        accessToken: settings.accessToken,
        version: settings.apiVersion,
        // Square publishes no bucket size: requests are paced evenly (burst 1) rather than in bursts
        // that could outrun its limit.
        governor: rate > 0 ? new TokenBucket(rate, 1) : undefined,
        policy: { maxAttempts: settings.attempts, timeoutMs: settings.timeoutMs },
      });
    }
    node.connection = connection;
  }
  RED.nodes.registerType(SQUARE_CONFIG, TillwireSquareConfigNode, {
    credentials: { accessToken: { type: 'password' }, signatureKey: { type: 'password' }, notificationUrl: { type: 'text' } },
  });
};
