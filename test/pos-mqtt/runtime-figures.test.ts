/**
 * Till sales whose schema holds but whose figures are wrong, on the real runtime (real Mosquitto,
 * real Node-RED with the product's settings): each is dead-lettered with the rule and the figures
 * in words, the valid sale beside them flows, and the corrected sale re-sent under the same saleId
 * and sequence is then processed exactly once.
 */
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
const rt = tillRuntimeForFile(BRAND);
const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;
const reasonsOf = async (store: string) => (await rt.deadLetters()).filter((d) => d.topic?.includes(`/stores/${store}/`)).map((d) => d.error.message);

it('wrong sums, signs and duplicate line ids are dead-lettered with the figures; the corrected re-sends are processed once', async () => {
  const topic = salesTopic(BRAND, 'FIG', 'T1');
  const grandOff = saleDoc('FIG', 'T1', 1);
  grandOff.totals.grandTotal.amount += 1; // one penny more than lines + tax
  const signWrong = saleDoc('FIG', 'T1', 2);
  signWrong.lines[1].lineTotal.amount = -signWrong.lines[1].lineTotal.amount; // a sold line paying money back
  const duplicateLine = saleDoc('FIG', 'T1', 3);
  duplicateLine.lines[2].lineId = duplicateLine.lines[0].lineId;
  const beside = saleDoc('FIG', 'T1', 4);
  for (const doc of [grandOff, signWrong, duplicateLine, beside]) await rt.publish(topic, JSON.stringify(doc));

  await waitUntil(async () => (await count(beside.saleId)) === 1, 30_000, 'the valid sale beside them');
  await waitUntil(async () => (await reasonsOf('FIG')).length === 3, 30_000, 'three dead letters');
  const reasons = (await reasonsOf('FIG')).join('\n');
  const pounds = (minor: number) => `${(minor / 100).toFixed(2)} GBP`;
  const right = saleDoc('FIG', 'T1', 1).totals.grandTotal.amount;
  expect(reasons).toContain(`totals.grandTotal ${pounds(right + 1)} ≠ `);
  expect(reasons).toContain(`= ${pounds(right)}`);
  expect(reasons).toMatch(/lines\[1\]\.lineTotal -17\.98 GBP is negative but its quantity 2 is positive/);
  expect(reasons).toMatch(/lines\[2\]\.lineId '1' is used by lines\[0\] too/);
  for (const doc of [grandOff, signWrong, duplicateLine]) expect(await count(doc.saleId)).toBe(0);

  // The till re-sends each transaction correctly built, same saleId and sequence (docs/store-devices.md).
  const corrected = [1, 2, 3].map((seq) => saleDoc('FIG', 'T1', seq));
  for (const doc of corrected) await rt.publish(topic, JSON.stringify(doc));
  for (const doc of corrected) await rt.publish(topic, JSON.stringify(doc)); // and once more
  await waitUntil(async () => (await Promise.all(corrected.map((d) => count(d.saleId)))).every((n) => n === 1), 30_000, 'the corrected sales');
  // settle: the repeats of the corrected sales are acknowledged and not counted again
  await waitUntil(() => rt.pendingInbox() === 0, 30_000, 'no pending inbox entry');
  for (const doc of corrected) expect(await count(doc.saleId)).toBe(1);
  expect(await reasonsOf('FIG')).toHaveLength(3);
});
