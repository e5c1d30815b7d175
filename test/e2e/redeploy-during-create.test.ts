/**
 * A full redeploy while Odoo is still carrying out a create, end to end (real Mosquitto, a real
 * Node-RED process, the Odoo simulator): Odoo finishes that create whether or not anyone waits for
 * its answer. The redeployed Odoo node must not look its keys up before that create has landed (it
 * would find nothing, create the orders again and leave the old create's quotations beside them),
 * so each sale, and each summary, ends as exactly one confirmed order.
 */
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { buildSale } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import { tillTopic } from '../../nodes/pos-mqtt/topic';
import type { Sale } from '../../nodes/model/types.generated';
import { bcTemplateFlows, e2eFlows, getJson, startRed, startServices, waitFor, E2E } from './harness';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { externalDocumentNumber } from '../../nodes/business-central/map';
import { SYSTEM as SYSTEM_BC } from '../../nodes/business-central/client';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { startMosquitto } from '../support/mosquitto';
import { startNodeRed, deployCredentialsAndWait } from '../support/node-red-process';

jest.setTimeout(3 * 60_000);

const BRAND = 'redeploy';
const DATE = new Date().toISOString().slice(0, 10);
/** Longer than the Odoo config node's 5 s grace on close: without it, the old create is aborted on our side only. */
const SLOW_CREATE_MS = 8000;

let seq = 0;
function sale(storeId: string, terminalId: string): Sale {
  seq++;
  return buildSale({
    saleId: `R${seq}`,
    storeId,
    terminalId,
    sequence: seq,
    occurredAt: new Date().toISOString(),
    businessDate: DATE,
    currency: 'GBP',
    lines: [{ item: catalogItem(seq % 5), quantity: 1 + (seq % 3) }],
    tenders: (total) => [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
  });
}

const flowsApi = { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' };

/** A deploy of the running flows (`edit`ed) through the Admin API, as the editor's Deploy button sends it. */
async function redeploy(red: { url: string }, type: 'full' | 'nodes', edit: (flows: any[]) => void = () => undefined): Promise<void> {
  const url = `${red.url}/flows`;
  const current = (await (await fetch(url, { headers: flowsApi })).json()) as { rev: string; flows: any[] };
  edit(current.flows);
  const res = await fetch(url, { method: 'POST', headers: { ...flowsApi, 'Node-RED-Deployment-Type': type }, body: JSON.stringify(current) });
  expect(res.status).toBe(200);
}
const fullRedeploy = (red: { url: string }) => redeploy(red, 'full');

/** Odoo orders by client_order_ref. */
function ordersByRef(e: E2E): Map<string, Array<{ id: number; state: string }>> {
  const by = new Map<string, Array<{ id: number; state: string }>>();
  for (const o of e.odoo.orders()) {
    const ref = String(o.client_order_ref);
    by.set(ref, [...(by.get(ref) ?? []), { id: o.id, state: o.state }]);
  }
  return by;
}

describe('a full redeploy while an ERP create is still under way', () => {
  let e: E2E;
  let till: MqttClient;
  afterEach(async () => {
    await till?.endAsync();
    await e?.red?.stop();
    await e?.odoo.stop();
    await e?.broker.stop();
  });

  /** Node-RED with `flows`, the sales published while every Odoo create is carried out `slowMs` late; resolves once one is on the wire. */
  async function publishWhileCreatesAreSlow(flows: unknown[], sales: Sale[], slowMs = SLOW_CREATE_MS) {
    e = await startServices();
    await startRed(e, flows as any[]);
    till = await mqtt.connectAsync(e.broker.url, { clientId: `redeploy-till-${process.pid}`, protocolVersion: 5 });
    e.odoo.setFaults({ slowRate: 1, slowDelayMs: slowMs, only: ['sale.order.create'] });
    for (const s of sales) await till.publishAsync(tillTopic(BRAND, s.storeId, s.terminalId, 'sales'), JSON.stringify(s), { qos: 1 });
    await waitFor(
      () => e.odoo.stats.faults.slow > 0,
      60_000,
      () => 'no create reached Odoo',
    );
  }

  async function run(flows: unknown[], sales: Sale[], refsFor: (byRef: Map<string, unknown[]>) => string[], slowMs = SLOW_CREATE_MS) {
    // The first create on the wire is the one redeployed over.
    await publishWhileCreatesAreSlow(flows, sales, slowMs);
    await fullRedeploy(e.red!);
    // The redeployed node's own creates are answered at once.
    e.odoo.setFaults({});
    let refs: string[] = [];
    await waitFor(
      () => {
        const byRef = ordersByRef(e);
        refs = refsFor(byRef);
        const slow = e.odoo.stats.faults;
        return slow.slowDone === slow.slow && refs.length > 0 && refs.every((r) => byRef.get(r)!.some((o) => o.state === 'sale'));
      },
      90_000,
      () => `orders: ${JSON.stringify([...ordersByRef(e)])}; slow creates ${JSON.stringify(e.odoo.stats.faults)}`,
    );
    const byRef = ordersByRef(e);
    // One order per key, confirmed: no quotation of the old create left beside it.
    for (const ref of refs) expect({ ref, orders: byRef.get(ref)!.map((o) => o.state) }).toEqual({ ref, orders: ['sale'] });
    expect((await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count).toBe(0);
    // The old nodes stopped without keeping the deploy waiting for the create (Node-RED gives up on a close after 15 s).
    expect(e.red!.output()).not.toMatch(/Close timed out|Error stopping node/);
    return refs;
  }

  it('one order per sale (the template, one order per sale): the old create lands, the new node finds it and confirms it', async () => {
    const sales = [sale('LDN-1', 'T1'), sale('LDN-1', 'T2'), sale('MAN-2', 'T1')];
    const keys = sales.map((s) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`);
    const refs = await run(e2eFlows(), sales, (byRef) => [...byRef.keys()].filter((r) => keys.some((k) => r.includes(k))));
    expect(refs.length).toBe(sales.length);
  });

  it('the Odoo connection edited and deployed as "Modified nodes" while sales wait behind a create: each sale written or a dead letter, none lost; the replay writes each once', async () => {
    // One request at a time and one sale per create: the other sales queue behind the slow one.
    const flows = e2eFlows({ odooConcurrency: 1 });
    flows.find((n) => n.id === 'ex-so-odoo').batchSize = 1;
    const sales = Array.from({ length: 8 }, (_, i) => sale(`STORE-${i % 3}`, `T${i}`));
    await publishWhileCreatesAreSlow(flows, sales);
    // What the docs advise: a longer timeout. Only the config node and the nodes using it restart.
    await redeploy(e.red!, 'nodes', (f) => (f.find((n) => n.type === 'tillwire-odoo-config').timeout = 45));
    e.odoo.setFaults({});
    const keys = sales.map((s) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`);
    const refsOf = (byRef: Map<string, unknown>) => [...byRef.keys()].filter((r) => keys.some((k) => r.includes(k)));
    const confirmed = () => {
      const byRef = ordersByRef(e);
      return refsOf(byRef).filter((r) => byRef.get(r)!.some((o) => o.state === 'sale')).length;
    };
    const deadLetters = async () => (await getJson(`${e.red!.url}/tillwire/dead-letters/count?status=pending`)).count as number;
    // The sales the stopped connection could not write reach Catch once the deploy has finished (a
    // Catch restarting with it would have missed them): each is written, or a dead letter.
    await waitFor(
      async () => confirmed() + (await deadLetters()) >= keys.length,
      120_000,
      async () => `orders: ${JSON.stringify([...ordersByRef(e)])}; dead letters ${await deadLetters()}`,
    );
    if ((await deadLetters()) > 0) {
      const res = await fetch(`${e.red!.url}/tillwire/replay/ex-so-replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
    }
    await waitFor(
      async () => confirmed() === keys.length && (await deadLetters()) === 0,
      60_000,
      async () => `orders: ${JSON.stringify([...ordersByRef(e)])}; dead letters ${await deadLetters()}`,
    );
    const byRef = ordersByRef(e);
    for (const ref of refsOf(byRef)) expect({ ref, orders: byRef.get(ref)!.map((o) => o.state) }).toEqual({ ref, orders: ['sale'] });
    const store = createStore({ backend: 'sqlite', file: path.join(e.red!.userDir, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
    await store.open();
    try {
      // Every till message finished: nothing left pending in the inbox.
      const source = `pos-mqtt:${flows.find((n) => n.type === 'tillwire-pos-mqtt-in').id}`;
      await waitFor(
        async () => (await store.inboxPending(source)).length === 0,
        30_000,
        async () => `pending: ${JSON.stringify((await store.inboxPending(source)).map((p) => [p.eventId, p.attempts]))}`,
      );
    } finally {
      await store.close();
    }
  });

  it('one order per summary (summarised posting): the old summary create lands, the new node finds it and confirms it', async () => {
    const flows = e2eFlows();
    const odoo = flows.find((n) => n.id === 'ex-so-odoo');
    odoo.posting = 'summary';
    odoo.summarySeconds = 2;
    const sales = [sale('LDN-1', 'T1'), sale('LDN-1', 'T2'), sale('MAN-2', 'T1')];
    // Slower than Node-RED's 15 s close timeout: the summary posting's stop must not wait for it.
    const refs = await run(flows, sales, (byRef) => [...byRef.keys()].filter((r) => r.startsWith('summary:')), 20_000);
    // Two stores' sales of one interval: one summary each (or more, if the interval turned between publishes).
    expect(refs.length).toBeGreaterThanOrEqual(2);
  });

  it('Business Central (the BC template): the old $batch of creates lands, the new node finds its orders; one order per sale', async () => {
    const bc = await new BusinessCentralSimulator({ port: 0 }).start();
    const broker = await startMosquitto();
    const flows: any[] = bcTemplateFlows();
    Object.assign(
      flows.find((n) => n.type === 'tillwire-bc-config'),
      { baseUrl: bc.baseUrl, ratePerSecond: 0, retryBaseMs: 1, cooloffMs: 20 },
    );
    let store: Store | undefined;
    const red = await startNodeRed({ flows, env: { TILLWIRE_MQTT_URL: broker.url, TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' } });
    try {
      await deployCredentialsAndWait(red, { 'ex-sb-bc-cfg': { token: bc.token } });
      till = await mqtt.connectAsync(broker.url, { clientId: `redeploy-till-bc-${process.pid}`, protocolVersion: 5 });
      // The first $batch of creates is carried out late (a slow server); everything else at once.
      let held: 'no' | 'holding' | 'done' = 'no';
      bc.beforeBatch = async (_n, requests) => {
        if (held !== 'no' || !requests.some((r) => r.startsWith('POST '))) return;
        held = 'holding';
        await new Promise((r) => setTimeout(r, SLOW_CREATE_MS));
        held = 'done';
      };
      const sales = [sale('BC-1', 'T1'), sale('BC-1', 'T2'), sale('BC-2', 'T1')];
      for (const s of sales) await till.publishAsync(tillTopic(BRAND, s.storeId, s.terminalId, 'sales'), JSON.stringify(s), { qos: 1 });
      await waitFor(
        () => held === 'holding',
        60_000,
        () => 'no $batch of creates reached Business Central',
      );
      await fullRedeploy(red);
      const numbers = sales.map((s) => externalDocumentNumber(`sale:${s.storeId}:${s.terminalId}:${s.saleId}`));
      const ordersOf = (n: string) => bc.rows('salesOrders').filter((o) => o.externalDocumentNumber === n);
      await waitFor(
        () => held === 'done' && numbers.every((n) => ordersOf(n).length > 0),
        90_000,
        () => `held: ${held}; orders: ${JSON.stringify(numbers.map((n) => [n, ordersOf(n).length]))}`,
      );
      // Each sale written by the redeployed node: its register entry names the BC order.
      store = createStore({ backend: 'sqlite', file: path.join(red.userDir, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
      await store.open();
      const refs = async () =>
        Promise.all(sales.map(async (s) => (await store!.registerGet(`sale:${s.storeId}:${s.terminalId}:${s.saleId}`))?.externalRefs?.[SYSTEM_BC]));
      await waitFor(
        async () => (await refs()).every(Boolean),
        60_000,
        async () => `register refs: ${JSON.stringify(await refs())}`,
      );
      for (const n of numbers) expect({ n, orders: ordersOf(n).length }).toEqual({ n, orders: 1 });
      expect(await refs()).toEqual(numbers.map((n) => ordersOf(n)[0].number));
      expect((await getJson(`${red.url}/tillwire/dead-letters/count`)).count).toBe(0);
    } finally {
      await store?.close();
      await till?.endAsync();
      await red.stop();
      await bc.close();
      await broker.stop();
    }
  });
});
