/**
 * The template "Square payouts → journal file", as shipped in examples/, in a real Node-RED
 * (red.js with the product's settings) against the Square simulator: a paid payout is reconciled,
 * its journals written as files once, and the journal file node's answer, wired back to the
 * journal node, records each journal as written for import (`file:<file name>`), so the
 * settlement register holds the settlement as written, not as confirmed by a ledger. A later
 * poll writes only the new payout's journals; the first payout's files and record stay as they were.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { readTemplate } from '../support/template';
import { SquareSimulator } from '../../simulators/square/simulator';
import { createStore } from '../../nodes/runtime/create-store';
import { ledgerStatus, SettlementRegister, type SettlementRecord } from '../../nodes/ledger/settlement-register';

jest.setTimeout(60_000);

const NAME = 'Square payouts → journal file';
const template = readTemplate(NAME);
let red: RunningNodeRed;
let square: SquareSimulator;

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end)
      throw new Error(
        `${what} did not happen within ${ms} ms; files ${JSON.stringify(csvFiles())}; register ${JSON.stringify(await records()).slice(0, 1500)}\n${red.output().slice(-1500)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function press(id: string): Promise<void> {
  const res = await fetch(`${red.adminUrl}/inject/${id}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/** The settlement register as the flow's store holds it (read beside the running Node-RED). */
async function records(): Promise<SettlementRecord[]> {
  const store = createStore({ backend: 'sqlite', file: 'tillwire.db' }, red.userDir);
  await store.open();
  try {
    const out: SettlementRecord[] = [];
    for await (const r of new SettlementRegister(store).list({ system: 'square' })) out.push(r);
    return out;
  } finally {
    await store.close();
  }
}

const csvFiles = () => {
  const dir = path.join(red.userDir, 'journals');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.csv')) : [];
};

/** Some London card sales, paid out (the template reads location L-LDN). */
function paid(): string[] {
  for (let i = 0; i < 6; i++) square.randomSale('L-LDN');
  return square
    .createPayouts({ status: 'PAID' })
    .filter((p: any) => p.location_id === 'L-LDN')
    .map((p: any) => p.id);
}

beforeAll(async () => {
  square = new SquareSimulator({ seed: 11 });
  await square.start();
  paid();
  red = await startNodeRed({
    via: 'red',
    flows: [
      { id: 'tab', type: 'tab', label: NAME },
      ...template.map((n) => (n.type.endsWith('-config') || n.type === 'tillwire-store' || n.type === 'tillwire-settlement-accounts' ? n : { ...n, z: 'tab' })),
    ],
    env: { TILLWIRE_SQUARE_URL: square.url, TILLWIRE_DEMO: '0' },
  });
  await deployCredentialsAndWait(red, { [template.find((n) => n.type === 'tillwire-square-config')!.id]: { accessToken: square.accessToken } });
});

afterAll(async () => {
  await red?.stop();
  await square?.stop();
});

it('writes each journal of a paid payout once and records it as written for import, not as posted', async () => {
  await press('sqj-poll-now');
  let written: SettlementRecord[] = [];
  await until('the payout written and recorded as written for import', async () => {
    written = (await records()).filter((r) => r.journals.length > 0 && ledgerStatus(r) === 'written');
    return written.length > 0 && csvFiles().length > 0;
  });
  const files = csvFiles();
  for (const r of written) {
    for (const j of r.journals) expect(files).toContain(r.ledgerIds[j.journalId].replace(/^file:/, ''));
  }
  const before = await records();

  // A later payout: the next poll writes its journals only.
  const [next] = paid();
  await press('sqj-poll-now');
  await until('the later payout written', async () => (await records()).some((r) => r.settlementId === next && ledgerStatus(r) === 'written'));
  const after = await records();
  expect(after.filter((r) => r.settlementId !== next)).toEqual(before);
  const nextFiles = after.find((r) => r.settlementId === next)!.journals.length;
  expect(csvFiles().sort()).toEqual([...files, ...csvFiles().filter((f) => !files.includes(f))].sort());
  expect(csvFiles()).toHaveLength(files.length + nextFiles);
});
