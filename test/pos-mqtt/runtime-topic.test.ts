/**
 * What the topic says about a till message on the real runtime: its store and till ids are parts of
 * the sale's key, so an id with a ':' (one store's key could equal another's) is refused; and
 * …/returns carries returns only, so a sale published there is refused rather than labelled a return.
 */
import { tillRuntimeForFile, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
const rt = tillRuntimeForFile(BRAND);

const arrived = async (saleId: string) => (await rt.received()).some((r) => r.saleId === saleId);
const deadLetterOn = async (topic: string, reason: RegExp) => (await rt.deadLetters()).some((d) => d.topic === topic && reason.test(d.error.message));

it("a till id with ':' is refused, so it cannot take the key of another store's sale", async () => {
  // store K, till "A:T", sale X would have the key sale:K:A:T:X, the key of store "K:A", till T, sale X
  const forged = saleDoc('K', 'A:T', 1, 'X');
  const forgedTopic = salesTopic(BRAND, 'K', 'A:T');
  await rt.publish(forgedTopic, JSON.stringify(forged));
  await waitUntil(() => deadLetterOn(forgedTopic, /till id 'A:T' in the topic may only hold letters, digits/), 30_000, 'the refusal of the till id');
  expect(rt.registered().filter((k) => k.startsWith('sale:K:'))).toEqual([]);
  const genuine = saleDoc('K.A', 'T', 1, 'X');
  await rt.publish(salesTopic(BRAND, 'K.A', 'T'), JSON.stringify(genuine));
  await waitUntil(() => arrived('X'), 30_000, 'the genuine sale beside it');
});

it('a sale published on …/returns is refused; the same sale on …/sales passes', async () => {
  const sale = saleDoc('RET', 'T1', 1);
  const returnsTopic = salesTopic(BRAND, 'RET', 'T1', 'returns');
  await rt.publish(returnsTopic, JSON.stringify(sale));
  await waitUntil(() => deadLetterOn(returnsTopic, /must return every line, and lines\[0\] has quantity 1/), 30_000, 'the refusal of a sale on …/returns');
  expect((await rt.received()).filter((r) => r.topic === 'return.completed')).toEqual([]);
  await rt.publish(salesTopic(BRAND, 'RET', 'T1'), JSON.stringify(sale));
  await waitUntil(() => arrived(sale.saleId), 30_000, 'the sale on …/sales');
  expect((await rt.received()).filter((r) => r.saleId === sale.saleId).map((r) => r.topic)).toEqual(['sale.completed']);
});
