/**
 * A till sale dead-lettered by tillwire-pos-mqtt-in, edited through the admin API (as the editor's
 * dead-letter panel does) and replayed, on the real runtime (real Mosquitto, real Node-RED with the
 * product's settings). The replay node is wired back to the node's input, as the store-sales
 * templates are: the replayed sale passes the same checks and the same sales register as a message
 * from the broker, so it reaches the flow once, a still-wrong edit goes back to its dead-letter entry
 * with the reason, and an edit colliding with a recorded sale is a conflict, not a second sale.
 */
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
const STORE = 'RPL';
const rt = tillRuntimeForFile(BRAND, { replay: true });
const topic = salesTopic(BRAND, STORE, 'T1');
const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;
/** The dead-letter entries about one sale (their payload is the message as received, or as edited). */
const entriesOf = async (saleId: string) => (await rt.deadLetters()).filter((d) => JSON.stringify(d.message?.payload ?? '').includes(saleId));
const wrongSum = (seq: number, by = 1) => {
  const doc = saleDoc(STORE, 'T1', seq);
  doc.totals.grandTotal.amount += by;
  return doc;
};
async function deadLettered(saleId: string, n = 1) {
  await waitUntil(async () => (await entriesOf(saleId)).length === n, 30_000, `${n} dead letter(s) for ${saleId}`);
  return entriesOf(saleId);
}
async function edit(id: string, payload: unknown) {
  const entry = (await rt.admin('GET', `/tillwire/dead-letters/${id}`)).body;
  const res = await rt.admin('PUT', `/tillwire/dead-letters/${id}`, { payload, version: entry.version });
  expect(res.status).toBe(200);
}
const replay = async (ids: string[]) => (await rt.admin('POST', '/tillwire/replay/tills-replay', { ids })).body.replayed;
/** A valid sale on the same till after the others: the till's messages are processed in order, so once it is out, those before it are done. */
let markerSeq = 900;
async function marker() {
  const doc = saleDoc(STORE, 'T1', ++markerSeq);
  await rt.publish(topic, JSON.stringify(doc));
  await waitUntil(async () => (await count(doc.saleId)) === 1, 30_000, `marker ${doc.saleId}`);
}

it('an edit without a version, or with one that is not a number, is refused 400 naming the problem, and changes nothing', async () => {
  const bad = wrongSum(1);
  await rt.publish(topic, JSON.stringify(bad));
  const [entry] = await deadLettered(bad.saleId);
  const corrected = saleDoc(STORE, 'T1', 1);

  const missing = await rt.admin('PUT', `/tillwire/dead-letters/${entry.id}`, { payload: corrected });
  expect(missing.status).toBe(400);
  expect(missing.body.error).toMatch(/version is required/);
  for (const version of ['abc', '1.5', -1, true]) {
    const wrong = await rt.admin('PUT', `/tillwire/dead-letters/${entry.id}`, { payload: corrected, version });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(/version must be a whole number/);
  }
  const stale = await rt.admin('PUT', `/tillwire/dead-letters/${entry.id}`, { payload: corrected, version: entry.version + 7 });
  expect(stale.status).toBe(409);
  const after = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
  expect(after.version).toBe(entry.version);
  expect(after.message.payload).toEqual(entry.message.payload);
});

it('a sale dead-lettered for a wrong sum, edited and replayed, passes the checks and the register and comes out once; replaying again and the till re-sending it count once', async () => {
  const bad = wrongSum(2);
  await rt.publish(topic, JSON.stringify(bad));
  const [entry] = await deadLettered(bad.saleId);
  expect(entry.error.message).toMatch(/totals\.grandTotal/);

  const corrected = saleDoc(STORE, 'T1', 2);
  await edit(entry.id, corrected);
  expect(await replay([entry.id])).toBe(1);
  await waitUntil(async () => (await count(bad.saleId)) === 1, 30_000, 'the replayed sale');
  const out = (await rt.received()).find((r) => r.saleId === bad.saleId)!;
  expect(out.key).toBe(`sale:${STORE}:T1:${bad.saleId}`);
  expect(out.topic).toBe('sale.completed');
  expect(rt.registered()).toContain(`sale:${STORE}:T1:${bad.saleId}`);
  expect((await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body.status).toBe('replayed');

  // Again: the entry is no longer pending, so nothing is emitted; the till also re-sends the sale.
  expect(await replay([entry.id])).toBe(0);
  await rt.publish(topic, JSON.stringify(corrected, null, 1));
  await marker();
  expect(await count(bad.saleId)).toBe(1);
  expect(await entriesOf(bad.saleId)).toHaveLength(1);
});

it('two dead letters of one sale, both corrected and replayed together, are one sale', async () => {
  const first = wrongSum(3, 1);
  const second = wrongSum(3, 2);
  await rt.publish(topic, JSON.stringify(first));
  await rt.publish(topic, JSON.stringify(second));
  const entries = await deadLettered(first.saleId, 2);
  const corrected = saleDoc(STORE, 'T1', 3);
  for (const e of entries) await edit(e.id, corrected);
  expect(await replay(entries.map((e) => e.id))).toBe(2);
  await waitUntil(async () => (await count(first.saleId)) === 1, 30_000, 'the replayed sale');
  await marker();
  expect(await count(first.saleId)).toBe(1);
  // The second replay was a repeat of a recorded sale: counted once, not parked again.
  expect((await entriesOf(first.saleId)).map((e) => e.status)).toEqual(['replayed', 'replayed']);
});

it('an edit that is still wrong goes back to its dead-letter entry with the new reason, and nothing comes out', async () => {
  const bad = wrongSum(4, 1);
  await rt.publish(topic, JSON.stringify(bad));
  const [entry] = await deadLettered(bad.saleId);
  const stillWrong = wrongSum(4, 3);
  await edit(entry.id, stillWrong);
  expect(await replay([entry.id])).toBe(1);
  await waitUntil(
    async () => {
      const e = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
      return e.status === 'pending' && e.attempts === entry.attempts + 1;
    },
    30_000,
    'the entry back to pending',
  );
  const back = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
  const right = saleDoc(STORE, 'T1', 4).totals.grandTotal.amount;
  expect(back.error.message).toContain(`totals.grandTotal ${((right + 3) / 100).toFixed(2)} GBP ≠ `);
  expect(back.history).toHaveLength(2);
  await marker();
  expect(await count(bad.saleId)).toBe(0);
  expect(await entriesOf(bad.saleId)).toHaveLength(1);
});

it('an edit that turns a rejected sale into another document under a recorded saleId is a conflict, not a second sale', async () => {
  const recorded = saleDoc(STORE, 'T1', 5);
  await rt.publish(topic, JSON.stringify(recorded));
  await waitUntil(async () => (await count(recorded.saleId)) === 1, 30_000, 'the recorded sale');
  const bad = wrongSum(6);
  await rt.publish(topic, JSON.stringify(bad));
  const [entry] = await deadLettered(bad.saleId);

  // The operator "fixes" it into a valid sale, but under the saleId of the recorded one.
  const collides = saleDoc(STORE, 'T1', 6, recorded.saleId);
  await edit(entry.id, collides);
  expect(await replay([entry.id])).toBe(1);
  await waitUntil(
    async () => {
      const e = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
      return e.status === 'pending' && e.attempts === entry.attempts + 1;
    },
    30_000,
    'the entry back to pending',
  );
  const back = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
  expect(back.error.message).toContain(`sale:${STORE}:T1:${recorded.saleId} is already recorded with a different document`);
  await marker();
  expect(await count(recorded.saleId)).toBe(1);
});

it('a replayed message without its MQTT topic is refused with the rule, not passed on', async () => {
  const bad = wrongSum(7);
  await rt.publish(topic, JSON.stringify(bad));
  const [entry] = await deadLettered(bad.saleId);
  // An edit of the whole message that drops the topic (as a hand-written replay might).
  const full = (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body;
  const res = await rt.admin('PUT', `/tillwire/dead-letters/${entry.id}`, {
    message: { ...full.message, topic: 'sale.completed', payload: saleDoc(STORE, 'T1', 7) },
    version: full.version,
  });
  expect(res.status).toBe(200);
  expect(await replay([entry.id])).toBe(1);
  await waitUntil(async () => (await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body.status === 'pending', 30_000, 'the entry back to pending');
  expect((await rt.admin('GET', `/tillwire/dead-letters/${entry.id}`)).body.error.message).toMatch(
    /topic 'sale\.completed' does not follow tillwire\/<brand>\/stores/,
  );
  await marker();
  expect(await count(bad.saleId)).toBe(0);
});
