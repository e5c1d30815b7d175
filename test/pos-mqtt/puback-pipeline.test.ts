/**
 * The till connection's PUBACKs on the wire (nodes/pos-mqtt/connection.ts, puback-pipeline.ts),
 * against the real Mosquitto through a proxy that reads every packet the subscriber sends:
 * - several messages are handed over while none is durable yet, and no PUBACK leaves before its
 *   message is durable; PUBACKs leave in the order the PUBLISHes came, whatever order the messages
 *   became durable in;
 * - no more than `pipeline` messages are taken in unacknowledged;
 * - a connection that drops while messages are held gets every unacknowledged message again;
 * - a handler that follows the session contract (as pos-mqtt-in does: one till's messages one after
 *   another, dropped once their connection failed) keeps a till's order when a store write fails;
 * - QoS 0 messages take their place in the window too (no PUBACK, but bounded memory).
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { DurableMqttConnection } from '../../nodes/pos-mqtt/connection';
import { KeyedLock } from '../../nodes/runtime/keyed-lock';

const BROKER = { host: '127.0.0.1', port: 1883 };

/** A TCP proxy in front of the broker that records the PUBACKs the client sends, in order. */
/** Passes `from`'s bytes on to `to`, keeping the packet ids of the `cmd` packets among them. */
function relay(from: net.Socket, to: net.Socket, cmd: 'puback' | 'suback', ids: number[]): void {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (p) => {
    if (p.cmd === cmd) ids.push(p.messageId!);
  });
  from.on('data', (d) => {
    parser.parse(d);
    to.write(d);
  });
}

async function recordingProxy(): Promise<{ url: string; pubacks: number[]; subacks: number[]; drop: () => void; close: () => Promise<void> }> {
  const pubacks: number[] = [];
  const subacks: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(BROKER);
    sockets.add(client).add(upstream);
    relay(client, upstream, 'puback', pubacks);
    relay(upstream, client, 'suback', subacks);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pubacks,
    subacks,
    drop: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

interface Arrival {
  topic: string;
  n: number;
  durable: () => void;
}

let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let connection: DurableMqttConnection | undefined;
let publisher: MqttClient | undefined;

afterEach(async () => {
  await connection?.stop();
  await publisher?.endAsync();
  await proxy?.close();
  connection = undefined;
  publisher = undefined;
});

/** Connects through the proxy, subscribes `topic/#` and collects what arrives; returns once subscribed. */
async function subscribe(pipeline: number, topic: string, clientId = `pipeline-${randomUUID()}`) {
  proxy = await recordingProxy();
  const arrivals: Arrival[] = [];
  connection = new DurableMqttConnection({ url: proxy.url, clientId, pipeline, sessionExpirySeconds: 60 });
  connection.subscribe(`${topic}/#`, (t, payload, ack) => {
    return new Promise<void>((resolve) => arrivals.push({ topic: t, n: Number(payload.toString()), durable: () => (ack(), resolve()) }));
  });
  await until(() => proxy.subacks.length === 1, 'the SUBACK');
  return { arrivals, clientId };
}

async function publish(topic: string, count: number, qos: 0 | 1 = 1): Promise<void> {
  publisher = await mqtt.connectAsync(`mqtt://${BROKER.host}:${BROKER.port}`, { clientId: `pub-${randomUUID()}` });
  for (let n = 1; n <= count; n++) await publisher.publishAsync(`${topic}/${n}`, String(n), { qos });
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('hands over several messages before the first is durable; each PUBACK leaves after its own message is durable, in arrival order', async () => {
  const topic = `pipeline-test/${randomUUID()}`;
  const { arrivals } = await subscribe(100, topic);
  await publish(topic, 10);
  await until(() => arrivals.length === 10, 'all 10 messages to be handed over');
  expect(arrivals.map((a) => a.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // Durable from the last to the second: nothing may be acknowledged while the first is not.
  for (const a of [...arrivals].reverse().slice(0, 9)) a.durable();
  await new Promise((r) => setTimeout(r, 200));
  expect(proxy.pubacks).toEqual([]);
  arrivals[0].durable();
  await until(() => proxy.pubacks.length === 10, 'ten PUBACKs');
  // The broker numbers its PUBLISHes to us in the order it sends them.
  const ids = proxy.pubacks;
  expect([...ids]).toEqual([...ids].sort((a, b) => a - b));
});

it('takes in no more than `pipeline` unacknowledged messages, then one more for each PUBACK', async () => {
  const topic = `pipeline-test/${randomUUID()}`;
  const { arrivals } = await subscribe(3, topic);
  await publish(topic, 8);
  await until(() => arrivals.length === 3, 'three messages');
  await new Promise((r) => setTimeout(r, 200));
  expect(arrivals).toHaveLength(3);
  arrivals[1].durable(); // not the oldest: nothing is acknowledged, no room is made
  await new Promise((r) => setTimeout(r, 200));
  expect(arrivals).toHaveLength(3);
  expect(proxy.pubacks).toHaveLength(0);
  arrivals[0].durable(); // the oldest two go: two more come in
  await until(() => arrivals.length === 5, 'two more messages');
  await new Promise((r) => setTimeout(r, 200));
  expect(arrivals).toHaveLength(5);
  expect(proxy.pubacks).toHaveLength(2);
  for (const a of arrivals.slice(2)) a.durable();
  await until(() => arrivals.length === 8, 'the rest');
  for (const a of arrivals.slice(5)) a.durable();
  await until(() => proxy.pubacks.length === 8, 'eight PUBACKs');
  expect(arrivals.map((a) => a.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
});

it('a connection that drops with messages held gets every unacknowledged one again, the durable ones behind an undurable one included', async () => {
  const topic = `pipeline-test/${randomUUID()}`;
  const { arrivals } = await subscribe(100, topic);
  await publish(topic, 5);
  await until(() => arrivals.length === 5, 'five messages');
  arrivals[0].durable();
  await until(() => proxy.pubacks.length === 1, 'the first PUBACK');
  // 3 to 5 are durable, 2 is not: their PUBACKs wait behind it when the connection drops.
  for (const a of arrivals.slice(2)) a.durable();
  await new Promise((r) => setTimeout(r, 100));
  expect(proxy.pubacks).toHaveLength(1);
  proxy.drop();
  // mqtt.js reconnects the persistent session; the broker sends 2 to 5 again, not 1.
  await until(() => arrivals.length === 9, 'the four unacknowledged messages again', 15_000);
  expect(arrivals.slice(5).map((a) => a.n)).toEqual([2, 3, 4, 5]);
  for (const a of arrivals.slice(5)) a.durable();
  await until(() => proxy.pubacks.length === 5, 'their PUBACKs');
});

it("one till's order holds when a store write fails: the messages queued behind it are dropped and come again in order", async () => {
  const topic = `pipeline-test/${randomUUID()}`;
  proxy = await recordingProxy();
  const stored: number[] = [];
  let failOnce = true;
  const lane = new KeyedLock();
  connection = new DurableMqttConnection({ url: proxy.url, clientId: `pipeline-${randomUUID()}`, pipeline: 100, sessionExpirySeconds: 60, restartDelayMs: 50 });
  connection.subscribe(`${topic}/#`, (_t, payload, ack, session) =>
    lane.run('till', async () => {
      if (!session.current()) return; // its connection failed: the broker sends it again
      const n = Number(payload.toString());
      await new Promise((r) => setImmediate(r)); // the store write
      if (n === 1 && failOnce) {
        failOnce = false;
        session.fail();
        throw new Error('database is locked');
      }
      if (!stored.includes(n)) stored.push(n);
      ack();
    }),
  );
  await until(() => proxy.subacks.length === 1, 'the SUBACK');
  await publish(topic, 5);
  await until(() => stored.length === 5, 'all five stored', 15_000);
  expect(stored).toEqual([1, 2, 3, 4, 5]);
});

it('QoS 0 messages take their place in the window: no more than `pipeline` are taken in while none is durable', async () => {
  const topic = `pipeline-test/${randomUUID()}`;
  const { arrivals } = await subscribe(4, topic);
  await publish(topic, 12, 0);
  await until(() => arrivals.length === 4, 'four messages');
  await new Promise((r) => setTimeout(r, 200));
  expect(arrivals).toHaveLength(4);
  for (let done = 0; done < 12; done++) {
    await until(() => arrivals.length > done, `message ${done + 1}`);
    arrivals[done].durable();
  }
  await until(() => arrivals.length === 12, 'all twelve');
  expect(arrivals.map((a) => a.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  expect(proxy.pubacks).toEqual([]); // QoS 0: nothing to acknowledge
});
