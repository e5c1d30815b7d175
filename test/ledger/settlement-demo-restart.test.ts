/**
 * `npm start`, Ctrl-C, `npm start` again on the same user directory: the demo store keeps what
 * Tillwire recorded, so the restarted channel simulators must carry on as real channels do (their
 * continuity files in <userDir>/.tillwire-demo): no settlement, payout or order id handed out
 * again for something else, and the first settlement after the restart releases the reserve the
 * last one held. Settlements every minute (TILLWIRE_DEMO_SETTLEMENT_MINUTES) keep the wait short.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, RunningNodeRed, startNodeRed } from '../support/node-red-process';

jest.setTimeout(240_000);

type Journal = Record<string, any>;
interface Posted {
  gbp: Journal[];
  eur: Journal[];
  qbo: Journal[];
}

const runs: RunningNodeRed[] = [];
afterAll(async () => {
  for (const r of runs) await r.terminate('SIGINT'); // as Ctrl-C: npm start stops its Node-RED and simulators
  if (runs[0]) fs.rmSync(runs[0].userDir, { recursive: true, force: true });
});

const get = async (port: number, route: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status}`);
  return (await res.json()) as any;
};
/** The journal id Tillwire wrote into a Xero narration or a QuickBooks private note. */
const xeroId = (j: Journal) => /\[tw:([^\]]+)\]/.exec(String(j.Narration))?.[1];
const qboId = (e: Journal) => /^tillwire:(\S+)/.exec(String(e.PrivateNote))?.[1];
const idsOf = (p: Posted) => [...p.gbp.map(xeroId), ...p.eur.map(xeroId), ...p.qbo.map(qboId)].map(String);

async function startDemo(userDir?: string, port?: number): Promise<{ red: RunningNodeRed; ledgers: Record<string, number> }> {
  const ledgers: Record<string, number> = {};
  for (const name of ['XERO', 'XERO_EU', 'QBO']) ledgers[name] = await freePort();
  const env = { TILLWIRE_DEMO_SETTLEMENT_MINUTES: '1', ...Object.fromEntries(Object.entries(ledgers).map(([n, p]) => [`TILLWIRE_DEMO_${n}_PORT`, String(p)])) };
  const red = await startNodeRed({ via: 'npm-start', env, ...(userDir ? { userDir } : {}), ...(port ? { port } : {}) });
  runs.push(red);
  return { red, ledgers };
}

/** Polls the run's ledger simulators until Amazon UK, Amazon DE, bol.com and Shopify settlements are posted. */
async function posted(red: RunningNodeRed, ledgers: Record<string, number>): Promise<Posted> {
  const seen = async (): Promise<Posted> => ({
    gbp: await get(ledgers.XERO, '/__simulator/journals'),
    eur: await get(ledgers.XERO_EU, '/__simulator/journals'),
    qbo: await get(ledgers.QBO, '/__simulator/journalentries'),
  });
  const ready = (s: Posted) =>
    s.gbp.some((j) => /settlement:amazon:/.test(String(j.Narration))) &&
    s.eur.some((j) => /settlement:amazon:/.test(String(j.Narration))) &&
    s.eur.some((j) => /settlement:bol:/.test(String(j.Narration))) &&
    s.qbo.some((e) => /settlement:shopify:/.test(String(e.PrivateNote)));
  const end = Date.now() + 100_000;
  let s = await seen();
  while (!ready(s)) {
    if (Date.now() > end) throw new Error(`not every ledger was posted to: ${JSON.stringify(s).slice(0, 1500)}\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
    s = await seen();
  }
  return s;
}

/** order key (system/account/order) → ERP ref, as the demo store's order index holds them. */
function orderIndex(userDir: string): Map<string, string> {
  const db = new Database(path.join(userDir, 'tillwire.db'), { readonly: true });
  try {
    const rows = db.prepare('select system, account, order_id, erp_system, erp_ref from tw_order_index where erp_ref is not null').all() as any[];
    return new Map(rows.map((r) => [`${r.system}/${r.account}/${r.order_id}`, `${r.erp_system}/${r.erp_ref}`]));
  } finally {
    db.close();
  }
}

it('carries on after a restart: no reissue, nothing held, no id reused', async () => {
  const first = await startDemo();
  const before = await posted(first.red, first.ledgers);
  const userDir = first.red.userDir;
  // Ctrl-C, as a user stops it.
  expect(await first.red.terminate('SIGINT')).toBe(0);
  const indexBefore = orderIndex(userDir);
  expect(fs.readdirSync(path.join(userDir, '.tillwire-demo')).sort()).toEqual(['amazon.json', 'bol.json', 'odoo.json', 'shopify.json']);

  const second = await startDemo(userDir, first.red.port);
  expect(second.red.output()).toContain('channel simulators carry on from the last run');
  const after = await posted(second.red, second.ledgers);

  // Every journal id posted once over both runs: the second run posted new settlements, not the first run's again.
  const all = [...idsOf(before), ...idsOf(after)];
  expect(all.filter((id, i) => all.indexOf(id) !== i)).toEqual([]);
  // No reissue: no reversal journal in any ledger, nor among the journal files.
  expect(all.filter((id) => /reversal|:r\d+$/.test(id))).toEqual([]);
  const files = fs.existsSync(path.join(userDir, 'journals')) ? fs.readdirSync(path.join(userDir, 'journals')) : [];
  expect(files.filter((f) => /reversal|_r\d+\b/.test(f))).toEqual([]);
  // Nothing held: the first settlement after the restart released what the last one before it held.
  const letters = (await (await fetch(`${second.red.adminUrl}/tillwire/dead-letters?store=tillwire-demo-store`)).json()) as { entries: any[] };
  expect(letters.entries.filter((d) => /settlement-held/.test(JSON.stringify(d))).map((d) => d.error)).toEqual([]);
  // The order index: the first run's orders keep their ERP refs, and no ERP ref stands for two orders.
  const indexAfter = orderIndex(userDir);
  for (const [order, ref] of indexBefore) expect([order, indexAfter.get(order)]).toEqual([order, ref]);
  const refs = [...indexAfter.values()];
  expect(refs.filter((ref, i) => refs.indexOf(ref) !== i)).toEqual([]);
  expect(indexAfter.size).toBeGreaterThan(indexBefore.size);
});
