/**
 * Identity of a till message on the real runtime (real Mosquitto, real Node-RED with the product's
 * settings): a store can never make another store's sale disappear, and a rejected message never
 * blocks the corrected one with the same saleId, while a valid sale is still counted once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
const rt = tillRuntimeForFile(BRAND);

/** Sends a marker sale on `store`/`till` and waits for it: everything published before it on that till was handled. */
async function settle(store: string, till: string, seq: number): Promise<void> {
  const marker = saleDoc(store, till, seq, `${store}-${till}-marker-${seq}`);
  await rt.publish(salesTopic(BRAND, store, till), JSON.stringify(marker));
  await waitUntil(async () => (await rt.received()).some((r) => r.saleId === marker.saleId), 30_000, `marker ${marker.saleId}`);
}

const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;

describe('store isolation', () => {
  it("a till of store B naming store A's next sale is dead-lettered, and A's genuine sale still arrives exactly once", async () => {
    const next = saleDoc('STA', 'T1', 1); // store A's next sale
    const forged = { ...next };
    await rt.publish(salesTopic(BRAND, 'STB', 'T1'), JSON.stringify(forged)); // on B's own topic
    await waitUntil(
      async () => (await rt.deadLetters()).some((d) => /STA\/T1 does not match the topic's STB\/T1/.test(d.error.message)),
      30_000,
      'the mismatch dead letter',
    );

    await rt.publish(salesTopic(BRAND, 'STA', 'T1'), JSON.stringify(next)); // A's genuine sale
    await waitUntil(
      async () => (await count(next.saleId)) === 1,
      30_000,
      async () => `A's sale to arrive (received: ${JSON.stringify(await rt.received())})`,
    );
    await settle('STA', 'T1', 2);
    expect(await count(next.saleId)).toBe(1);
    const got = (await rt.received()).find((r) => r.saleId === next.saleId)!;
    expect(got.key).toBe(`sale:STA:T1:${next.saleId}`);
    expect(rt.registered()).toContain(`sale:STA:T1:${next.saleId}`);
    // the forged message touched nothing of store A: one dead letter, naming B's topic
    const forgedLetters = (await rt.deadLetters()).filter((d) => d.topic?.includes('/stores/STB/'));
    expect(forgedLetters).toHaveLength(1);
  });
});

describe('a rejected message never blocks the corrected one', () => {
  it('bad sale X is dead-lettered; corrected X is registered and output once; the same corrected X re-sent is not counted twice', async () => {
    const good = saleDoc('STC', 'T1', 1);
    const bad = JSON.parse(JSON.stringify(good));
    bad.lines[0].quantity = 0; // fails validation
    await rt.publish(salesTopic(BRAND, 'STC', 'T1'), JSON.stringify(bad));
    await waitUntil(
      async () => (await rt.deadLetters()).some((d) => /failed validation/.test(d.error.message) && d.topic?.includes('/stores/STC/')),
      30_000,
      'the rejected sale',
    );

    await rt.publish(salesTopic(BRAND, 'STC', 'T1'), JSON.stringify(good));
    await waitUntil(async () => (await count(good.saleId)) === 1, 30_000, 'the corrected sale');
    // exactly the same message again (a till that did not see the PUBACK), then the same sale in other bytes
    await rt.publish(salesTopic(BRAND, 'STC', 'T1'), JSON.stringify(good));
    await rt.publish(salesTopic(BRAND, 'STC', 'T1'), JSON.stringify(good, null, 2));
    await settle('STC', 'T1', 2);
    expect(await count(good.saleId)).toBe(1);
    expect(rt.registered().filter((k) => k === `sale:STC:T1:${good.saleId}`)).toHaveLength(1);
  });

  it('a different document under a saleId already recorded is dead-lettered as a conflict, not counted', async () => {
    const first = saleDoc('STD', 'T1', 1);
    await rt.publish(salesTopic(BRAND, 'STD', 'T1'), JSON.stringify(first));
    await waitUntil(async () => (await count(first.saleId)) === 1, 30_000, 'the first sale');
    const changed = { ...first, cashierId: 'someone-else' };
    await rt.publish(salesTopic(BRAND, 'STD', 'T1'), JSON.stringify(changed));
    await waitUntil(
      async () => (await rt.deadLetters()).some((d) => d.error.message.includes(`sale:STD:T1:${first.saleId}`) && /already recorded/.test(d.error.message)),
      30_000,
      async () => `the conflict dead letter (have: ${(await rt.deadLetters()).map((d) => d.error.message).join(' | ')})`,
    );
    await settle('STD', 'T1', 2);
    expect(await count(first.saleId)).toBe(1);
  });
});

describe('till closes', () => {
  it('a rejected close never blocks the corrected one; the close is then passed on once; a different close for the same day is a conflict', async () => {
    const close = { ...JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical/till-close.json'), 'utf8')), storeId: 'STE', terminalId: 'T1' };
    const topic = salesTopic(BRAND, 'STE', 'T1', 'close');
    const key = `till.close:STE:T1:${close.businessDate}`;
    const closes = async () => (await rt.received()).filter((r) => r.key === key);
    await rt.publish(topic, JSON.stringify({ ...close, closedAt: 'yesterday' }));
    await waitUntil(
      async () => (await rt.deadLetters()).some((d) => d.topic === topic && /failed validation/.test(d.error.message)),
      30_000,
      'the rejected close',
    );
    await rt.publish(topic, JSON.stringify(close));
    await waitUntil(async () => (await closes()).length === 1, 30_000, 'the corrected close');
    await rt.publish(topic, JSON.stringify(close, null, 2)); // the same close in other bytes
    await rt.publish(topic, JSON.stringify({ ...close, closedAt: '2025-03-14T23:59:00Z' })); // a different one
    await waitUntil(
      async () => (await rt.deadLetters()).some((d) => d.error.message.startsWith(`${key} is already recorded with a different document`)),
      30_000,
      'the conflict',
    );
    expect(await closes()).toHaveLength(1);
  });
});
