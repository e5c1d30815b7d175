/**
 * A till whose sale cannot be recorded (the sales register refuses the write) while hostile and
 * valid messages keep arriving on that till and on others, on the real runtime (real Mosquitto, real
 * Node-RED with the product's settings). The fault is a trigger the test adds to the store file, so
 * the inbox keeps taking messages in while the register write of one till fails, as when a disk or
 * a lock fails one write and not the next.
 *
 * Checked as an operator would: the failed sale holds its till (nothing of that till overtakes it,
 * hostile messages included), other tills go on, and once the fault clears every message of the
 * till ends where it belongs: the valid ones passed on once in the till's order, each hostile one in
 * the dead-letter list with its reason, nothing left pending. A sale given up after its attempts
 * releases the till, and its replay counts it once.
 */
import Database from 'better-sqlite3';
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(180_000);

const BRAND = 'hold';
// The node's default of 5 attempts: a held sale is given up about 15 s after its first failure, so
// the first test clears its fault well before that, however loaded the machine.
const rt = tillRuntimeForFile(BRAND, { replay: true });

/** Register writes whose key is LIKE a fault pattern fail, as a refused write does. */
function withFaultTable<T>(act: (db: Database.Database) => T): T {
  const db = new Database(rt.dbFile, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS tw_test_fault (pattern TEXT NOT NULL);
      CREATE TRIGGER IF NOT EXISTS tw_test_fault_register BEFORE INSERT ON tw_register
      WHEN EXISTS (SELECT 1 FROM tw_test_fault f WHERE NEW.reg_key LIKE f.pattern)
      BEGIN SELECT RAISE(ABORT, 'injected fault: the register refused this write'); END;`);
    return act(db);
  } finally {
    db.close();
  }
}
const fault = (pattern: string) => withFaultTable((db) => db.prepare('INSERT INTO tw_test_fault (pattern) VALUES (?)').run(pattern));
const clearFaults = () => withFaultTable((db) => db.exec('DELETE FROM tw_test_fault'));

const outOf = async (store: string, till: string) => (await rt.received()).filter((r) => r.key.startsWith(`sale:${store}:${till}:`)).map((r) => r.sequence);
const lettersAbout = async (text: string) => (await rt.deadLetters()).filter((d) => JSON.stringify(d.message?.payload ?? '').includes(text));

afterEach(() => clearFaults());

it('hostile messages queued behind a held sale wait for it, then each is dead-lettered with its reason; other tills flow; nothing stays pending', async () => {
  const store = 'H1';
  const t1 = salesTopic(BRAND, store, 'T01');
  const t2 = salesTopic(BRAND, store, 'T02');
  const sale = (till: string, seq: number) => saleDoc(store, till, seq);

  const first = sale('T01', 1);
  await rt.publish(t1, JSON.stringify(first));
  await waitUntil(async () => (await outOf(store, 'T01')).length === 1, 30_000, 'the first sale of T01');

  fault(`sale:${store}:T01:%`);
  await rt.publish(t1, JSON.stringify(sale('T01', 2))); // fails: holds T01
  // Behind it on the same till, every class of bad input, and a good sale.
  const malformed = '{"kind":"sale","saleId":"H1-T01-MALFORMED",';
  const foreign = { ...sale('T01', 3), storeId: 'H9', saleId: 'H1-T01-FOREIGN' };
  const relabelled = { ...first, cashierId: 'C999' }; // the first sale's key, another document
  const wrongSum = sale('T01', 4);
  wrongSum.saleId = 'H1-T01-WRONGSUM';
  wrongSum.totals.grandTotal.amount += 1;
  const deep = `{"saleId":"H1-T01-DEEP","x":${'['.repeat(200)}${']'.repeat(200)}}`;
  await rt.publish(t1, malformed);
  await rt.publish(t1, deep);
  await rt.publish(t1, JSON.stringify(foreign));
  await rt.publish(t1, JSON.stringify(relabelled));
  await rt.publish(t1, JSON.stringify(first)); // the first sale's exact bytes again: a retransmission
  await rt.publish(t1, JSON.stringify(wrongSum));
  await rt.publish(t1, JSON.stringify(sale('T01', 5)));
  for (let seq = 1; seq <= 3; seq++) await rt.publish(t2, JSON.stringify(sale('T02', seq)));

  // Another till of the same store goes on while T01 is held.
  await waitUntil(async () => (await outOf(store, 'T02')).length === 3, 30_000, 'T02 while T01 is held');
  // T01 holds: nothing after its failed sale came out, and none of its hostile messages was looked at yet.
  expect(await outOf(store, 'T01')).toEqual([1]);
  expect(await lettersAbout('H1-T01-')).toEqual([]);

  clearFaults();
  await waitUntil(
    async () => (await outOf(store, 'T01')).length === 3,
    60_000,
    async () => `T01 after the fault: ${await outOf(store, 'T01')}`,
  );
  await waitUntil(
    async () => rt.pendingInbox() === 0,
    30_000,
    () => `${rt.pendingInbox()} inbox entries pending`,
  );

  expect(await outOf(store, 'T01')).toEqual([1, 2, 5]);
  expect(await outOf(store, 'T02')).toEqual([1, 2, 3]);
  const reasons = async (text: string) => (await lettersAbout(text)).map((d) => d.error.message);
  expect(await reasons('H1-T01-MALFORMED')).toEqual([expect.stringMatching(/malformed JSON/)]);
  expect(await reasons('H1-T01-DEEP')).toEqual([expect.stringMatching(/nested deeper than/)]);
  expect(await reasons('H1-T01-FOREIGN')).toEqual([expect.stringMatching(/H9\/T01 does not match the topic's H1\/T01/)]);
  expect(await reasons('H1-T01-WRONGSUM')).toEqual([expect.stringMatching(/grandTotal/)]);
  // The re-labelled first sale: one entry naming the conflict; the retransmission: nothing.
  const aboutFirst = await lettersAbout(first.saleId);
  expect(aboutFirst.map((d) => d.error.message)).toEqual([expect.stringMatching(/already recorded with a different document/)]);
  expect(rt.registered().filter((k) => k.startsWith(`sale:${store}:T01:`))).toEqual([1, 2, 5].map((n) => `sale:${store}:T01:${sale('T01', n).saleId}`));
});

it('a sale that still fails after its attempts is given up to the dead-letter list and releases its till; its replay counts it once', async () => {
  const store = 'H2';
  const topic = salesTopic(BRAND, store, 'T01');
  const stuck = saleDoc(store, 'T01', 1);
  fault(`sale:${store}:T01:${stuck.saleId}`);
  await rt.publish(topic, JSON.stringify(stuck));
  await rt.publish(topic, JSON.stringify(saleDoc(store, 'T01', 2)));

  await waitUntil(async () => (await lettersAbout(stuck.saleId)).length === 1, 90_000, `${stuck.saleId} given up`);
  const [letter] = await lettersAbout(stuck.saleId);
  expect(letter.error.message).toMatch(/gave up after 5 attempts: .*injected fault/);
  // The till goes on once the stuck sale is given up.
  await waitUntil(async () => (await outOf(store, 'T01')).includes(2), 30_000, 'the sale behind the given-up one');
  expect(await outOf(store, 'T01')).toEqual([2]);

  clearFaults();
  const replayed = await rt.admin('POST', '/tillwire/replay/tills-replay', { ids: [letter.id] });
  expect(replayed.body.replayed).toBe(1);
  await waitUntil(async () => (await outOf(store, 'T01')).length === 2, 30_000, 'the replayed sale');
  // The till re-sending it too, and the replay repeated, count nothing more.
  await rt.publish(topic, JSON.stringify(stuck));
  await rt.admin('POST', '/tillwire/replay/tills-replay', { ids: [letter.id] });
  await rt.publish(topic, JSON.stringify(saleDoc(store, 'T01', 3)));
  await waitUntil(async () => (await outOf(store, 'T01')).includes(3), 30_000, 'the marker sale');
  expect(await outOf(store, 'T01')).toEqual([2, 1, 3]);
  await waitUntil(
    async () => rt.pendingInbox() === 0,
    30_000,
    () => `${rt.pendingInbox()} inbox entries pending`,
  );
  expect(rt.registered().filter((k) => k.startsWith(`sale:${store}:T01:`))).toHaveLength(3);
});
