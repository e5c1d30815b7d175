/**
 * The fault suite (docs/chaos.md): a stream of till sales through the real Mosquitto into a real
 * Node-RED running the "Store sales (MQTT) → Odoo" template, one fault per case, mid-stream. Each
 * case passes when Odoo ends with every sale the tills sent exactly once: nothing lost, nothing
 * duplicated, nothing that was never sent. CHAOS_SALES sets the size (see stream.ts).
 */
import { Client } from 'pg';
import { e2eFlows, startRed, waitFor } from '../e2e/harness';
import { startPostgresCluster, PostgresCluster } from '../support/postgres-cluster';
import { CHAOS_SALES, finish, printNotes, reach, startStream, stopStream, Stream, unfinishedEntries } from './stream';
import type { CheckReport } from './checker';

jest.setTimeout(30 * 60_000);
const OUTAGE_MS = Number(process.env.CHAOS_PG_OUTAGE_SECONDS ?? 5) * 1000;

let s: Stream | undefined;
let title = '';
beforeEach(() => {
  title = expect.getState().currentTestName ?? '';
});
afterEach(async () => {
  printNotes(title, s);
  await stopStream(s);
  s = undefined;
});

/**
 * The verdict: nothing lost, nothing duplicated, nothing unexpected, every order confirmed; and
 * every received sale finished in the inbox (one left open holds a place in the till input's
 * in-flight window until a restart: enough of them and the input stops taking sales).
 */
function expectExactlyOnce(report: CheckReport): void {
  const verdict = {
    lost: report.lost.map((d) => d.key),
    duplicated: report.duplicated.map((d) => d.key),
    unexpected: report.unexpected.map((r) => r.key),
    wrongState: report.wrongState.map((r) => `${r.key} ${r.state}`),
  };
  expect(verdict).toEqual({ lost: [], duplicated: [], unexpected: [], wrongState: [] });
  expect({ unfinishedInboxEntries: s!.unfinished }).toEqual({ unfinishedInboxEntries: 0 });
}

/** Makes every Odoo call a second late until the returned function is called, and waits for a backlog in Node-RED's inbox. */
async function buildBacklog(st: Stream, atLeast: number): Promise<() => void> {
  st.e.odoo.setFaults({ slowRate: 1, slowDelayMs: 1000 });
  await waitFor(
    async () => (await unfinishedEntries(st)) >= atLeast,
    60_000,
    async () => `inbox backlog ${await unfinishedEntries(st)} of ${atLeast}`,
  );
  return () => st.e.odoo.setFaults({});
}

const flowsApi = { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' };

/** Redeploys through the Admin API: GET /flows, `edit` them, POST with the deployment type. */
async function redeploy(st: Stream, type: 'full' | 'nodes', edit: (flows: any[]) => void = () => undefined): Promise<void> {
  const url = `${st.e.red!.url}/flows`;
  const current = (await (await fetch(url, { headers: flowsApi })).json()) as { rev: string; flows: any[] };
  edit(current.flows);
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...flowsApi, 'Node-RED-Deployment-Type': type },
    body: JSON.stringify({ rev: current.rev, flows: current.flows }),
  });
  expect(res.status).toBe(200);
  const after = (await res.json()) as { rev: string };
  st.notes.push(`${type} redeploy at ${st.inErp()} orders in Odoo: rev ${current.rev.slice(0, 8)} → ${after.rev.slice(0, 8)}`);
}

function rename(type: string, name: string) {
  return (flows: any[]) => {
    const node = flows.find((n) => n.type === type);
    node.name = name;
  };
}

describe(`fault suite: ${CHAOS_SALES} till sales per fault, Odoo must end with each exactly once`, () => {
  it('control: no fault (the harness itself loses and duplicates nothing)', async () => {
    s = await startStream({ name: 'chaos-control' });
    expectExactlyOnce(await finish(s));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`graceful stop with a backlog (${signal} to npm start), then a restart`, async () => {
      s = await startStream({ name: `chaos-${signal.toLowerCase()}`, red: { via: 'npm-start' } });
      await reach(s, 0.3);
      const release = await buildBacklog(s, 20);
      const t0 = Date.now();
      const code = await s.e.red!.terminate(signal);
      release();
      const backlog = await unfinishedEntries(s);
      s.notes.push(`${signal}: exit code ${code} after ${Date.now() - t0} ms; ${backlog} inbox entries pending at the stop, ${s.inErp()} orders in Odoo`);
      expect(code).toBe(0);
      expect(backlog).toBeGreaterThan(0); // the stop really had unfinished work
      await startRed(s.e, undefined, { via: 'npm-start' }); // same user directory, store and flows
      expectExactlyOnce(await finish(s));
    });
  }

  it('full redeploy through the Admin API, twice mid-stream', async () => {
    s = await startStream({ name: 'chaos-full-deploy' });
    await reach(s, 0.3);
    await redeploy(s, 'full');
    await reach(s, 0.6);
    await redeploy(s, 'full');
    expectExactlyOnce(await finish(s));
  });

  it('nodes-only redeploy through the Admin API mid-stream: the Odoo node, then the till input node, changed and restarted', async () => {
    s = await startStream({ name: 'chaos-nodes-deploy' });
    await reach(s, 0.3);
    await redeploy(s, 'nodes', rename('tillwire-odoo', 'Odoo sale order (changed)'));
    await reach(s, 0.6);
    await redeploy(s, 'nodes', rename('tillwire-pos-mqtt-in', 'store tills (changed)'));
    expectExactlyOnce(await finish(s));
  });

  it('Mosquitto restarted twice mid-stream', async () => {
    s = await startStream({ name: 'chaos-mosquitto' });
    for (const fraction of [0.3, 0.6]) {
      await reach(s, fraction);
      await s.e.broker.restart();
      s.notes.push(`Mosquitto restarted at ${s.inErp()} orders in Odoo`);
    }
    expectExactlyOnce(await finish(s));
  });

  it('Odoo commits 10% of its writes and loses the answer', async () => {
    s = await startStream({ name: 'chaos-lost-answer', faults: { lostResponseRate: 0.1, only: ['sale.order.create', 'sale.order.action_confirm'], seed: 11 } });
    const report = await finish(s);
    const lost = s.e.odoo.stats.faults.lost;
    s.notes.push(`Odoo lost ${lost} answers after committing`);
    expect(lost).toBeGreaterThan(s.expected * 0.05); // the fault really happened
    expectExactlyOnce(report);
  });

  it('a slow Odoo (every call 50 ms late): backpressure keeps the in-process backlog bounded, nothing lost', async () => {
    const bound = 50;
    s = await startStream({ name: 'chaos-slow', faults: { slowRate: 1, slowDelayMs: 50 }, flows: { maxInFlight: bound, odooConcurrency: 8 } });
    let peak = 0;
    const sampler = setInterval(
      () =>
        void unfinishedEntries(s!).then(
          (n) => (peak = Math.max(peak, n)),
          () => undefined,
        ),
      250,
    );
    try {
      await s.publishing;
      s.notes.push(`after the last publish Odoo holds ${s.inErp()} of ${s.expected}: the broker held the rest`);
      expect(s.inErp()).toBeLessThan(s.expected); // the ERP really was the bottleneck
    } finally {
      clearInterval(sampler);
    }
    const report = await finish(s);
    s.notes.push(`peak unfinished inbox entries: ${peak} (bound ${bound})`);
    // the node's bound, plus the one message being stored when the bound was reached
    expect(peak).toBeLessThanOrEqual(bound + 1);
    expectExactlyOnce(report);
  });

  describe("with the store on PostgreSQL (a private cluster, never the machine's own)", () => {
    let pg: PostgresCluster | undefined;
    afterEach(async () => {
      await pg?.remove();
      pg = undefined;
    });

    it(`PostgreSQL stopped for ${OUTAGE_MS / 1000} s and started again, twice mid-stream`, async () => {
      pg = await startPostgresCluster();
      const storeId = e2eFlows().find((n) => n.type === 'tillwire-store').id;
      s = await startStream({
        name: 'chaos-postgres',
        editFlows: (flows) =>
          Object.assign(
            flows.find((n) => n.id === storeId),
            { backend: 'postgres', schema: 'chaos', name: 'Tillwire store (PostgreSQL)' },
          ),
        red: { credentials: { [storeId]: { url: pg.url } } },
        storeQuery: async (sql, params) => {
          const client = new Client({ connectionString: pg!.url });
          await client.connect();
          try {
            let i = 0;
            return (
              await client.query(
                sql.replace(/\btw_/g, 'chaos.tw_').replace(/\?/g, () => `$${++i}`),
                params,
              )
            ).rows;
          } finally {
            await client.end();
          }
        },
      });
      for (const fraction of [0.3, 0.6]) {
        await reach(s, fraction);
        await pg.stop();
        const at = s.inErp();
        // the outage is the fault itself (how long the database is away), not a wait for a result
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        await pg.start();
        s.notes.push(`PostgreSQL down for ${OUTAGE_MS / 1000} s from ${at} orders in Odoo (${s.inErp()} when it came back)`);
      }
      expectExactlyOnce(await finish(s));
    });
  });
});
