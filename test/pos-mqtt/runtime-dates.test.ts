/**
 * The till input's date window, on the real runtime (real Mosquitto, real Node-RED with the
 * product's settings): with Dates ticked, a sale dated decades ago or days ahead is dead-lettered
 * with its dates in words, and a sale of today beside it flows.
 */
import { startTillRuntime, TillRuntime, saleDoc, salesTopic, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'acme';
let rt: TillRuntime;

/** The fixture sale moved to `day` (YYYY-MM-DD), keeping its time of day. */
function datedSale(store: string, seq: number, day: string): Record<string, any> {
  const doc = saleDoc(store, 'T1', seq);
  doc.businessDate = day;
  doc.occurredAt = `${day}T${String(doc.occurredAt).slice(11)}`;
  return doc;
}
const today = () => new Date().toISOString().slice(0, 10);
const daysFromNow = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const count = async (saleId: string) => (await rt.received()).filter((r) => r.saleId === saleId).length;
const lettersOf = async (store: string) => (await rt.deadLetters()).filter((d) => d.topic?.includes(`/stores/${store}/`));

beforeAll(async () => {
  rt = await startTillRuntime({ pos: { checkDates: true, pastDays: 30, futureDays: 1 } });
  // The subscription is in place once a sale of today is received.
  const marker = datedSale('READY', 1, today());
  await waitUntil(
    async () => {
      await rt.publish(salesTopic(BRAND, 'READY', 'T1'), JSON.stringify(marker));
      return (await count(marker.saleId)) > 0;
    },
    30_000,
    'the subscription of tillwire-pos-mqtt-in',
  );
});
afterAll(async () => {
  await rt?.stop();
});

it('a sale dated decades ago and one days ahead are dead-lettered with the dates in words; the sale of today beside them flows once', async () => {
  const old = datedSale('DATES', 1, '1994-03-14');
  const ahead = datedSale('DATES', 2, daysFromNow(5));
  const good = datedSale('DATES', 3, today());
  for (const doc of [old, ahead, good]) await rt.publish(salesTopic(BRAND, 'DATES', 'T1'), JSON.stringify(doc));

  await waitUntil(async () => (await count(good.saleId)) === 1, 30_000, 'the sale of today');
  await waitUntil(async () => (await lettersOf('DATES')).length === 2, 30_000, 'two dead letters for the misdated sales');
  const reasons = (await lettersOf('DATES')).map((d) => d.error.message).sort();
  expect(reasons[0]).toMatch(/1994-03-14.* is more than 30 days before now/);
  expect(reasons[1]).toMatch(new RegExp(`${daysFromNow(5)}.* is more than 1 day after now`));
  expect(await count(old.saleId)).toBe(0);
  expect(await count(ahead.saleId)).toBe(0);
});
