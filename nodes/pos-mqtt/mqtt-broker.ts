/**
 * `tillwire-mqtt-broker` config node: one durable MQTT connection (mqtt.js 5) shared by the
 * store-device nodes that use it. The client id must stay the same across restarts, or the
 * broker's persistent session (and the messages it queued for us) would be lost: by default it is
 * derived from this config node's id and the host name, so each Node-RED instance in a
 * shared-subscription group has its own stable id.
 */
import os from 'node:os';
import type { NodeDef, NodeRED } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { DurableMqttConnection, MQTT_BROKER } from './connection';

interface BrokerDef extends NodeDef {
  url: string;
  clientId?: string;
  protocolVersion?: string | number;
  sessionExpiry?: string | number;
  keepalive?: string | number;
  rejectUnauthorized?: boolean;
}

export = function register(RED: NodeRED) {
  function TillwireMqttBrokerNode(this: ConfigNode<DurableMqttConnection>, def: BrokerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const clientId = def.clientId?.trim() || `tillwire-${def.id}-${os.hostname()}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
    node.connection = new DurableMqttConnection({
      url: def.url || 'mqtt://127.0.0.1:1883',
      clientId,
      username: node.credentials?.username,
      password: node.credentials?.password,
      ca: node.credentials?.ca,
      protocolVersion: Number(def.protocolVersion) === 4 ? 4 : 5,
      sessionExpirySeconds: Number(def.sessionExpiry) > 0 ? Number(def.sessionExpiry) : 86_400,
      keepaliveSeconds: Number(def.keepalive) > 0 ? Number(def.keepalive) : 30,
      rejectUnauthorized: def.rejectUnauthorized !== false,
    });
    node.connection.on('unrouted', (topic: string) => node.warn(`holding a message on ${topic} unacknowledged until a node subscribes to it`));
    node.on('close', (_removed: boolean, done: () => void) => {
      node.connection!.stop().then(done, done);
    });
  }
  RED.nodes.registerType(MQTT_BROKER, TillwireMqttBrokerNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' }, ca: { type: 'password' } },
  });
};
