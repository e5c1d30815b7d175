/**
 * Limits on the till input path, on the real runtime (real Mosquitto, real Node-RED with the
 * product's settings): too deep, too large, too many lines, not UTF-8. Each ends in the dead-letter
 * store with its reason, bounded in size; nothing stays pending; valid sales beside them flow.
 */
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { startMosquitto } from '../support/mosquitto';
import { startTillRuntime, TillRuntime, saleDoc, salesTopic, ready, waitUntil } from './runtime-support';

jest.setTimeout(180_000);

const BRAND = 'acme';
let rt: TillRuntime;

beforeAll(async () => {
  // A broker without its own size limit, so the node's limit is what is tested here.
  rt = await startTillRuntime({ mosquitto: { settings: { message_size_limit: null } }, pos: { maxLines: 3 } });
  await ready(rt, BRAND);
});
afterAll(async () => {
  await rt?.stop();
});

const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;
const letterFor = async (store: string) => (await rt.deadLetters()).filter((d) => d.topic?.includes(`/stores/${store}/`));

it('a payload nested thousands of levels deep is dead-lettered with a reason, leaves nothing pending after a restart, and the sale beside it flows', async () => {
  const deep = '{"x":'.repeat(5000) + '1' + '}'.repeat(5000);
  await rt.publish(salesTopic(BRAND, 'DEEP', 'T1'), deep);
  const valid = saleDoc('DEEP', 'T1', 1);
  await rt.publish(salesTopic(BRAND, 'DEEP', 'T1'), JSON.stringify(valid));
  await waitUntil(async () => (await count(valid.saleId)) === 1, 30_000, 'the valid sale beside it');
  await waitUntil(async () => (await letterFor('DEEP')).length === 1, 30_000, 'the dead letter of the deep payload');
  const [letter] = await letterFor('DEEP');
  expect(letter.error.message).toMatch(/nested deeper than \d+ levels/);
  await rt.restart();
  await ready(rt, BRAND);
  // The marker is seen as it leaves the node, a moment before the ack node completes its entry.
  await waitUntil(
    () => rt.pendingInbox() === 0,
    10_000,
    () => `${rt.pendingInbox()} inbox entries pending`,
  );
  expect(await letterFor('DEEP')).toHaveLength(1);
});

it('a message whose processing throws is retried, then dead-lettered with the error; later sales of its till are not held up', async () => {
  // An inbox entry the node cannot process (written damaged, or by a version that stored it otherwise).
  const topic = salesTopic(BRAND, 'POISON', 'T1');
  await rt.restart(() => {
    const db = new Database(rt.dbFile);
    db.prepare(`INSERT INTO tw_inbox (source, event_id, payload, received_at, state, attempts) VALUES (?, ?, ?, ?, 'pending', 0)`).run(
      'pos-mqtt:tills-in',
      `${topic}#damaged`,
      JSON.stringify({ topic, base64: 42 }),
      Date.now(),
    );
    db.close();
  });
  await ready(rt, BRAND);
  const valid = saleDoc('POISON', 'T1', 1);
  await rt.publish(topic, JSON.stringify(valid));
  await waitUntil(async () => (await count(valid.saleId)) === 1, 30_000, 'the valid sale of the same till');
  await waitUntil(async () => (await letterFor('POISON')).length === 1, 60_000, 'the poison message in the dead-letter store');
  const [letter] = await letterFor('POISON');
  expect(letter.error.message).toMatch(/^gave up after 5 attempts: /);
  expect(letter.message.tillwire.eventId).toBe(`${topic}#damaged`);
  await waitUntil(() => rt.pendingInbox() === 0, 30_000, 'no pending inbox entry');
});

it('a pending entry left by another instance that stopped is taken over while Node-RED runs, without a restart', async () => {
  // Another Node-RED instance sharing the store received this sale two minutes ago and died
  // before finishing it: its entry is pending, and its lease ran out long ago.
  const topic = salesTopic(BRAND, 'ORPHAN', 'T1');
  const orphan = saleDoc('ORPHAN', 'T1', 1);
  const db = new Database(rt.dbFile);
  db.prepare(`INSERT INTO tw_inbox (source, event_id, payload, received_at, state, attempts) VALUES (?, ?, ?, ?, 'pending', 0)`).run(
    'pos-mqtt:tills-in',
    `${topic}#orphan`,
    JSON.stringify({ topic, text: JSON.stringify(orphan) }),
    Date.now() - 120_000,
  );
  db.close();
  await waitUntil(async () => (await count(orphan.saleId)) === 1, 45_000, 'the orphaned sale to be re-emitted by the sweep');
  await waitUntil(() => rt.pendingInbox() === 0, 10_000, 'no pending inbox entry');
});

it('a 20 MB message is dead-lettered with its size, stored as a bounded prefix and digest; the store grows by less than the cap', async () => {
  const before = rt.storeBytes();
  const huge = JSON.stringify({ ...saleDoc('HUGE', 'T1', 1), attributes: { pad: 'x'.repeat(20 * 1024 * 1024) } });
  await rt.publish(salesTopic(BRAND, 'HUGE', 'T1'), huge);
  const valid = saleDoc('HUGE', 'T1', 2);
  await rt.publish(salesTopic(BRAND, 'HUGE', 'T1'), JSON.stringify(valid));
  await waitUntil(async () => (await count(valid.saleId)) === 1, 60_000, 'the valid sale after it');
  await waitUntil(async () => (await letterFor('HUGE')).length === 1, 30_000, 'the dead letter of the 20 MB message');
  const [letter] = await letterFor('HUGE');
  expect(letter.error.message).toMatch(new RegExp(`message of ${Buffer.byteLength(huge)} bytes is over the limit of 262144 bytes`));
  expect(letter.message.payload).toMatchObject({ truncated: true, bytes: Buffer.byteLength(huge) });
  expect(JSON.stringify(letter).length).toBeLessThan(64 * 1024);
  expect(rt.storeBytes() - before).toBeLessThan(1024 * 1024);
});

it('text that is not valid UTF-8 is rejected with the byte offset, not read with replacement characters', async () => {
  const doc = saleDoc('UTF', 'T1', 1);
  const text = Buffer.from(JSON.stringify({ ...doc, cashierId: 'C\u00e9' }), 'utf8');
  const at = text.indexOf(Buffer.from('\u00e9', 'utf8'));
  const bad = Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at + 2)]);
  await rt.publish(salesTopic(BRAND, 'UTF', 'T1'), bad);
  const valid = saleDoc('UTF', 'T1', 2);
  await rt.publish(salesTopic(BRAND, 'UTF', 'T1'), JSON.stringify(valid));
  await waitUntil(async () => (await count(valid.saleId)) === 1, 30_000, 'the valid sale');
  await waitUntil(async () => (await letterFor('UTF')).length === 1, 30_000, 'the dead letter');
  const [letter] = await letterFor('UTF');
  expect(letter.error.message).toBe(`payload is not valid UTF-8 (byte ${at})`);
  expect(await count(doc.saleId)).toBe(0);
  // the raw bytes are kept exactly, as base64 text
  expect(letter.message.payload).toEqual({ type: 'Buffer', base64: bad.toString('base64') });
});

it('a sale with more lines than the node allows is rejected with the count', async () => {
  const doc = saleDoc('LINES', 'T1', 1);
  doc.lines.push({ ...doc.lines[2], lineId: '4' });
  await rt.publish(salesTopic(BRAND, 'LINES', 'T1'), JSON.stringify(doc));
  const valid = saleDoc('LINES', 'T1', 2);
  await rt.publish(salesTopic(BRAND, 'LINES', 'T1'), JSON.stringify(valid));
  await waitUntil(async () => (await count(valid.saleId)) === 1, 30_000, 'the valid sale');
  await waitUntil(async () => (await letterFor('LINES')).length === 1, 30_000, 'the dead letter');
  expect((await letterFor('LINES'))[0].error.message).toBe('sale has 4 lines; the limit is 3');
});

it('the shipped Mosquitto configuration drops a payload over the same 256 KiB limit: acknowledged to the till, never forwarded', async () => {
  const broker = await startMosquitto(); // config/mosquitto/tillwire.conf as shipped
  const reader = await mqtt.connectAsync(broker.url, { clientId: 'reader-limit', protocolVersion: 5, reconnectPeriod: 0 });
  // MQTT 3.1.1: Mosquitto completes the QoS 1 flow and discards the message. (Under MQTT 5 it
  // answers PUBACK reason code 149, which mqtt.js treats as a protocol error: docs/store-devices.md.)
  const till = await mqtt.connectAsync(broker.url, { clientId: 'till-limit', protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const topic = 'tillwire/acme/stores/S/tills/T/sales';
    const forwarded: number[] = [];
    reader.on('message', (_t, payload) => forwarded.push(payload.length));
    await reader.subscribeAsync(topic, { qos: 1 });
    await till.publishAsync(topic, Buffer.alloc(256 * 1024 + 1, 0x20), { qos: 1 });
    await till.publishAsync(topic, Buffer.alloc(256 * 1024, 0x20), { qos: 1 });
    await waitUntil(() => forwarded.length === 1, 10_000, 'the publish at the limit');
    expect(forwarded).toEqual([256 * 1024]);
  } finally {
    till.end(true);
    reader.end(true);
    await broker.stop();
  }
});
