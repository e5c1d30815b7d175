/**
 * Store ids are unique across brands, enforced on the real runtime (real Mosquitto, real Node-RED
 * with the product's settings). A till sale is keyed by store, till and saleId without the brand,
 * so the first brand whose till sends a valid message for a store id owns it (durably, in the
 * store); a message for that store id on another brand's topic is dead-lettered with a reason naming
 * both brands and the rule, while the owner's sales keep flowing. An operator re-assigns a store
 * through the admin API, and the refused message can then be replayed.
 */
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil, ready } from './runtime-support';

jest.setTimeout(150_000);

const OWNER = 'acme';
const OTHER = 'globex';
const STORE = 'SHR';
const rt = tillRuntimeForFile(OWNER, { replay: true });
const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;
const refusalsOf = async (saleId: string) => (await rt.deadLetters()).filter((d) => JSON.stringify(d.message?.payload ?? '').includes(saleId));
async function out(brand: string, doc: Record<string, any>) {
  await rt.publish(salesTopic(brand, doc.storeId, doc.terminalId), JSON.stringify(doc));
  await waitUntil(async () => (await count(doc.saleId)) === 1, 30_000, `${doc.saleId} on ${brand}'s topic`);
}
async function refused(brand: string, doc: Record<string, any>) {
  await rt.publish(salesTopic(brand, doc.storeId, doc.terminalId), JSON.stringify(doc));
  await waitUntil(async () => (await refusalsOf(doc.saleId)).length === 1, 30_000, `the refusal of ${doc.saleId} on ${brand}'s topic`);
  return (await refusalsOf(doc.saleId))[0];
}

it("another brand's message for an owned store id is dead-lettered naming both brands and the rule; the owner's sales keep flowing, after a restart too", async () => {
  await out(OWNER, saleDoc(STORE, 'T1', 1, 'SHR-A-1'));
  expect((await rt.admin('GET', `/tillwire/store-owners/${STORE}`)).body).toMatchObject({ storeId: STORE, brand: OWNER, how: 'claimed' });

  // The other brand's till: a saleId equal to the owner's recorded one (the collision the rule
  // prevents) and a fresh one. Both are refused for the store id, not as a conflict.
  const collision = await refused(OTHER, saleDoc(STORE, 'T1', 2, 'SHR-A-1'));
  const fresh = await refused(OTHER, saleDoc(STORE, 'T1', 3, 'SHR-G-1'));
  for (const entry of [collision, fresh]) {
    expect(entry.error.message).toContain(`store id '${STORE}' belongs to brand '${OWNER}'`);
    expect(entry.error.message).toContain(`on brand '${OTHER}'s topic is refused`);
    expect(entry.error.message).toContain('store ids must be unique across brands');
    expect(entry.topic).toBe(salesTopic(OTHER, STORE, 'T1'));
  }
  expect(collision.error.message).not.toMatch(/already recorded with a different document/);
  expect(await count('SHR-A-1')).toBe(1);

  // The owner's next sale, after the refused ones, still flows; the other brand's own store too.
  await out(OWNER, saleDoc(STORE, 'T1', 3, 'SHR-A-3'));
  await out(OTHER, saleDoc('GLX', 'T1', 1, 'GLX-G-1'));

  // Ownership is in the store, not in memory.
  await rt.restart();
  await ready(rt, OWNER);
  const afterRestart = await refused(OTHER, saleDoc(STORE, 'T2', 1, 'SHR-G-2'));
  expect(afterRestart.error.message).toContain(`belongs to brand '${OWNER}'`);
  await out(OWNER, saleDoc(STORE, 'T1', 4, 'SHR-A-4'));
});

it('an operator re-assigns the store id to the other brand: its refused sale replays and flows, and the first brand is then the one refused', async () => {
  const bad = await rt.admin('PUT', `/tillwire/store-owners/${STORE}`, {});
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatch(/send \{ "brand"/);
  expect((await rt.admin('PUT', `/tillwire/store-owners/${STORE}`, { brand: 'a/b' })).status).toBe(400);
  // a store id no till can have is refused, naming the rule, and nothing is recorded for it
  const foreign = await rt.admin('PUT', `/tillwire/store-owners/${encodeURIComponent('LDN:001')}`, { brand: OTHER });
  expect(foreign).toMatchObject({ status: 400, body: { error: "store id 'LDN:001' may only hold letters, digits, '-', '_' and '.'" } });
  expect((await rt.admin('GET', `/tillwire/store-owners/${encodeURIComponent('LDN:001')}`)).status).toBe(400);

  const moved = await rt.admin('PUT', `/tillwire/store-owners/${STORE}`, { brand: OTHER });
  expect(moved.status).toBe(200);
  expect(moved.body).toEqual({ storeId: STORE, brand: OTHER, previous: OWNER });
  expect((await rt.admin('GET', `/tillwire/store-owners/${STORE}`)).body).toMatchObject({ brand: OTHER, how: 'assigned' });

  const [entry] = await refusalsOf('SHR-G-1');
  expect((await rt.admin('POST', '/tillwire/replay/tills-replay', { ids: [entry.id] })).body.replayed).toBe(1);
  await waitUntil(async () => (await count('SHR-G-1')) === 1, 30_000, 'the replayed sale of the new owner');

  const refusedNow = await refused(OWNER, saleDoc(STORE, 'T1', 5, 'SHR-A-5'));
  expect(refusedNow.error.message).toContain(`store id '${STORE}' belongs to brand '${OTHER}'`);
  expect(await count('SHR-A-5')).toBe(0);
});
