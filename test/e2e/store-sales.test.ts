/**
 * Issue 3's peak-day proof, end to end on real parts: store tills publish through the real
 * Mosquitto, a real Node-RED process runs the "Store sales (MQTT) → Odoo" template, and the Odoo
 * simulator is the system of record. 200 stores × 4 tills, 50,000 sales (E2E_SALES to change).
 */
import { runSimulation, SimulationManifest } from '../../simulators/pos-mqtt/device-simulator';
import { createStore } from '../../nodes/runtime/create-store';
import { buildStoreJournal } from '../../nodes/ledger/store-journal';
import { validateDocument } from '../../nodes/model/validate';
import path from 'node:path';
import fs from 'node:fs';
import { e2eFlows, getJson, odooRefs, startRed, startServices, waitFor, E2E } from './harness';

const SALES = Number(process.env.E2E_SALES ?? 50_000);
jest.setTimeout(30 * 60_000);

// counted through the simulator's own search (cheap), not by summarising every order
const confirmed = (e: E2E) => e.odoo.records('sale.order', [['state', '=', 'sale']], ['id']).length;

async function finish(e: E2E, manifest: SimulationManifest, timeoutMs: number): Promise<void> {
  const expected = manifest.valid.length;
  await waitFor(
    () => confirmed(e) >= expected,
    timeoutMs,
    () => `Odoo has ${confirmed(e)} of ${expected} orders confirmed`,
  );
  await waitFor(
    async () => (await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count >= manifest.malformed.length,
    60_000,
    async () => `dead letters: ${(await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count} of ${manifest.malformed.length}`,
  );
}

async function assertExactlyOnce(e: E2E, manifest: SimulationManifest): Promise<void> {
  const refs = odooRefs(e.odoo);
  expect(refs.length).toBe(new Set(refs).size); // no duplicates in the ERP
  expect(new Set(refs)).toEqual(new Set(manifest.valid.map((t) => t.key))); // nothing missing, nothing extra
  expect(e.odoo.orders().every((o) => o.state === 'sale')).toBe(true);
  const dl = await getJson(`${e.red!.url}/tillwire/dead-letters?limit=10000`);
  expect(dl.total).toBe(manifest.malformed.length);
  for (const entry of dl.entries) expect(entry.error.message).toMatch(/^(malformed JSON: |payload is not valid UTF-8 |sale failed validation: )/);
}

describe(`store sales over MQTT into Odoo (${SALES} sales, 200 stores × 4 tills)`, () => {
  let e: E2E;
  afterEach(async () => {
    await e?.red?.stop();
    await e?.odoo.stop();
    await e?.broker.stop();
  });

  it('2% duplicates and 0.5% malformed: Odoo ends with exactly the valid unique sales, the dead-letter store with exactly the malformed ones', async () => {
    e = await startServices();
    await startRed(e, e2eFlows());
    const manifest = await runSimulation({
      brokerUrl: e.broker.url,
      brand: 'peak',
      stores: 200,
      tills: 4,
      count: SALES,
      duplicateRate: 0.02,
      malformedRate: 0.005,
      keepPayloads: false,
      seed: 'peak-day',
      close: false,
    });
    expect(manifest.counts.duplicates).toBeGreaterThan(SALES * 0.015);
    expect(manifest.counts.malformed).toBeGreaterThan(SALES * 0.003);
    await finish(e, manifest, 20 * 60_000);
    await assertExactlyOnce(e, manifest);
  });

  it('the same stream with Node-RED killed (SIGKILL) twice mid-stream: still exactly once, nothing missing, and the journal balances', async () => {
    e = await startServices();
    await startRed(e, e2eFlows());
    const publishing = runSimulation({
      brokerUrl: e.broker.url,
      brand: 'peak',
      stores: 200,
      tills: 4,
      count: SALES,
      duplicateRate: 0.02,
      malformedRate: 0.005,
      keepPayloads: false,
      seed: 'peak-day-killed',
      close: false,
      rate: Math.max(500, SALES / 40),
    });
    for (const fraction of [0.25, 0.6]) {
      await waitFor(
        () => confirmed(e) >= SALES * fraction * 0.98,
        10 * 60_000,
        () => `waiting for ${fraction} of the orders`,
      );
      await e.red!.kill();
      await startRed(e);
    }
    const manifest = await publishing;
    await finish(e, manifest, 20 * 60_000);
    await assertExactlyOnce(e, manifest);

    // the day's journal per store, from what Tillwire registered, balances to the minor unit
    await e.red!.kill();
    const store = createStore({ backend: 'sqlite', file: path.join(e.userDir!, 'tillwire.db') });
    await store.open();
    try {
      const stores = manifest.stores.map((s) => s.storeId);
      let registered = 0;
      for (const storeId of stores.slice(0, 20)) {
        const day = await store.registerList({ storeId, businessDate: manifest.businessDate, kind: 'sale' });
        registered += day.length;
        const journal = buildStoreJournal(
          day.map((r) => r.document as any),
          MAPPING,
          { storeId, businessDate: manifest.businessDate, currency: manifest.currency },
        );
        expect(validateDocument('journal-entry', journal).errors).toEqual([]);
      }
      expect(registered).toBe(manifest.valid.filter((t) => stores.slice(0, 20).includes(t.storeId)).length);
    } finally {
      await store.close();
    }
  });
});

const MAPPING = JSON.parse(fs.readFileSync(path.join(__dirname, 'journal-mapping.json'), 'utf8'));
