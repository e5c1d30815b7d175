/**
 * `npm start` as a user runs it, demo services and all: the "Settlements → ledger" tab takes the
 * settlements the channel simulators publish from the orders the other tabs took in, reconciles
 * them in the demo store and posts them to the demo's Xero organisations and QuickBooks company.
 * What the ledgers received is asked of the simulators themselves (their inspection routes).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, RunningNodeRed, startNodeRed } from '../support/node-red-process';

jest.setTimeout(120_000);

let red: RunningNodeRed;
const ports: Record<string, number> = {};

beforeAll(async () => {
  for (const name of ['XERO', 'XERO_EU', 'QBO']) ports[name] = await freePort();
  red = await startNodeRed({
    via: 'npm-start',
    env: Object.fromEntries(Object.entries(ports).map(([name, port]) => [`TILLWIRE_DEMO_${name}_PORT`, String(port)])),
  });
});

afterAll(async () => {
  await red?.stop();
});

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as any;
};
const xeroJournals = (port: number): Promise<Array<Record<string, any>>> => get(port, '/__simulator/journals');
const qboEntries = (): Promise<Array<Record<string, any>>> => get(ports.QBO, '/__simulator/journalentries');
/** The journal id Tillwire wrote into a Xero narration or a QuickBooks private note. */
const xeroId = (j: Record<string, any>) => /\[tw:([^\]]+)\]/.exec(String(j.Narration))?.[1];
const qboId = (e: Record<string, any>) => /^tillwire:(\S+)/.exec(String(e.PrivateNote))?.[1];
/** journal id → ledger id, as the settlement register in the demo store holds them. */
function recordedLedgerIds(): Map<string, string> {
  const db = new Database(path.join(red.userDir, 'tillwire.db'), { readonly: true });
  try {
    const ids = new Map<string, string>();
    for (const row of db.prepare("select value from tw_kv where kv_key like 'settlement:%'").all() as Array<{ value: string }>)
      for (const [journalId, ledgerId] of Object.entries(JSON.parse(row.value).ledgerIds ?? {})) ids.set(journalId, String(ledgerId));
    return ids;
  } finally {
    db.close();
  }
}
const cents = (amount: unknown) => Math.round(Number(amount) * 100);

it('prints the ledger simulators beside the others', () => {
  expect(red.output()).toContain(`Xero simulator (GBP organisation): http://127.0.0.1:${ports.XERO}`);
  expect(red.output()).toContain(`Xero simulator (EUR organisation): http://127.0.0.1:${ports.XERO_EU}`);
  expect(red.output()).toContain(`QuickBooks Online simulator: http://127.0.0.1:${ports.QBO}`);
});

it('posts Amazon, bol.com and Shopify settlements to the Xero and QuickBooks simulators, each journal once', async () => {
  const seen = async () => ({ gbp: await xeroJournals(ports.XERO), eur: await xeroJournals(ports.XERO_EU), qbo: await qboEntries() });
  const ready = (s: Awaited<ReturnType<typeof seen>>) =>
    s.gbp.some((j) => /settlement:amazon:/.test(String(j.Narration))) &&
    s.eur.some((j) => /settlement:amazon:/.test(String(j.Narration))) &&
    s.eur.some((j) => /settlement:bol:/.test(String(j.Narration))) &&
    s.qbo.some((e) => /settlement:shopify:/.test(String(e.PrivateNote)));
  const end = Date.now() + 80_000;
  let s = await seen();
  while (!ready(s)) {
    if (Date.now() > end) throw new Error(`not every ledger was posted to: ${JSON.stringify(s).slice(0, 1500)}\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
    s = await seen();
  }
  for (const [journals, idOf] of [
    [s.gbp, xeroId],
    [s.eur, xeroId],
    [s.qbo, qboId],
  ] as const) {
    const ids = journals.map((j) => idOf(j));
    expect(ids.every((id) => id?.startsWith('settlement:'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length); // each journal (settlement and month) once
  }
  // Each organisation gets its own currency only; every journal balances to the cent.
  for (const j of [...s.gbp, ...s.eur]) {
    expect(j.Status).toBe('POSTED');
    expect(j.JournalLines.reduce((sum: number, l: any) => sum + cents(l.LineAmount), 0)).toBe(0);
  }
  expect(s.gbp.every((j) => /settlement:amazon:/.test(j.Narration))).toBe(true);
  for (const e of s.qbo) {
    expect(e.CurrencyRef?.value ?? 'GBP').toBe('GBP');
    const debit = e.Line.filter((l: any) => l.JournalEntryLineDetail.PostingType === 'Debit').reduce((t: number, l: any) => t + cents(l.Amount), 0);
    const credit = e.Line.filter((l: any) => l.JournalEntryLineDetail.PostingType === 'Credit').reduce((t: number, l: any) => t + cents(l.Amount), 0);
    expect(debit).toBe(credit);
  }
  // Each answer went back to its journal node: the settlement register holds the ledger's id for every journal posted.
  const posted = () => [...s.gbp.map(xeroId), ...s.eur.map(xeroId), ...s.qbo.map(qboId)];
  let ledgerIds = recordedLedgerIds();
  const until = Date.now() + 10_000;
  while (posted().some((id) => !ledgerIds.has(id!)) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    ledgerIds = recordedLedgerIds();
  }
  expect(posted().filter((id) => !ledgerIds.has(id!))).toEqual([]);
  expect(s.gbp.map((j) => ledgerIds.get(xeroId(j)!))).toEqual(s.gbp.map((j) => j.ManualJournalID));
  // Nothing was held or failed: the settlements add up against the orders the demo took in.
  const letters = await (await fetch(`${red.adminUrl}/tillwire/dead-letters?store=tillwire-demo-store`)).json();
  expect((letters as { entries: any[] }).entries.filter((d) => /settlement|xero|quickbooks/i.test(JSON.stringify(d.error))).map((d) => d.error)).toEqual([]);
});
