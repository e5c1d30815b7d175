/**
 * An MQTT connection that acknowledges a QoS 1 message only after its handler made it durable
 * (docs/architecture.md, "Delivery through Node-RED and MQTT"). Up to `pipeline` messages are taken
 * in while earlier ones are being stored, so the store can commit them together; their PUBACKs
 * leave in arrival order, each after its own message is durable (puback-pipeline.ts). Kill the process at any instant and the broker redelivers
 * whatever was not acknowledged, because the session is persistent (clean start off, a session
 * expiry on MQTT 5). A handler that fails (store down) leaves the message unacknowledged and the
 * connection is restarted, so the broker sends it again.
 */
import { EventEmitter } from 'node:events';
import mqtt, { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { topicMatches } from './topic';
import { PubackPipeline } from './puback-pipeline';

export interface MqttConnectionOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
  /** MQTT 5 session expiry (s): how long the broker keeps the session and its queue while we are away. */
  sessionExpirySeconds?: number;
  keepaliveSeconds?: number;
  rejectUnauthorized?: boolean;
  ca?: string;
  /** Wait before reconnecting after a handler failure. */
  restartDelayMs?: number;
  /**
   * QoS 1 messages taken in while earlier ones are still being made durable (default 100); their
   * PUBACKs still leave in order, each after its own message is durable (puback-pipeline.ts).
   * 1 hands the handler one message at a time.
   */
  pipeline?: number;
}

/**
 * Makes the message durable, then calls `ack` (which lets its PUBACK go); rejects if it could not.
 * `session.current()` is false once the connection the message came on has failed or is gone: a
 * handler still waiting to store it should drop it then (the broker sends it again, in order behind
 * the ones before it). `session.fail()` says at once that a message of this connection could not
 * be stored (the rejection then restarts it).
 */
export type Handler = (topic: string, payload: Buffer, ack: () => void, session: Session) => Promise<void>;

export interface Session {
  current(): boolean;
  fail(): void;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

interface Subscription {
  filter: string;
  handler: Handler;
}

/**
 * Lets mqtt.js read the next PUBLISH: for QoS 1 by calling back at once (its PUBACK then waits in
 * the pipeline until the message is durable), for QoS 0 once the window has room.
 */
function readOn(qos1: boolean, pipeline: PubackPipeline, callback: () => void): void {
  if (qos1) callback();
  else pipeline.whenRoom(() => callback());
}

/** The config node type whose `connection` is a DurableMqttConnection. */
export const MQTT_BROKER = 'tillwire-mqtt-broker';

export class DurableMqttConnection extends EventEmitter {
  private client?: MqttClient;
  private readonly subs: Subscription[] = [];
  private stopped = false;
  private restartTimer?: NodeJS.Timeout;
  /** A delivered message no subscription took yet: held unacknowledged until one does. */
  private held?: {
    topic: string;
    payload: Buffer;
    client: MqttClient;
    callback: (err?: Error) => void;
    durable: () => void;
    qos1: boolean;
    pipeline: PubackPipeline;
  };
  /** Connections on which a message could not be stored: nothing more of theirs is stored or acknowledged. */
  private readonly failed = new WeakSet<MqttClient>();
  state: ConnectionState = 'disconnected';
  lastError?: string;

  constructor(private readonly opts: MqttConnectionOptions) {
    super();
    this.setMaxListeners(0);
  }

  /** Adds a QoS 1 subscription; returns a function that removes it. */
  subscribe(filter: string, handler: Handler): () => void {
    const sub = { filter, handler };
    this.subs.push(sub);
    if (this.client?.connected) this.client.subscribe(filter, { qos: 1 });
    if (!this.client && !this.stopped && !this.restartTimer) this.connect();
    if (this.held && topicMatches(filter, this.held.topic)) {
      const { topic, payload, client, callback, durable, qos1, pipeline } = this.held;
      this.held = undefined;
      if (client === this.client) {
        this.dispatch(sub, topic, payload, client, durable);
        readOn(qos1, pipeline, callback);
      }
      // Otherwise its connection is gone: the broker sends it again on the next one.
    }
    return () => {
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
      // Deliberately no UNSUBSCRIBE: the persistent session keeps queueing for us across a
      // redeploy. With no subscriber left, disconnect without acknowledging what is in flight.
      if (this.subs.length === 0) this.disconnect();
    };
  }

  private setState(state: ConnectionState, error?: string): void {
    this.state = state;
    if (error !== undefined) this.lastError = error;
    this.emit('state', state, this.lastError);
  }

  private connect(): void {
    const v5 = (this.opts.protocolVersion ?? 5) === 5;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      clean: false,
      protocolVersion: v5 ? 5 : 4,
      keepalive: this.opts.keepaliveSeconds ?? 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      username: this.opts.username || undefined,
      password: this.opts.password || undefined,
      rejectUnauthorized: this.opts.rejectUnauthorized ?? true,
      ca: this.opts.ca || undefined,
      resubscribe: false,
    };
    if (v5) options.properties = { sessionExpiryInterval: this.opts.sessionExpirySeconds ?? 86_400 };
    this.setState('connecting');
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    const pipeline = new PubackPipeline(client, Math.max(1, this.opts.pipeline ?? 100));
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void) => {
      if (this.stopped || client !== this.client) return; // never acknowledge while stopping
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      // A QoS 0 publish (a till that does not ask for delivery) has no PUBACK, but takes its place in the window all the same.
      const qos1 = packet.qos === 1 && packet.messageId !== undefined;
      const durable = pipeline.arrived(qos1 ? packet.messageId : undefined);
      const sub = this.subs.find((s) => topicMatches(s.filter, packet.topic));
      if (!sub) {
        // Nobody can make it durable right now (a node is being redeployed): hold it without an
        // acknowledgement until a subscription takes it, rather than acknowledging it into the void.
        this.held = { topic: packet.topic, payload, client, callback, durable, qos1, pipeline };
        this.emit('unrouted', packet.topic);
        return;
      }
      this.dispatch(sub, packet.topic, payload, client, durable);
      readOn(qos1, pipeline, callback);
    };
    client.on('connect', () => {
      this.setState('connected', '');
      if (this.subs.length) client.subscribe([...new Set(this.subs.map((s) => s.filter))], { qos: 1 });
    });
    client.on('reconnect', () => this.setState('connecting'));
    client.on('close', () => {
      if (!this.stopped) this.setState('disconnected');
    });
    client.on('error', (err) => this.setState(this.state, err.message));
  }

  private dispatch(sub: Subscription, topic: string, payload: Buffer, client: MqttClient, durable: () => void): void {
    const session: Session = {
      current: () => !this.stopped && client === this.client && !this.failed.has(client),
      fail: () => void this.failed.add(client),
    };
    const ack = () => {
      if (session.current()) durable();
    };
    sub.handler(topic, payload, ack, session).catch((err: Error) => this.restart(`not acknowledged, will be redelivered: ${err.message}`));
  }

  private disconnect(): void {
    const client = this.client;
    this.client = undefined;
    this.held = undefined;
    client?.end(true);
    if (!this.stopped) this.setState('disconnected', '');
  }

  /** Drops the connection without acknowledging, and connects again after a pause. */
  private restart(reason: string): void {
    if (this.stopped || this.restartTimer) return;
    const old = this.client;
    this.client = undefined;
    this.setState('disconnected', reason);
    old?.end(true);
    this.held = undefined;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped && this.subs.length) this.connect();
    }, this.opts.restartDelayMs ?? 2000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const client = this.client;
    this.client = undefined;
    // Forced end: in-flight messages stay unacknowledged and come back on the next session.
    if (client) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.setState('stopped');
    this.removeAllListeners();
  }
}
