/**
 * Till sales written to Business Central in batches, end to end on real parts: the shipped
 * "Store sales (MQTT) → Business Central" template in a Node-RED process with the product's
 * settings, Mosquitto, and the BC simulator losing the answer of one create `$batch`. A burst of
 * sales from several stores and tills, a duplicate, a sale of a SKU BC does not know and a till
 * return of an earlier sale: each good sale is one BC sales order, the return one credit memo
 * linked to its sale, the bad sale alone in the dead-letter store, every inbox entry finished.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import Database from 'better-sqlite3';
import { buildSale, LineSpec } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { externalDocumentNumber } from '../../nodes/business-central/map';
import { tillTopic } from '../../nodes/pos-mqtt/topic';
import type { Sale } from '../../nodes/model/types.generated';
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto';
import { startNodeRed, deployCredentialsAndWait, type RunningNodeRed } from '../support/node-red-process';
import { bcTemplateFlows, getJson, waitFor } from './harness';

jest.setTimeout(3 * 60_000);

const BRAND = 'bcb';
const DATE = new Date().toISOString().slice(0, 10);
const BAD_SKU = 'NO-SUCH-SKU-4412';
const POS_NODE = 'ex-sb-pos';

const sequences = new Map<string, number>();
function sale(storeId: string, terminalId: string, lines: LineSpec[], returnOf?: Sale['returnOf']): Sale {
  const till = `${storeId}/${terminalId}`;
  const sequence = (sequences.get(till) ?? 0) + 1;
  sequences.set(till, sequence);
  return buildSale({
    saleId: `${storeId}-${terminalId}-${String(sequence).padStart(5, '0')}`,
    storeId,
    terminalId,
    sequence,
    occurredAt: new Date().toISOString(),
    businessDate: DATE,
    currency: 'GBP',
    lines,
    tenders: (total) => [{ type: total >= 0 ? 'card' : 'cash', amount: { amount: total, currency: 'GBP' } }],
    ...(returnOf ? { returnOf } : {}),
  });
}
const keyOf = (s: Sale) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;
const topicOf = (s: Sale) => tillTopic(BRAND, s.storeId, s.terminalId, s.lines.every((l) => l.quantity < 0) ? 'returns' : 'sales');

const templateFlows = () => bcTemplateFlows('bcb-tab');

/** The pos node's inbox in the store file: entries in all, and those not finished. */
function inbox(dbFile: string): { total: number; pending: number } {
  if (!fs.existsSync(dbFile)) return { total: 0, pending: 0 };
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(`SELECT COUNT(*) AS total, SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending FROM tw_inbox WHERE source = ?`)
      .get(`pos-mqtt:${POS_NODE}`) as { total: number; pending: number | null };
    return { total: row.total, pending: row.pending ?? 0 };
  } catch (err) {
    if (/no such table/.test(String(err))) return { total: 0, pending: 0 };
    throw err;
  } finally {
    db.close();
  }
}

/** The BC number the sales register holds for each key. */
function registerRefs(dbFile: string): Map<string, string | undefined> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT reg_key, external_refs FROM tw_register').all() as Array<{ reg_key: string; external_refs: string }>;
    return new Map(rows.map((r) => [r.reg_key, JSON.parse(r.external_refs)['business-central']]));
  } finally {
    db.close();
  }
}

describe('till sales into Business Central in batches (real runtime, shipped template)', () => {
  let bc: BusinessCentralSimulator | undefined;
  let broker: RunningMosquitto | undefined;
  let red: RunningNodeRed | undefined;
  const tills: MqttClient[] = [];
  afterEach(async () => {
    for (const t of tills.splice(0)) await t.endAsync();
    await red?.stop();
    await broker?.stop();
    await bc?.close();
  });

  it('a burst with a lost batch answer, a duplicate, an unknown SKU and a return: each good sale one order, the return one credit memo, the bad sale alone in the dead letters', async () => {
    bc = await new BusinessCentralSimulator({ port: 0 }).start();
    broker = await startMosquitto();
    red = await startNodeRed({
      flows: templateFlows(),
      env: { TILLWIRE_MQTT_URL: broker.url, TILLWIRE_BC_URL: bc.baseUrl, TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' },
    });
    await deployCredentialsAndWait(red, { 'ex-sb-bc-cfg': { token: bc.token } });
    const dbFile = path.join(red.userDir, 'tillwire.db');
    // BC carries out the first create batch and its answer never arrives.
    bc.setBatchFaults({ loseAnswers: 1 });

    // 300 sales over 3 stores × 2 tills, one client per store; one sale sells a SKU BC does not have.
    const stores = ['LDN-1', 'MAN-2', 'BRS-3'];
    const good: Sale[] = [];
    for (let i = 0; i < 50; i++)
      for (const storeId of stores)
        for (const terminalId of ['T1', 'T2'])
          good.push(
            sale(storeId, terminalId, [
              { item: catalogItem((i * 7 + good.length) % 500), quantity: 1 + (i % 3) },
              { item: catalogItem((i * 13 + 5) % 500), quantity: 1 },
            ]),
          );
    const bad = sale('MAN-2', 'T2', [
      { item: catalogItem(3), quantity: 1 },
      { item: { sku: BAD_SKU, name: 'unlisted tote', unitPrice: 1500, taxRate: '0.2000' }, quantity: 2 },
    ]);
    for (const storeId of stores) tills.push(await mqtt.connectAsync(broker.url, { clientId: `bcb-${storeId}-${process.pid}`, protocolVersion: 5 }));
    const client = (s: Sale) => tills[stores.indexOf(s.storeId)];
    const publish = (s: Sale) => client(s).publishAsync(topicOf(s), JSON.stringify(s), { qos: 1 });
    const burst = [...good.slice(0, 150), bad, good[40], ...good.slice(150)]; // good[40] twice: a till's re-send
    await Promise.all(burst.map(publish));

    // Later a customer brings back one unit of an earlier sale: a net return on …/returns.
    const original = good[10];
    await waitFor(
      () => bc!.rows('salesOrders').some((o) => o.externalDocumentNumber === externalDocumentNumber(keyOf(original))),
      60_000,
      () => 'the original sale in BC',
    );
    const sold = original.lines[0];
    const item = { sku: sold.sku, name: sold.description ?? sold.sku, unitPrice: sold.unitPrice.amount, taxRate: sold.taxes![0].rate };
    const back = sale(original.storeId, original.terminalId, [{ item, quantity: -1 }], { saleId: original.saleId, terminalId: original.terminalId });
    await publish(back);

    // Every inbox entry of the till node finished (the good sales, the bad one, the return).
    const entries = good.length + 2;
    await waitFor(
      () => {
        const i = inbox(dbFile);
        return i.total >= entries && i.pending === 0;
      },
      60_000,
      () => `inbox: ${JSON.stringify(inbox(dbFile))} of ${entries}`,
    );

    // Each good sale exactly once as a sales order; nothing else is an order.
    const orders = bc.rows('salesOrders');
    const edns = orders.map((o) => String(o.externalDocumentNumber));
    expect(edns.length).toBe(new Set(edns).size);
    expect(new Set(edns)).toEqual(new Set(good.map((s) => externalDocumentNumber(keyOf(s)))));
    // BC's totals are the tills' totals.
    const totals = new Map(orders.map((o) => [String(o.externalDocumentNumber), Math.round(Number(o.totalAmountIncludingTax) * 100)]));
    expect(good.filter((s) => totals.get(externalDocumentNumber(keyOf(s))) !== s.totals.grandTotal.amount).map(keyOf)).toEqual([]);

    // The return: one credit memo for its amount, naming the original's BC order.
    const memos = bc.rows('salesCreditMemos');
    expect(memos.map((m) => m.externalDocumentNumber)).toEqual([externalDocumentNumber(keyOf(back))]);
    expect(Math.round(Number(memos[0].totalAmountIncludingTax) * 100)).toBe(-back.totals.grandTotal.amount);
    const originalOrder = orders.find((o) => o.externalDocumentNumber === externalDocumentNumber(keyOf(original)))!;
    const comments = bc.rows('salesCreditMemoLines').filter((l) => l.documentId === memos[0].id && l.lineType === 'Comment');
    expect(comments.map((l) => l.description).join(' ')).toContain(String(originalOrder.number));

    // The unknown SKU: one dead letter naming it, nothing in BC for that sale.
    const dl = await getJson(`${red.url}/tillwire/dead-letters?limit=100`);
    expect(dl.total).toBe(1);
    expect(dl.entries[0].error.message).toContain(BAD_SKU);
    expect(JSON.stringify(dl.entries[0].message)).toContain(bad.saleId);
    expect(orders.concat(memos).filter((d) => d.externalDocumentNumber === externalDocumentNumber(keyOf(bad)))).toEqual([]);

    // The sales register holds BC's number of every sale and of the return.
    const refs = registerRefs(dbFile);
    const numbers = new Map(orders.map((o) => [String(o.externalDocumentNumber), String(o.number)]));
    expect(good.filter((s) => refs.get(keyOf(s)) !== numbers.get(externalDocumentNumber(keyOf(s)))).map(keyOf)).toEqual([]);
    expect(refs.get(keyOf(back))).toBe(String(memos[0].number));
    expect(refs.get(keyOf(bad))).toBeUndefined();

    // The sales went in batches: BC saw far fewer calls (each a $batch of lookups or creates, or an
    // item read) than there were sales; one at a time costs each new sale three. One create batch's
    // answer really was lost (and its sales still count once, above).
    const stats = bc.state().requests;
    expect(stats.total).toBeLessThan(good.length / 5);
    expect(stats.batch.batches).toBeGreaterThan(1);
    expect(stats.faults.lostResponses).toBe(1);
  });
});
