/**
 * Lets mqtt.js read the next QoS 1 PUBLISH while earlier ones are still being made durable, and
 * sends their PUBACKs in arrival order, each only once its message is durable.
 *
 * Why: mqtt.js hands over one PUBLISH at a time. It parses the next one only after `handleMessage`
 * has called back and the PUBACK was written, so a handler that acknowledges after its store write
 * makes every message wait for the one before it: one store transaction per message, and nothing
 * for the store to commit together (docs/architecture.md, "Delivery through Node-RED and MQTT").
 *
 * How: `handleMessage` calls back at once; the PUBACK mqtt.js then hands to its `_sendPacket` is
 * held here until that message is durable, and PUBACKs leave in the order their PUBLISHes came
 * (MQTT requires that order for QoS 1). At most `window` messages are taken in unacknowledged: with
 * that many, mqtt.js is not called back and reads nothing more until the oldest is acknowledged, so
 * memory stays bounded and a slow store slows the PUBACKs, as before (a window of 1 is one message
 * at a time). `_sendPacket` is the one mqtt.js internal this
 * relies on; test/pos-mqtt/puback-pipeline.test.ts fails if an mqtt.js upgrade changes it.
 *
 * A connection that closes drops what it holds unsent: the broker redelivers those messages on the
 * next session, and the durable inbox recognises the ones it already stored.
 */
import type { MqttClient, Packet } from 'mqtt';

type Send = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

interface Held {
  /** Undefined for a QoS 0 message: it has no PUBACK, but holds its place in the window until durable. */
  messageId?: number;
  durable: boolean;
  /** The PUBACK mqtt.js produced, once it has. */
  puback?: Packet;
}

export class PubackPipeline {
  private queue: Held[] = [];
  /** mqtt.js callbacks (its "read the next packet") held while the window is full. */
  private waiting: Array<() => void> = [];
  private readonly send: Send;

  constructor(
    client: MqttClient,
    private readonly window: number,
  ) {
    const internal = client as unknown as { _sendPacket: Send };
    if (typeof internal._sendPacket !== 'function') throw new Error('this mqtt.js has no _sendPacket: the PUBACK pipeline cannot hold acknowledgements');
    this.send = internal._sendPacket.bind(client);
    internal._sendPacket = (packet, cb, ...rest) => {
      const held = packet.cmd === 'puback' ? this.awaitingPuback(packet.messageId) : undefined;
      if (!held) return this.send(packet, cb, ...rest);
      held.puback = packet;
      this.flush();
      if (cb) this.whenRoom(() => cb());
    };
    // Whatever is held belongs to the session that ended; the broker sends it again.
    client.on('close', () => this.drop());
  }

  /** Registers a message as it arrives (QoS 0: no `messageId`); call the returned function once it is durable. */
  arrived(messageId?: number): () => void {
    const held: Held = { messageId, durable: false };
    this.queue.push(held);
    return () => {
      held.durable = true;
      this.flush();
    };
  }

  /** Messages received and not yet acknowledged. */
  get size(): number {
    return this.queue.length;
  }

  /** The message mqtt.js is acknowledging: it calls back right after handing it over, so look from the newest. */
  private awaitingPuback(messageId: number | undefined): Held | undefined {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const h = this.queue[i];
      if (h.messageId !== undefined && h.messageId === messageId && !h.puback) return h;
    }
    return undefined;
  }

  /**
   * Calls `next` (mqtt.js's "read the next packet") once fewer than `window` messages are held. For
   * QoS 1 the held PUBACK does this; a QoS 0 message's handler calls it itself.
   */
  whenRoom(next: () => void): void {
    if (this.queue.length < this.window) next();
    else this.waiting.push(next);
  }

  private flush(): void {
    while (this.queue.length > 0 && this.queue[0].durable && (this.queue[0].puback || this.queue[0].messageId === undefined)) {
      const { puback } = this.queue.shift()!;
      if (puback) this.send(puback);
    }
    while (this.waiting.length > 0 && this.queue.length < this.window) this.waiting.shift()!();
  }

  private drop(): void {
    this.queue = [];
    this.waiting = [];
  }
}
