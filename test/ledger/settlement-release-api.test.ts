/**
 * Releasing a held settlement from the admin API, in a real Node-RED started with the product's
 * settings and an editor login (adminAuth: a finance user with every permission, an auditor who
 * may only read), fed over HTTP like settlement-flow.test.ts: tillwire-reconcile (settlement) →
 * tillwire-journal (settlement) → tillwire-quickbooks against the QuickBooks simulator.
 *
 * A held settlement is listed with its variance, released by the finance user with a reason, and
 * posted once with its variance in suspense; the same release again (also twice at once) posts
 * nothing more. Refused, each naming the problem, with nothing released: no login, the read-only
 * login, no reason, another account's settlement, a version that changed since it was listed, a
 * settlement that is posted, a mapping without a suspense account, an unknown settlement.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { writeDemoCredentials } from '../../scripts/start';
import { DEFAULT_ACCOUNTS, QboSimulator } from '../../simulators/quickbooks/simulator';
import { startSimulator as startQbo } from '../quickbooks/support';
import { makeSettlement, type LineSpec } from './settlements';
import { qboConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';

jest.setTimeout(60_000);

const PASSWORD = 'ledger horse battery';
const SELLER = 'SELLER-A';
let red: RunningNodeRed;
let qbo: QboSimulator;
let finance: string;
let auditor: string;
const secretBefore = process.env.TILLWIRE_CREDENTIAL_SECRET;

const EXTRA_ACCOUNTS = [
  { Id: '22', Name: 'Sales tax payable', AcctNum: '2200', AccountType: 'Other Current Liability', Active: true },
  { Id: '21', Name: 'Owed to marketplace', AcctNum: '2100', AccountType: 'Other Current Liability', Active: true },
  { Id: '38', Name: 'Failed payouts', AcctNum: '1230', AccountType: 'Other Current Asset', Active: true },
  { Id: '39', Name: 'Settlement suspense', AcctNum: '1299', AccountType: 'Other Current Asset', Active: true },
];

const mapping = (id: string, name: string, suspenseAccount?: string) => ({
  id,
  type: 'tillwire-settlement-accounts',
  name,
  bankAccount: '1000',
  clearingAccount: '1200',
  reserveAccount: '1210',
  payableAccount: '2100',
  carriedForwardAccount: '1230',
  ...(suspenseAccount ? { suspenseAccount } : {}),
  accounts: [
    { key: 'principal', account: '4000' },
    { key: 'tax', account: '2200' },
    { key: 'fee', account: '6000' },
    { key: 'other', account: '6000' },
  ],
  trackChannel: 'amazon',
});

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  return [
    { id: 'tab', type: 'tab', label: 'settlements' },
    { id: 'st1', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    qboConfigNode(qbo),
    mapping('acc', 'Amazon US', '1299'),
    mapping('acc2', 'Amazon US without suspense'),
    // POST /settle { settlement, line }: line 2 is a second reconcile → journal whose mapping has no suspense account.
    { id: 'in', type: 'http in', z: 'tab', url: '/settle', method: 'post', wires: [['route', 'ack']] },
    {
      id: 'route',
      type: 'function',
      z: 'tab',
      func: 'const m = { payload: msg.payload.settlement };\nreturn msg.payload.line === 2 ? [null, m] : [m, null];',
      outputs: 2,
      wires: [['rec'], ['rec2']],
    },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'rec', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jr', 'ready'], ['held']] },
    { id: 'rec2', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jr2', 'ready'], ['held']] },
    { id: 'ready', type: 'function', z: 'tab', func: record('ready'), outputs: 1, wires: [] },
    { id: 'held', type: 'function', z: 'tab', func: record('held'), outputs: 1, wires: [] },
    { id: 'jr', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc', wires: [['qb']] },
    { id: 'jr2', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc2', wires: [['qb']] },
    { id: 'qb', type: 'tillwire-quickbooks', z: 'tab', quickbooks: 'q1', wires: [['jr', 'posted']] },
    { id: 'posted', type: 'function', z: 'tab', func: 'msg.payload = msg.posting;\n' + record('posted'), outputs: 1, wires: [] },
    { id: 'k1', type: 'catch', z: 'tab', scope: ['rec', 'rec2', 'jr', 'jr2', 'qb'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\n' + record('caught'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = Object.fromEntries(['ready', 'held', 'posted', 'caught'].map((k) => [k, flow.get(k) || []]));\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

/** A USD settlement of the seller: a sale with tax and a fee; `off` minor units more stated than the lines hold. */
function settlement(id: string, off = 0, extra: LineSpec[] = [], account = SELLER) {
  const lines: LineSpec[] = [
    ['principal', 10_000, { order: `${id}-1` }],
    ['tax', 800, { order: `${id}-1` }],
    ['fee', -1_500, { category: 'commission' }],
    ...extra,
  ];
  const s = makeSettlement({ id, currency: 'USD', lines, statedTotal: lines.reduce((t, l) => t + l[1], 0) + off });
  s.channel = { system: 'amazon', account, id };
  return s;
}

const token = (username: string, scope: string) => adminToken(red.url, username, PASSWORD, scope);

/** An admin API call: { status, body }. */
async function admin(method: 'GET' | 'POST' | 'PUT', route: string, bearer?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // 401 has no body
  }
  return { status: res.status, body: parsed };
}

const { call, until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 30_000 });

const held = async () => (await admin('GET', '/tillwire/settlements/held', auditor)).body.settlements as any[];
const release = (body: Record<string, unknown>, bearer = finance) => admin('POST', '/tillwire/settlements/release', bearer, body);

beforeAll(async () => {
  qbo = await startQbo({ accounts: [...DEFAULT_ACCOUNTS, ...EXTRA_ACCOUNTS] });
  // The login is on, so the QuickBooks credentials are written before the start (as npm start
  // writes the demo's), sealed with the credential secret the started Node-RED uses.
  process.env.TILLWIRE_CREDENTIAL_SECRET = 'test-secret';
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-release-'));
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(flowFile, JSON.stringify(flows()));
  writeDemoCredentials(userDir, flowFile, { q1: { clientId: qbo.clientId, clientSecret: qbo.clientSecret, refreshToken: qbo.currentRefreshToken } });
  red = await startNodeRed({
    via: 'red',
    userDir,
    settings: adminAuthSettings(PASSWORD, [
      { username: 'finance', permissions: '*' },
      { username: 'auditor', permissions: 'read' },
    ]),
  });
  finance = await token('finance', '*');
  auditor = await token('auditor', 'read');
  await until('flows started', async () => ((await admin('GET', '/tillwire/runtime', auditor)).body?.flowsStarted ?? 0) >= 1);
});

afterAll(async () => {
  await red?.stop();
  await qbo?.stop();
  if (secretBefore === undefined) delete process.env.TILLWIRE_CREDENTIAL_SECRET;
  else process.env.TILLWIRE_CREDENTIAL_SECRET = secretBefore;
});

it('lists a held settlement with its variance, refuses every bad release naming the problem, releases it once to suspense with who and why, and a repeat posts nothing', async () => {
  // A consistent settlement posts; S-HELD states 12.34 more than its lines; S-NOSUS is held on the line whose mapping has no suspense account.
  await call('/settle', { settlement: settlement('S-OK') });
  await call('/settle', { settlement: settlement('S-HELD', 1234) });
  await call('/settle', { settlement: settlement('S-NOSUS', 55), line: 2 });
  await until('one posted, two held', async () => qbo.journalEntries().length === 1 && (await call('/seen')).held.length === 2);

  // No login, and the read-only login for the release: refused by Node-RED's adminAuth.
  expect((await admin('GET', '/tillwire/settlements/held')).status).toBe(401);
  const [first] = (await held()).filter((s) => s.settlementId === 'S-HELD');
  expect(first).toMatchObject({
    system: 'amazon',
    account: SELLER,
    currency: 'USD',
    variance: -1234,
    varianceText: '-12.34 USD',
    state: 'held',
    releasable: true,
    fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    reasons: [expect.objectContaining({ kind: 'total', message: expect.stringMatching(/variance -12\.34 USD/) })],
  });
  const good = { system: 'amazon', account: SELLER, settlementId: 'S-HELD', fingerprint: first.fingerprint, reason: 'Amazon case 1234: fee credit missing' };
  expect((await release(good, '')).status).toBe(401);
  expect((await release(good, auditor)).status).toBe(401);

  // Bad requests, each named.
  const { reason: _r, ...noReason } = good;
  expect(await release(noReason)).toEqual({ status: 400, body: { error: expect.stringMatching(/^reason .* is required/) } });
  expect(await release({ ...good, reason: '   ' })).toEqual({ status: 400, body: { error: expect.stringMatching(/reason .* is required/) } });
  const { fingerprint: _f, ...noFingerprint } = good;
  expect((await release(noFingerprint)).body.error).toMatch(/^fingerprint .* is required/);
  expect((await release({ ...good, accept: 'bank' })).body.error).toMatch(/accept must be "suspense"/);
  // Another account's settlement: the id is held for SELLER-A, not for SELLER-B.
  expect(await release({ ...good, account: 'SELLER-B' })).toEqual({
    status: 404,
    body: {
      error:
        "settlement S-HELD of amazon account 'SELLER-B' is not in the settlement register: a settlement with that id is held for amazon account 'SELLER-A', not for this account",
    },
  });
  expect((await release({ ...good, settlementId: 'S-NONE' })).status).toBe(404);
  // A settlement that was posted.
  const ok = await release({ ...good, settlementId: 'S-OK' });
  expect(ok).toEqual({ status: 409, body: { error: 'settlement S-OK is posted, not held: nothing to release' } });
  // A mapping without a suspense account, named.
  const [nosus] = (await held()).filter((s) => s.settlementId === 'S-NOSUS');
  expect(nosus).toMatchObject({
    releasable: false,
    refusal: expect.stringMatching(/account mapping \(Amazon US without suspense\) of journal node jr2 has no suspense account/),
  });
  const refusedNoSuspense = await release({ ...good, settlementId: 'S-NOSUS', fingerprint: nosus.fingerprint });
  expect(refusedNoSuspense.status).toBe(409);
  expect(refusedNoSuspense.body.error).toMatch(
    /settlement S-NOSUS cannot be released to suspense: the account mapping \(Amazon US without suspense\) .* has no suspense account/,
  );

  // The channel reissues S-HELD with another line before anyone releases it: held again, as a new version.
  await call('/settle', { settlement: settlement('S-HELD', 1234, [['other', -66]]) });
  await until('the new version held', async () => (await call('/seen')).held.length === 3);
  const changed = await release(good);
  expect(changed.status).toBe(409);
  expect(changed.body.error).toMatch(new RegExp(`^settlement S-HELD changed: the version held now is [0-9a-f]{16}, not ${first.fingerprint}`));
  const versions = (await held()).filter((s) => s.settlementId === 'S-HELD');
  expect(versions.map((s) => s.releasable)).toEqual([false, true]);
  const current = versions[1];
  expect(current.fingerprint).not.toBe(first.fingerprint);
  expect(qbo.journalEntries()).toHaveLength(1);
  expect((await call('/seen')).ready.filter((r: any) => r.settlementId !== 'S-OK')).toEqual([]);

  // The release of the version held now, sent twice at once (once with the fingerprint in upper
  // case: the same hex version): recorded once, posted once.
  const body = { ...good, fingerprint: current.fingerprint };
  const [a, b] = await Promise.all([release(body), release({ ...body, fingerprint: current.fingerprint.toUpperCase() })]);
  expect([a.status, b.status]).toEqual([200, 200]);
  expect([a.body.released, b.body.released].sort()).toEqual([false, true]);
  const granted = (a.body.released ? a : b).body;
  expect(granted).toMatchObject({
    settlementId: 'S-HELD',
    account: SELLER,
    release: { fingerprint: current.fingerprint, accept: 'suspense', by: 'finance', via: 'admin-api', reason: good.reason, variance: '-1234' },
  });
  expect(Date.parse(granted.release.at)).not.toBeNaN();
  await until('released and posted', () => qbo.journalEntries().length === 2);
  const [entry] = qbo.journalEntries().slice(1);
  const suspense = entry.Line.filter((l: any) => l.JournalEntryLineDetail.AccountRef.value === '39');
  expect(suspense).toEqual([expect.objectContaining({ Amount: 12.34, JournalEntryLineDetail: expect.objectContaining({ PostingType: 'Credit' }) })]);
  const bank = entry.Line.filter((l: any) => l.JournalEntryLineDetail.AccountRef.value === '35');
  expect(bank).toEqual([expect.objectContaining({ Amount: 104.68, JournalEntryLineDetail: expect.objectContaining({ PostingType: 'Debit' }) })]);
  await until('ledger id reported back', async () => (await call('/seen')).posted.length === 2);
  const report = (await call('/seen')).ready.find((r: any) => r.settlementId === 'S-HELD');
  expect(report).toMatchObject({ outcome: 'ready', released: { by: 'finance', via: 'admin-api', reason: good.reason, variance: -1234 } });

  // The same release again: harmless; it says who released it and posts nothing.
  const again = await release(body);
  expect(again).toEqual({
    status: 200,
    body: expect.objectContaining({ released: false, state: 'posted', replayed: 0, release: granted.release }),
  });
  // Nothing more reaches the ledger: a later settlement posts, and it is the only new entry.
  await call('/settle', { settlement: settlement('S-LATER') });
  await until('the later settlement posted', async () => (await call('/seen')).posted.length === 3);
  expect(qbo.journalEntries()).toHaveLength(3);
  expect((await call('/seen')).ready.filter((r: any) => r.settlementId === 'S-HELD')).toHaveLength(1);
  // No longer listed as releasable; the stale first version names why it cannot be.
  const after = (await held()).filter((s) => s.settlementId === 'S-HELD');
  expect(after).toEqual([
    expect.objectContaining({ fingerprint: first.fingerprint, releasable: false, refusal: 'settlement S-HELD is posted, not held: nothing to release' }),
  ]);
  expect((await call('/seen')).caught).toEqual([]);
});

it('refuses to release a held settlement whose dead letter was edited since it was held, naming it, and keeps it listed; nothing posted', async () => {
  const postedBefore = qbo.journalEntries().length;
  const heldBefore = (await call('/seen')).held.length;
  await call('/settle', { settlement: settlement('S-EDIT', 500) });
  await call('/settle', { settlement: settlement('S-EDIT2', 700) });
  await until('both held', async () => (await call('/seen')).held.length === heldBefore + 2);
  const listed = Object.fromEntries((await held()).map((h) => [h.settlementId, h]));
  const edit = async (id: string, change: (payload: any) => void) => {
    const entry = (await admin('GET', `/tillwire/dead-letters/${listed[id].deadLetterId}`, finance)).body;
    change(entry.message.payload);
    const put = await admin('PUT', `/tillwire/dead-letters/${entry.id}`, finance, { message: entry.message, version: entry.version });
    expect(put.status).toBe(200);
  };
  const fee = (p: any) => p.lines.find((l: any) => l.type === 'fee');
  // Lines changed so the kept settlement no longer adds up to its net total; and lines and totals changed consistently (another version).
  await edit('S-EDIT', (p) => (fee(p).amount.amount -= 500));
  await edit('S-EDIT2', (p) => {
    fee(p).amount.amount -= 500;
    p.netTotal.amount -= 500;
    p.statedTotal.amount -= 500;
  });
  const body = (id: string) => ({ system: 'amazon', account: SELLER, settlementId: id, fingerprint: listed[id].fingerprint, reason: 'reviewed' });
  const invalid = await release(body('S-EDIT'));
  expect(invalid.status).toBe(409);
  expect(invalid.body.error).toMatch(/^settlement S-EDIT: its dead letter .* was edited since it was held and no longer holds a valid settlement \(.*netTotal/);
  const other = await release(body('S-EDIT2'));
  expect(other.status).toBe(409);
  expect(other.body.error).toMatch(
    new RegExp(
      `^settlement S-EDIT2: its dead letter .* was edited since it was held \\(it holds version [0-9a-f]{16}, not the held ${listed['S-EDIT2'].fingerprint}\\)`,
    ),
  );
  // Nothing released or posted; both still listed as held.
  expect((await held()).filter((h) => h.settlementId.startsWith('S-EDIT')).map((h) => [h.settlementId, h.state])).toEqual([
    ['S-EDIT', 'held'],
    ['S-EDIT2', 'held'],
  ]);
  expect(qbo.journalEntries()).toHaveLength(postedBefore);
});
