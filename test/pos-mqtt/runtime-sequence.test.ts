/**
 * A till that jumps its sequence far ahead (a reset, a typo, a hostile till) on the real runtime:
 * the sale is recorded, and after a restart the till's next sale still arrives. The gap tracker is
 * seeded from the register on the first sale of a till after a start; a jump beyond what counts as
 * missing sales must not make it enumerate every number in between.
 */
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
const rt = tillRuntimeForFile(BRAND);

const arrived = async (saleId: string) => (await rt.received()).some((r) => r.saleId === saleId);

it("a sequence number far ahead is recorded, and after a restart the till's next sale still arrives", async () => {
  const topic = salesTopic(BRAND, 'SEQ', 'T1');
  const first = saleDoc('SEQ', 'T1', 1);
  const far = saleDoc('SEQ', 'T1', 1e15);
  for (const doc of [first, far]) {
    await rt.publish(topic, JSON.stringify(doc));
    await waitUntil(() => arrived(doc.saleId), 30_000, `sale ${doc.saleId}`);
  }
  await rt.restart();
  const next = saleDoc('SEQ', 'T1', 2);
  await rt.publish(topic, JSON.stringify(next));
  await waitUntil(() => arrived(next.saleId), 30_000, `sale ${next.saleId} after the restart`);
  expect(rt.registered()).toEqual(expect.arrayContaining([first, far, next].map((d) => `sale:SEQ:T1:${d.saleId}`)));
  expect(await rt.deadLetters()).toEqual([]);
});
