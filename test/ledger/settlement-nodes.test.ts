/**
 * `tillwire-reconcile` (mode settlement), `tillwire-journal` (mode settlement) and
 * `tillwire-settlement-accounts` in Node-RED: a consistent settlement becomes balanced journals
 * once, the same version again builds nothing, a reissue reverses and reposts; an inconsistent one
 * is held with its variance named and dead-lettered, a replay checks it again into the same entry,
 * a release books the variance to suspense; a stream with unreadable rows is held; bad input,
 * a bad release and a mapping that lacks accounts reach Catch with the reason.
 */
import storeNode from '../../nodes/core/store-config';
import journalNode from '../../nodes/ledger/journal';
import reconcileNode from '../../nodes/ledger/reconcile';
import accountsNode from '../../nodes/ledger/settlement-accounts';
import type { JournalEntry } from '../../nodes/model/types.generated';
import type { Store } from '../../nodes/runtime/store';
import { replay } from '../../nodes/runtime/dead-letter';
import { validateDocument } from '../../nodes/model/validate';
import { SettlementRegister } from '../../nodes/ledger/settlement-register';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { makeSettlement, streamSpec, type SettlementSpec } from './settlements';

const nodes = [storeNode, journalNode, reconcileNode, accountsNode];

const ACCOUNTS = {
  bankAccount: '1210',
  payableAccount: '2110',
  reserveAccount: '1220',
  carriedForwardAccount: '1230',
  clearingAccount: '1240',
  suspenseAccount: '1299',
  accounts: [
    { key: 'principal', account: '4000' },
    { key: 'tax', account: '2200' },
    { key: 'fee', account: '6100' },
    { key: 'fee/advertising', account: '6200' },
    { key: 'refund', account: '4050' },
  ],
  trackChannel: 'amazon',
  trackMarketplace: 'DE',
};

beforeEach(startServer);
afterEach(stopAll);

function flow(accounts: Record<string, unknown> = ACCOUNTS) {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'a1', type: 'tillwire-settlement-accounts', ...accounts },
    { id: 'r1', type: 'tillwire-reconcile', z: 'f1', store: 's1', mode: 'settlement', wires: [['j1', 'ready'], ['held']] },
    { id: 'j1', type: 'tillwire-journal', z: 'f1', store: 's1', mode: 'settlement', accounts: 'a1', wires: [['out']] },
    { id: 'ready', type: 'helper', z: 'f1' },
    { id: 'held', type: 'helper', z: 'f1' },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c', type: 'catch', z: 'f1', scope: ['r1', 'j1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

const SPEC: SettlementSpec = {
  id: 'S-100',
  lines: [
    ['principal', 10_000, { order: 'o-1' }],
    ['tax', 1_900, { order: 'o-1' }],
    ['fee', -1_500, { category: 'commission', order: 'o-1' }],
    ['fee', -300, { category: 'advertising' }],
  ],
};

const store = async (): Promise<Store> => (helper.getNode('s1') as any).manager.acquire();
const sum = (j: JournalEntry, side: 'debit' | 'credit') => j.lines.reduce((s, l) => s + (l[side]?.amount ?? 0), 0);
const lineOf = (j: JournalEntry, account: string) => j.lines.find((l) => l.account === account);

function expectBalanced(journals: JournalEntry[]) {
  for (const j of journals) {
    expect(validateDocument('journal-entry', j).errors).toEqual([]);
    expect(sum(j, 'debit')).toBe(sum(j, 'credit'));
  }
}

describe('settlement reconcile → journal', () => {
  it('posts a consistent settlement once: balanced journals, the register remembers them, the same version again builds nothing', async () => {
    await helper.load(nodes, flow());
    const built = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    const [msg] = await built;
    const journal: JournalEntry = msg.payload;
    expect(journal.journalId).toBe('settlement:amazon:S-100:2026-03');
    expectBalanced([journal]);
    expect(lineOf(journal, '1210')!.debit).toEqual({ amount: 10_100, currency: 'EUR' });
    expect(lineOf(journal, '6200')!.debit).toEqual({ amount: 300, currency: 'EUR' });
    expect(lineOf(journal, '4000')!.tracking).toEqual({ channel: 'amazon', marketplace: 'DE' });
    const register = new SettlementRegister(await store());
    const key = { system: 'amazon', account: 'A3TWDEMOSELLER', settlementId: 'S-100' };
    await until(async () => (await register.get(key))?.state === 'posted');
    expect((await register.get(key))!.journals.map((j) => j.journalId)).toEqual(['settlement:amazon:S-100:2026-03']);

    // The poster's answer wired back records the ledger id.
    helper.getNode('j1').receive({ payload: journal, posting: { journalId: journal.journalId, status: 'posted', entryId: 'QB-77' } });
    await until(async () => (await register.get(key))!.ledgerIds[journal.journalId] === 'QB-77');
    // So does tillwire-xero's (msg.xero, the ManualJournalID), as when the same mapping posts to Xero.
    helper.getNode('j1').receive({ payload: journal, xero: { journalId: journal.journalId, manualJournalId: 'XJ-5', status: 'POSTED', outcome: 'created' } });
    await until(async () => (await register.get(key))!.ledgerIds[journal.journalId] === 'XJ-5');

    const again = collect(helper.getNode('ready'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    const [report] = await again;
    expect(report.payload).toMatchObject({ outcome: 'already-posted', settlementId: 'S-100', linesTotal: 10_100 });
    // A later settlement goes through; only its journal arrives, none for the repeat.
    const next = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, id: 'S-101', periodStart: '2026-03-15T00:00:00Z', periodEnd: '2026-03-29T00:00:00Z' }) });
    expect((await next)[0].payload.journalId).toBe('settlement:amazon:S-101:2026-03');
  });

  it('the same settlement twice at once is posted once', async () => {
    await helper.load(nodes, flow());
    const got: JournalEntry[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m.payload));
    const checked = collect(helper.getNode('ready'), 2);
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    await checked;
    // A later settlement after both: when its journal arrives, the pair has been dealt with.
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, id: 'S-101', periodStart: '2026-03-15T00:00:00Z', periodEnd: '2026-03-29T00:00:00Z' }) });
    await until(() => got.some((j) => j.journalId.includes('S-101')));
    expect(got.map((j) => j.journalId)).toEqual(['settlement:amazon:S-100:2026-03', 'settlement:amazon:S-101:2026-03']);
  });

  it('a reissue with other figures reverses what was posted, then posts revision 1', async () => {
    await helper.load(nodes, flow());
    const first = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, issuedAt: '2026-03-16T08:00:00Z' }) });
    const [posted] = await first;
    const reissue = collect(helper.getNode('out'), 2);
    const lines = [...SPEC.lines, ['refund', -700, { order: 'o-1' }]] as SettlementSpec['lines'];
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, lines, issuedAt: '2026-03-18T08:00:00Z' }) });
    const [reversal, repost] = (await reissue).map((m) => m.payload as JournalEntry);
    expect(reversal.journalId).toBe(`${posted.payload.journalId}:reversal`);
    expect(lineOf(reversal, '1210')!.credit).toEqual({ amount: 10_100, currency: 'EUR' });
    expect(repost.journalId).toBe('settlement:amazon:S-100:2026-03:r1');
    expect(lineOf(repost, '1210')!.debit).toEqual({ amount: 9_400, currency: 'EUR' });
    expectBalanced([reversal, repost]);
  });

  it('holds an inconsistent settlement with the variance named, dead-letters it; a replay checks again into the same entry; a release posts it with the variance in suspense', async () => {
    await helper.load(nodes, flow());
    const held = collect(helper.getNode('held'), 1);
    // The channel states 1.00 less than the lines: e.g. a missing fee line.
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, statedTotal: 10_000 }) });
    const [h] = await held;
    expect(h.topic).toBe('settlement.held');
    expect(h.payload).toMatchObject({ outcome: 'held', status: 'inconsistent', variance: 100, statedTotal: 10_000, linesTotal: 10_100, postable: false });
    expect(h.payload.held[0].message).toMatch(/variance 1\.00 EUR.*usually explained by/);
    expect(h.settlement).toBeUndefined();
    const s = await store();
    const [entry] = await s.listDeadLetters({});
    expect(entry).toMatchObject({
      id: h.payload.deadLetterId,
      status: 'pending',
      error: { code: 'settlement-held', cause: { settlementId: 'S-100', variance: '100' } },
    });
    expect(entry.message.payload).toMatchObject({ kind: 'settlement', settlementId: 'S-100', lines: expect.any(Array) });

    // Replay: the same check again, the same entry (second attempt), still nothing posted.
    const heldAgain = collect(helper.getNode('held'), 1);
    await replay(s, { ids: [entry.id] }, (msg) => helper.getNode('r1').receive(msg));
    expect((await heldAgain)[0].payload.deadLetterId).toBe(entry.id);
    await until(async () => (await s.getDeadLetter(entry.id))!.status === 'pending');
    expect((await s.getDeadLetter(entry.id))!.attempts).toBe(2);
    expect(await s.countDeadLetters({})).toBe(1);

    const released = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ release: { settlementId: 'S-100', system: 'amazon', account: 'A3TWDEMOSELLER', accept: 'suspense' } });
    const journal: JournalEntry = (await released)[0].payload;
    expectBalanced([journal]);
    expect(lineOf(journal, '1210')!.debit).toEqual({ amount: 10_000, currency: 'EUR' });
    expect(lineOf(journal, '1299')!.debit).toEqual({ amount: 100, currency: 'EUR' });
    expect((await s.getDeadLetter(entry.id))!.status).toBe('replayed');
    // The register keeps the release of that version, with the flow as its origin.
    const record = await new SettlementRegister(s).get({ system: 'amazon', account: 'A3TWDEMOSELLER', settlementId: 'S-100' });
    expect(record).toMatchObject({
      state: 'posted',
      releases: [{ fingerprint: record!.fingerprint, by: null, via: 'msg.release', variance: '100', reason: '' }],
    });
    // Released and posted: the same file again is already posted, not held again.
    const again = collect(helper.getNode('ready'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, statedTotal: 10_000 }) });
    expect((await again)[0].payload.outcome).toBe('already-posted');
  });

  it('a release with other lines under the held id is refused: only the version that was held can be released to suspense', async () => {
    await helper.load(nodes, flow());
    const held = collect(helper.getNode('held'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, statedTotal: 10_000 }) });
    await held;
    const caught = collect(helper.getNode('caught'), 1);
    const out = collect(helper.getNode('out'), 1);
    // Someone adds a line of 100,000.00 and asks for the difference to go to suspense.
    const padded = makeSettlement({ ...SPEC, lines: [...SPEC.lines, ['principal', 10_000_000]], statedTotal: 10_000 });
    helper.getNode('r1').receive({ payload: padded, release: { settlementId: 'S-100', system: 'amazon', account: 'A3TWDEMOSELLER', accept: 'suspense' } });
    const [c] = await caught;
    expect(c.error.message).toMatch(/not the version that was held/);
    // Still held: the reviewed version can still be released, and it posts only its own variance.
    helper.getNode('r1').receive({ release: { settlementId: 'S-100', system: 'amazon', account: 'A3TWDEMOSELLER', accept: 'suspense' } });
    const journal: JournalEntry = (await out)[0].payload;
    expect(lineOf(journal, '1299')!.debit).toEqual({ amount: 100, currency: 'EUR' });
  });

  it('a corrected version of a held settlement is posted and its dead letter is done', async () => {
    await helper.load(nodes, flow());
    const held = collect(helper.getNode('held'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, statedTotal: 10_000 }) });
    const [h] = await held;
    const built = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, lines: [...SPEC.lines, ['fee', -100, { category: 'storage' }]], statedTotal: 10_000 }) });
    expect(lineOf((await built)[0].payload, '1210')!.debit).toEqual({ amount: 10_000, currency: 'EUR' });
    expect((await (await store()).getDeadLetter(h.payload.deadLetterId))!.status).toBe('replayed');
  });

  it('holds a streamed settlement whose source could not read every row', async () => {
    await helper.load(nodes, flow());
    const held = collect(helper.getNode('held'), 1);
    const stream = streamSpec(SPEC);
    helper.getNode('r1').receive({ payload: { ...stream, tally: { problems: 2 }, postable: () => false } });
    const [h] = await held;
    expect(h.payload.held[0]).toMatchObject({ kind: 'source-rows', message: expect.stringMatching(/^2 rows of the settlement file could not be read/) });
    // The report says why in words: its sums (of the rows read) are consistent, which alone would mislead.
    expect(h.payload).toMatchObject({
      outcome: 'held',
      status: 'consistent',
      reason: expect.stringMatching(/^2 rows of the settlement file could not be read/),
    });
  });

  it('a reserve release that does not match what the previous settlement held is held', async () => {
    await helper.load(nodes, flow({ ...ACCOUNTS, reserveAccount: '1220' }));
    const first = collect(helper.getNode('out'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, lines: [...SPEC.lines, ['reserve', -2_000, { category: 'held' }]] }) });
    await first;
    const held = collect(helper.getNode('held'), 1);
    const next = { ...SPEC, id: 'S-102', periodStart: '2026-03-15T00:00:00Z', periodEnd: '2026-03-29T00:00:00Z' };
    helper.getNode('r1').receive({ payload: makeSettlement({ ...next, lines: [...SPEC.lines, ['reserve', 1_500, { category: 'released' }]] }) });
    const [h] = await held;
    expect(h.payload.held).toEqual([
      expect.objectContaining({ kind: 'reserve-carry', message: expect.stringMatching(/releases 15\.00 EUR.*S-100 held 20\.00 EUR/) }),
    ]);
  });

  it('bad input, a bad release and a mapping that lacks accounts reach Catch with the reason', async () => {
    await helper.load(nodes, flow({ ...ACCOUNTS, accounts: [{ key: 'principal', account: '4000' }] }));
    const caught = collect(helper.getNode('caught'), 5);
    helper.getNode('r1').receive({ payload: 'settlement please' });
    helper.getNode('r1').receive({ payload: { ...makeSettlement(SPEC), netTotal: { amount: 1, currency: 'EUR' } } });
    helper.getNode('r1').receive({ release: { settlementId: 'NOPE', system: 'amazon', account: 'A3TWDEMOSELLER', accept: 'suspense' } });
    helper.getNode('r1').receive({ release: { settlementId: 'S-100', system: 'amazon', accept: 'ignore' } });
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    const messages = (await caught).map((m) => m.error.message);
    expect(messages).toHaveLength(5);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^SettlementJournalError: the account mapping cannot post settlement S-100: no account for tax .*accounts\['fee\/commission'\] or accounts\['fee'\]$/,
        ),
        expect.stringMatching(/^SettlementInputError: msg\.payload must be a canonical Settlement/),
        expect.stringMatching(/^SettlementInputError: the settlement is not valid: netTotal 0\.01 EUR/),
        expect.stringMatching(/^SettlementInputError: msg\.release\.accept must be "suspense"/),
        expect.stringMatching(/^SettlementInputError: settlement NOPE \(amazon A3TWDEMOSELLER\) is not in the settlement register/),
      ]),
    );
  });

  it('a mapping without a bank account is named on the journal node and stops it', async () => {
    await helper.load(nodes, flow({ ...ACCOUNTS, bankAccount: '' }));
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    const [c] = await caught;
    expect(c.error.message).toBe('Error: journal: the settlement account mapping cannot be used: bankAccount is missing: the account the payout is paid into');
    expect(c.error.source.id).toBe('j1');
  });
});
