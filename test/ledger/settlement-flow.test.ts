/**
 * The settlement pillar in a real Node-RED started as `npm start` does: the Amazon simulator's
 * settlement file (msg.filename) → tillwire-amazon-settlements → tillwire-reconcile (settlement) →
 * tillwire-journal (settlement) → tillwire-quickbooks against the QuickBooks simulator, whose
 * answer goes back to the journal node to record the ledger ids.
 *
 * A consistent settlement is posted exactly once, balanced, and the next settlement is reconciled
 * against its reserve; the same file again posts nothing. A file whose stated total is off is held
 * (output 2, a dead letter naming the variance), nothing posted; a release books the variance to
 * suspense and posts it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { DEFAULT_ACCOUNTS, QboSimulator } from '../../simulators/quickbooks/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SETTLEMENT_COLUMNS } from '../../nodes/amazon/contract';
import { startSimulator as startQbo } from '../quickbooks/support';
import { startSimulator as startAmazon } from '../amazon/support';
import { qboConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';

jest.setTimeout(180_000);

const DAY = 86_400_000;
let red: RunningNodeRed;
let qbo: QboSimulator;
let amazon: AmazonSimulator;
let usd: ReturnType<AmazonSimulator['settlements']>;

const EXTRA_ACCOUNTS = [
  { Id: '22', Name: 'Sales tax payable', AcctNum: '2200', AccountType: 'Other Current Liability', Active: true },
  { Id: '21', Name: 'Owed to marketplace', AcctNum: '2100', AccountType: 'Other Current Liability', Active: true },
  { Id: '38', Name: 'Failed payouts', AcctNum: '1230', AccountType: 'Other Current Asset', Active: true },
  { Id: '39', Name: 'Settlement suspense', AcctNum: '1299', AccountType: 'Other Current Asset', Active: true },
];

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  return [
    { id: 'tab', type: 'tab', label: 'settlements' },
    { id: 'st1', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    {
      id: 'am',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: amazon.url,
      tokenUrl: amazon.tokenUrl,
      sellerId: amazon.sellerId,
      marketplaceIds: 'ATVPDKIKX0DER',
    },
    qboConfigNode(qbo),
    {
      id: 'acc',
      type: 'tillwire-settlement-accounts',
      bankAccount: '1000',
      clearingAccount: '1200',
      reserveAccount: '1210',
      payableAccount: '2100',
      carriedForwardAccount: '1230',
      suspenseAccount: '1299',
      accounts: [
        { key: 'principal', account: '4000' },
        { key: 'shipping', account: '4000' },
        { key: 'promotion', account: '4000' },
        { key: 'tax', account: '2200' },
        { key: 'refund', account: '4100' },
        { key: 'fee', account: '6000' },
        { key: 'adjustment', account: '6000' },
        { key: 'other', account: '6000' },
      ],
      trackChannel: 'amazon',
      trackMarketplace: 'US',
    },
    // POST /settle { filename } and POST /release { settlementId, system, account }: answered at once, processed after.
    { id: 'in', type: 'http in', z: 'tab', url: '/settle', method: 'post', wires: [['file', 'ack']] },
    { id: 'file', type: 'function', z: 'tab', func: 'return { filename: msg.payload.filename };', outputs: 1, wires: [['amz']] },
    { id: 'rin', type: 'http in', z: 'tab', url: '/release', method: 'post', wires: [['rel', 'ack']] },
    { id: 'rel', type: 'function', z: 'tab', func: "return { release: { ...msg.payload, accept: 'suspense' } };", outputs: 1, wires: [['rec']] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'amz', type: 'tillwire-amazon-settlements', z: 'tab', amazon: 'am', interval: '0', lookback: '90', wires: [['rec'], ['rows']] },
    { id: 'rows', type: 'function', z: 'tab', func: record('rows'), outputs: 1, wires: [] },
    { id: 'rec', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jr', 'ready'], ['held']] },
    { id: 'ready', type: 'function', z: 'tab', func: record('ready'), outputs: 1, wires: [] },
    { id: 'held', type: 'function', z: 'tab', func: record('held'), outputs: 1, wires: [] },
    { id: 'jr', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc', wires: [['qb']] },
    { id: 'qb', type: 'tillwire-quickbooks', z: 'tab', quickbooks: 'q1', wires: [['jr', 'posted']] },
    { id: 'posted', type: 'function', z: 'tab', func: 'msg.payload = msg.posting;\n' + record('posted'), outputs: 1, wires: [] },
    { id: 'k1', type: 'catch', z: 'tab', scope: ['amz', 'rec', 'jr', 'qb'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\n' + record('caught'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = Object.fromEntries(['ready', 'held', 'posted', 'caught', 'rows'].map((k) => [k, flow.get(k) || []]));\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

const { call, until } = flowCalls(() => red, { callTimeoutMs: 30_000, untilTimeoutMs: 60_000 });

/** Writes a settlement file into Node-RED's user directory; `edit` may change its rows (0: column names, 1: the summary row). */
function writeFile(name: string, reportId: string, edit?: (rows: string[][]) => void): string {
  const rows = amazon
    .settlementText(reportId)
    .split('\n')
    .filter((l) => l.length)
    .map((l) => l.split('\t'));
  edit?.(rows);
  fs.writeFileSync(path.join(red.userDir, name), rows.map((r) => r.join('\t')).join('\n') + '\n');
  return name;
}

/** Σ debits and Σ credits of a QuickBooks journal entry, in cents. */
function sides(entry: Record<string, any>) {
  let debit = 0;
  let credit = 0;
  for (const line of entry.Line) {
    const cents = Math.round(Number(line.Amount) * 100);
    if (line.JournalEntryLineDetail.PostingType === 'Debit') debit += cents;
    else credit += cents;
  }
  return { debit, credit };
}

const accountLines = (entry: Record<string, any>, id: string) => entry.Line.filter((l: any) => l.JournalEntryLineDetail.AccountRef.value === id);

beforeAll(async () => {
  amazon = await startAmazon({
    orders: 120,
    orderSpacingMs: 3 * 3_600_000,
    epoch: new Date(Date.now() - 40 * DAY).toISOString(),
    throttling: false,
    pendingEvery: 0,
  });
  usd = amazon.settlements().filter((s) => s.currency === 'USD');
  qbo = await startQbo({ accounts: [...DEFAULT_ACCOUNTS, ...EXTRA_ACCOUNTS] });
  red = await startNodeRed({ flows: flows(), via: 'npm-start' });
  await deployCredentialsAndWait(red, { q1: { clientId: qbo.clientId, clientSecret: qbo.clientSecret, refreshToken: qbo.currentRefreshToken } });
});

afterAll(async () => {
  await red?.stop();
  await qbo?.stop();
  await amazon?.stop();
});

it('posts a settlement file exactly once, balanced; the same file again posts nothing', async () => {
  expect(usd.length).toBeGreaterThanOrEqual(2);
  const [first] = usd;
  await call('/settle', { filename: writeFile('first.txt', first.reportId) });
  await until('first settlement posted', async () => (await call('/seen')).ready.length === 1 && qbo.journalEntries().length > 0);
  const seen = await call('/seen');
  expect(seen.ready[0]).toMatchObject({ settlementId: first.settlementId, outcome: 'ready', status: 'consistent' });
  const months = seen.ready[0].months.length;
  await until('every month posted', () => qbo.journalEntries().length === months);
  for (const entry of qbo.journalEntries()) {
    const { debit, credit } = sides(entry);
    expect(debit).toBe(credit);
  }
  // The payout reaches the bank account exactly as Amazon states it.
  const bank = qbo.journalEntries().flatMap((e) => accountLines(e, '35'));
  expect(bank.reduce((s: number, l: any) => s + Math.round(Number(l.Amount) * 100), 0)).toBe(seen.ready[0].statedTotal);
  await until('ledger ids reported back', async () => (await call('/seen')).posted.length === months);

  await call('/settle', { filename: writeFile('first-again.txt', first.reportId) });
  await until('the repeat is recognised', async () => (await call('/seen')).ready.length === 2);
  expect((await call('/seen')).ready[1]).toMatchObject({ settlementId: first.settlementId, outcome: 'already-posted' });
  expect(qbo.journalEntries()).toHaveLength(months);
  expect((await call('/seen')).caught).toEqual([]);
});

it('holds a file whose stated total is off (dead letter naming the variance), posts nothing; a release to suspense posts it', async () => {
  const second = usd[1];
  const before = qbo.journalEntries().length;
  const total = SETTLEMENT_COLUMNS.indexOf('total-amount');
  let stated = '';
  await call('/settle', {
    filename: writeFile('second-off.txt', second.reportId, (rows) => {
      // Amazon states 12.34 more than the rows hold: the kind of gap a missing line leaves.
      stated = (Number(rows[1][total]) + 12.34).toFixed(2);
      rows[1][total] = stated;
    }),
  });
  await until('held', async () => (await call('/seen')).held.length === 1);
  const [held] = (await call('/seen')).held;
  expect(held).toMatchObject({ settlementId: second.settlementId, outcome: 'held', variance: -1234, postable: false });
  expect(held.held[0].message).toMatch(/variance -12\.34 USD; usually explained by/);
  const letters = await call('/tillwire/dead-letters?store=st1');
  expect(letters.entries).toEqual([
    expect.objectContaining({
      id: held.deadLetterId,
      status: 'pending',
      error: expect.objectContaining({ code: 'settlement-held', message: expect.stringMatching(/variance -12\.34 USD/) }),
    }),
  ]);
  expect(qbo.journalEntries()).toHaveLength(before);

  await call('/release', { settlementId: second.settlementId, system: 'amazon', account: amazon.sellerId });
  await until('released and posted', () => qbo.journalEntries().length > before);
  const seen = await call('/seen');
  const released = seen.ready.find((r: any) => r.settlementId === second.settlementId);
  expect(released).toMatchObject({ outcome: 'ready', released: { accept: 'suspense', variance: -1234 } });
  await until('every month posted', () => qbo.journalEntries().length === before + released.months.length);
  const posted = qbo.journalEntries().slice(before);
  for (const entry of posted) expect(sides(entry).debit).toBe(sides(entry).credit);
  // Suspense (Id 39) takes the variance: the bank gets what Amazon stated it paid.
  const suspense = posted.flatMap((e) => accountLines(e, '39'));
  expect(suspense).toEqual([expect.objectContaining({ Amount: 12.34, JournalEntryLineDetail: expect.objectContaining({ PostingType: 'Credit' }) })]);
  const bank = posted.flatMap((e) => accountLines(e, '35')).reduce((s: number, l: any) => s + Math.round(Number(l.Amount) * 100), 0);
  expect(bank).toBe(Math.round(Number(stated) * 100));
  // The reserve the first settlement held is what this one releases: no reserve variance.
  expect(released.held).toBeUndefined();
  expect(released.reserves.released).toBeGreaterThan(0);
  expect(released.reserves.previousHeld).toBe(released.reserves.released);
  expect((await call('/tillwire/dead-letters?store=st1')).entries[0].status).toBe('replayed');
  expect(seen.caught).toEqual([]);
});

it('hostile files through the same HTTP-fed flow: paths outside the user directory and a gzip of empty lines are refused, bad rows hold the settlement, a re-send of the same bad file is held again; nothing is posted', async () => {
  const before = qbo.journalEntries().length;
  const caughtBefore = (await call('/seen')).caught.length;
  // Outside the user directory: a relative climb, an absolute path.
  await call('/settle', { filename: '../../../../etc/passwd' });
  await call('/settle', { filename: '/etc/hostname' });
  // A few kilobytes of gzip that inflate to two million empty lines.
  fs.writeFileSync(path.join(red.userDir, 'bomb.txt.gz'), gzipSync(Buffer.from(`${SETTLEMENT_COLUMNS.join('\t')}\n${'\n'.repeat(2_000_000)}`)));
  await call('/settle', { filename: 'bomb.txt.gz' });
  await until('three refusals caught', async () => (await call('/seen')).caught.length === caughtBefore + 3);
  const caught: string[] = (await call('/seen')).caught.slice(caughtBefore);
  expect(caught.filter((m) => /is outside .*: only files inside that folder can be read/.test(m))).toHaveLength(2);
  expect(caught.filter((m) => /more than 1000 empty lines/.test(m))).toHaveLength(1);

  // A settlement with an unreadable amount and a row of another settlement: held, each row reported.
  const other = amazon.settlements().find((s) => s.reportId !== usd[0].reportId && s.reportId !== usd[1].reportId)!;
  const amount = SETTLEMENT_COLUMNS.indexOf('amount');
  const id = SETTLEMENT_COLUMNS.indexOf('settlement-id');
  const spoil = (rows: string[][]) => {
    rows[3][amount] = 'ten';
    rows[4][id] = '99999999999';
  };
  const rowsBefore = (await call('/seen')).rows.length;
  const heldBefore = (await call('/seen')).held.length;
  await call('/settle', { filename: writeFile('spoiled.txt', other.reportId, spoil) });
  await until('held for its rows', async () => (await call('/seen')).held.length === heldBefore + 1);
  let seen = await call('/seen');
  expect(seen.rows.length - rowsBefore).toBe(2);
  expect(seen.held.at(-1)).toMatchObject({
    settlementId: other.settlementId,
    outcome: 'held',
    reason: expect.stringMatching(/2 rows of the settlement file could not be read/),
  });
  // The same file again after its rejection: held again, never posted.
  await call('/settle', { filename: writeFile('spoiled-again.txt', other.reportId, spoil) });
  await until('held again', async () => (await call('/seen')).held.length === heldBefore + 2);
  seen = await call('/seen');
  expect(seen.held.at(-1)).toMatchObject({ settlementId: other.settlementId, outcome: 'held' });
  expect(seen.ready.filter((r: any) => r.settlementId === other.settlementId)).toEqual([]);
  expect(qbo.journalEntries()).toHaveLength(before);
});
