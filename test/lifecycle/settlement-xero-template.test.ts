/**
 * The template "Amazon settlement → reconcile → Xero", as shipped in examples/, imported as a user
 * imports it (its nodes on a tab of their own, config nodes beside it) into Node-RED started the way
 * `npm start` starts it, its connections pointed at the Amazon and Xero simulators and their
 * credentials entered: the settlements Amazon has finished are fetched, reconciled and posted to
 * Xero as balanced manual journals, each journal once.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { readTemplate, type FlowNode } from '../support/template';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { XeroSimulator } from '../../simulators/xero/simulator';
import { startSimulator as startAmazon } from '../amazon/support';
import { startXero } from '../xero/support';

jest.setTimeout(180_000);

const TEMPLATE = 'Amazon settlement → reconcile → Xero';
const DAY = 86_400_000;
const template = readTemplate(TEMPLATE);
const byType = (type: string) => template.find((n) => n.type === type)!;

let red: RunningNodeRed;
let amazon: AmazonSimulator;
let xero: XeroSimulator;

/** The template on a tab of its own, as Import places it; only the connections' addresses differ. */
function imported(): FlowNode[] {
  const config = (n: FlowNode) => n.type.endsWith('-config') || n.type === 'tillwire-store' || n.type === 'tillwire-settlement-accounts';
  return [
    { id: 'tab', type: 'tab', label: TEMPLATE },
    ...template.map((n) => {
      if (n.type === 'tillwire-amazon-config') return { ...n, endpoint: amazon.url, tokenUrl: amazon.tokenUrl, sellerId: amazon.sellerId };
      if (n.type === 'tillwire-xero-config') return { ...n, apiUrl: xero.apiUrl, tokenUrl: xero.tokenUrl, tenantId: xero.tenantId, clientId: xero.clientId };
      return config(n) ? n : { ...n, z: 'tab' };
    }),
  ];
}

/** The settlement a Xero journal posts (its narration carries the journal id settlement:amazon:<id>:<month>). */
const settlementOf = (j: Record<string, any>) => /settlement:amazon:([^:\s]+):/.exec(String(j.Narration))?.[1];
const journalIdOf = (j: Record<string, any>) => /settlement:amazon:\S+:\d{4}-\d{2}/.exec(String(j.Narration))?.[0];

async function deadLetters(): Promise<any[]> {
  const res = await fetch(`${red.adminUrl}/tillwire/dead-letters?store=${byType('tillwire-store').id}`);
  if (!res.ok) throw new Error(`dead letters: HTTP ${res.status}`);
  return ((await res.json()) as { entries: any[] }).entries;
}

beforeAll(async () => {
  // The UK marketplace only (GBP, the Xero organisation's base currency), its orders settled every 3 days.
  amazon = await startAmazon({
    marketplaceIds: ['A1F83G8C2ARO7P'],
    orders: 40,
    orderSpacingMs: 4 * 3_600_000,
    epoch: new Date(Date.now() - 8 * DAY).toISOString(),
    throttling: false,
    pendingEvery: 0,
    settlements: { periodDays: 3 },
  });
  xero = await startXero({ baseCurrency: 'GBP' });
  red = await startNodeRed({ flows: imported(), via: 'npm-start', env: { TILLWIRE_DEMO: '0' } });
  const refreshToken = xero.validRefreshTokens()[0];
  await deployCredentialsAndWait(red, {
    [byType('tillwire-amazon-config').id]: { clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken },
    [byType('tillwire-xero-config').id]: { clientSecret: xero.clientSecret, refreshToken },
  });
});

afterAll(async () => {
  await red?.stop();
  await xero?.stop();
  await amazon?.stop();
});

it("posts each of Amazon's finished settlements to Xero once, as balanced manual journals", async () => {
  const finished = amazon.settlements().map((s) => s.settlementId);
  expect(finished.length).toBeGreaterThanOrEqual(2);
  // Every settlement is posted, or held with its variance named (a dead letter), and nothing failed.
  const settled = async () => {
    const posted = new Set(xero.allJournals().map(settlementOf));
    const held = new Set((await deadLetters()).filter((d) => d.error?.code === 'settlement-held').map((d) => d.error.cause?.settlementId));
    return finished.every((id) => posted.has(id) || held.has(id));
  };
  const end = Date.now() + 90_000;
  while (!(await settled())) {
    if (Date.now() > end)
      throw new Error(`not every settlement reached Xero: ${JSON.stringify(await deadLetters()).slice(0, 2000)}\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const journals = xero.allJournals();
  const letters = await deadLetters();
  expect(letters.map((d) => d.error?.message)).toEqual([]); // none held, none failed
  expect(new Set(journals.map(settlementOf))).toEqual(new Set(finished));
  // Each journal once, posted, and balanced to the penny; the payout lands on Marketplace Clearing (615).
  const ids = journals.map(journalIdOf);
  expect(ids.every(Boolean)).toBe(true);
  expect(new Set(ids).size).toBe(journals.length);
  expect(xero.stats.creates).toBe(journals.length);
  for (const j of journals) {
    expect(j.Status).toBe('POSTED');
    const pence = j.JournalLines.reduce((sum: number, l: any) => sum + Math.round(Number(l.LineAmount) * 100), 0);
    expect(pence).toBe(0);
    expect(j.JournalLines.some((l: any) => l.AccountCode === '615')).toBe(true);
  }
});
