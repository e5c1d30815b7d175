/**
 * The store-tills node against the real Mosquitto on 127.0.0.1:1883, through node-red-node-test-helper.
 * Each test uses its own brand in the topic and its own client ids, so runs never see each other.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import deadLetterNode from '../../nodes/core/dead-letter';
import brokerNode from '../../nodes/pos-mqtt/mqtt-broker';
import posNode from '../../nodes/pos-mqtt/pos-mqtt-in';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { MQTT_URL, uniqueName } from '../support/services';

const nodes = [storeNode, ackNode, deadLetterNode, brokerNode, posNode];
const template = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical/sale.json'), 'utf8'));

function sale(brand: string, store: string, till: string, seq: number) {
  const doc = JSON.parse(JSON.stringify(template));
  Object.assign(doc, { storeId: store, terminalId: till, sequence: seq, saleId: `${till}-${String(seq).padStart(6, '0')}` });
  return { topic: `tillwire/${brand}/stores/${store}/tills/${till}/sales`, doc };
}

let publisher: mqtt.MqttClient;
beforeAll(async () => {
  publisher = await mqtt.connectAsync(MQTT_URL, { clientId: uniqueName('till'), protocolVersion: 5 });
});
afterAll(async () => {
  await publisher.endAsync();
});
beforeEach(startServer);
afterEach(stopAll);

function flow(brand: string, extra: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'b1', type: 'tillwire-mqtt-broker', url: MQTT_URL, clientId: uniqueName('tw'), protocolVersion: 5, sessionExpiry: 60 },
    {
      id: 'in1',
      type: 'tillwire-pos-mqtt-in',
      z: 'f1',
      broker: 'b1',
      store: 's1',
      topic: `tillwire/${brand}/stores/+/tills/+/+`,
      gapGraceSeconds: 0.3,
      wires: [['sales', 'ack1'], ['gaps'], ['closes']],
      ...extra,
    },
    { id: 'ack1', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [['acked']] },
    { id: 'sales', type: 'helper', z: 'f1' },
    { id: 'gaps', type: 'helper', z: 'f1' },
    { id: 'closes', type: 'helper', z: 'f1' },
    { id: 'acked', type: 'helper', z: 'f1' },
  ];
}

async function connected() {
  const conn = (helper.getNode('b1') as any).connection;
  await until(() => conn.state === 'connected', 10_000);
  // the subscription is placed right after CONNACK; a round trip through the broker settles it
  const probe = uniqueName('probe');
  await publisher.publishAsync(`tillwire/${probe}/x`, 'x', { qos: 1 });
}

describe('tillwire-pos-mqtt-in', () => {
  it('emits valid sales with the envelope, registers them, and keeps the inbox open until the ack node', async () => {
    const brand = uniqueName('b');
    await helper.load(nodes, flow(brand));
    await connected();
    const got = collect(helper.getNode('sales'), 2);
    const acked = collect(helper.getNode('acked'), 2);
    for (const seq of [1, 2]) {
      const s = sale(brand, 'S001', 'T1', seq);
      await publisher.publishAsync(s.topic, JSON.stringify(s.doc), { qos: 1 });
    }
    const msgs = await got;
    expect(msgs.map((m) => m.tillwire.idempotencyKey)).toEqual(['sale:S001:T1:T1-000001', 'sale:S001:T1:T1-000002']);
    expect(msgs[0]).toMatchObject({ topic: 'sale.completed', tillwire: { schemaVersion: 1, source: { system: 'pos', channel: brand, account: 'S001' } } });
    await acked;
    const store = await (helper.getNode('s1') as any).manager.acquire();
    expect(await store.inboxPending('pos-mqtt:in1')).toEqual([]);
    const day = await store.registerList({ storeId: 'S001', terminalId: 'T1' });
    expect(day.map((e: any) => e.sequence)).toEqual([1, 2]);
  });

  it('a repeat of a sale is acknowledged but not emitted twice', async () => {
    const brand = uniqueName('b');
    await helper.load(nodes, flow(brand));
    await connected();
    const s = sale(brand, 'S002', 'T1', 1);
    const got: any[] = [];
    helper.getNode('sales').on('input', (m: any) => got.push(m));
    const next = sale(brand, 'S002', 'T1', 2);
    await publisher.publishAsync(s.topic, JSON.stringify(s.doc), { qos: 1 });
    await publisher.publishAsync(s.topic, JSON.stringify(s.doc), { qos: 1 });
    await publisher.publishAsync(next.topic, JSON.stringify(next.doc), { qos: 1 });
    await until(() => got.length === 2);
    // the broker delivers in order on one topic: once sequence 2 is out, the repeat was handled
    expect(got.map((m) => m.payload.sequence)).toEqual([1, 2]);
  });

  it('bytes that are not UTF-8, a schema violation and a store mismatch go to the dead-letter store with raw bytes and reason; good ones flow', async () => {
    const brand = uniqueName('b');
    await helper.load(nodes, flow(brand));
    await connected();
    const got = collect(helper.getNode('sales'), 1);
    const acked = collect(helper.getNode('acked'), 1);
    const bad = sale(brand, 'S003', 'T1', 1);
    bad.doc.lines[0].quantity = 0;
    const other = sale(brand, 'S003', 'T1', 2);
    other.doc.storeId = 'S999';
    const raw = Buffer.from([0x7b, 0x22, 0x73, 0xff, 0xfe]);
    await publisher.publishAsync(`tillwire/${brand}/stores/S003/tills/T1/sales`, raw, { qos: 1 });
    await publisher.publishAsync(bad.topic, JSON.stringify(bad.doc), { qos: 1 });
    await publisher.publishAsync(other.topic, JSON.stringify(other.doc), { qos: 1 });
    const good = sale(brand, 'S003', 'T1', 3);
    await publisher.publishAsync(good.topic, JSON.stringify(good.doc), { qos: 1 });
    expect((await got)[0].payload.sequence).toBe(3);
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.countDeadLetters()) === 3);
    const entries = await store.listDeadLetters();
    const reasons = entries.map((e: any) => e.error.message);
    expect(reasons[0]).toBe('payload is not valid UTF-8 (byte 3)');
    expect(reasons[1]).toBe('sale failed validation: lines[0].quantity has a value that is not allowed');
    expect(reasons[2]).toBe("payload store/till S999/T1 does not match the topic's S003/T1");
    expect(entries[0].nodeId).toBe('in1');
    // the raw bytes (not UTF-8) are kept exactly, as base64
    const stored = entries[0].message.payload;
    expect(stored).toEqual({ type: 'Buffer', base64: raw.toString('base64') });
    // a UTF-8 message is kept as its text
    expect(JSON.parse(entries[1].message.payload)).toEqual(bad.doc);
    // rejected messages are finished by the node itself; the good one once the ack node saw it
    await acked;
    expect(await store.inboxPending('pos-mqtt:in1')).toEqual([]);
  });

  it('reports a sequence gap after the grace period, and none when the late sale arrives in time', async () => {
    const brand = uniqueName('b');
    await helper.load(nodes, flow(brand));
    await connected();
    const gaps = collect(helper.getNode('gaps'), 1);
    const sales = collect(helper.getNode('sales'), 6);
    // till T1: 1, 2, 4 (3 never comes); till T2: 1, 3, 2 (2 arrives late, within the grace)
    for (const [till, seq] of [
      ['T1', 1],
      ['T1', 2],
      ['T1', 4],
      ['T2', 1],
      ['T2', 3],
      ['T2', 2],
    ] as const) {
      const s = sale(brand, 'S004', till, seq);
      await publisher.publishAsync(s.topic, JSON.stringify(s.doc), { qos: 1 });
    }
    await sales;
    const [gap] = await gaps;
    expect(gap.payload).toMatchObject({ storeId: 'S004', terminalId: 'T1', missing: [3], seenSequence: 4 });
    expect(gap.topic).toBe('sale.gap');
  });

  it('till closes leave on the third output', async () => {
    const brand = uniqueName('b');
    await helper.load(nodes, flow(brand));
    await connected();
    const closes = collect(helper.getNode('closes'), 1);
    const close = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical/till-close.json'), 'utf8'));
    await publisher.publishAsync(`tillwire/${brand}/stores/${close.storeId}/tills/${close.terminalId}/close`, JSON.stringify(close), { qos: 1 });
    const [msg] = await closes;
    expect(msg.topic).toBe('till.closed');
    expect(msg.payload).toEqual(close);
  });

  it('backpressure: past "max unfinished" the next PUBACK waits until the inbox-done node finishes work', async () => {
    const brand = uniqueName('b');
    const f = flow(brand, { maxInFlight: 3 });
    (f.find((n: any) => n.id === 'in1') as any).wires = [['sales'], ['gaps'], ['closes']]; // ack not wired
    await helper.load(nodes, f);
    await connected();
    const first = collect(helper.getNode('sales'), 3);
    for (let seq = 1; seq <= 5; seq++) {
      const s = sale(brand, 'S005', 'T1', seq);
      await publisher.publishAsync(s.topic, JSON.stringify(s.doc), { qos: 1 });
    }
    const held = await first;
    const rest = collect(helper.getNode('sales'), 2);
    await until(() => (helper.getNode('in1') as any).status.lastCall?.args[0]?.text?.startsWith('waiting: 3 unfinished'));
    // finishing the three lets the other two through
    for (const m of held) helper.getNode('ack1').receive(m);
    expect((await rest).map((m) => m.payload.sequence)).toEqual([4, 5]);
  });
});
