/**
 * The settlement register on the three store backends (memory, SQLite file, the real PostgreSQL):
 * a record written, read back and changed; two writers of one record both land (compare-and-set);
 * the next settlement of an account finds the latest posted one's summary, a held one is no
 * previous; ledger ids are recorded only for journals the record has.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createStore, StoreConfig } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { SettlementRegister, SettlementRecord, settlementOrder, storeSummary, type SettlementKey } from '../../nodes/ledger/settlement-register';
import { POSTGRES_URL, uniqueName } from '../support/services';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-sreg-'));
const pgSchema = uniqueName('tw_sreg');

const backends: Array<[string, () => StoreConfig]> = [
  ['memory', () => ({ backend: 'memory' })],
  ['sqlite', () => ({ backend: 'sqlite', file: path.join(tmp, `${uniqueName('s')}.db`) })],
  ['postgres', () => ({ backend: 'postgres', url: POSTGRES_URL, schema: pgSchema, max: 4 })],
];

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  const c = new Client({ connectionString: POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
  await c.end();
});

function record(key: SettlementKey, over: Partial<SettlementRecord> = {}): SettlementRecord {
  return {
    ...key,
    fingerprint: 'f1',
    periodEnd: '2026-11-14T00:00:00Z',
    state: 'posted',
    variances: [],
    summaryForNext: storeSummary({ settlementId: key.settlementId, reserveHeld: 12_345n, carriedForward: 0n }),
    journals: [
      {
        kind: 'journal',
        journalId: `settlement:${key.system}:${key.settlementId}:2026-11`,
        date: '2026-11-14',
        currency: 'USD',
        narration: 'settlement',
        lines: [],
      },
    ],
    ledgerIds: {},
    updatedAt: '',
    ...over,
  };
}

describe.each(backends)('settlement register: %s', (_name, config) => {
  let store: Store;
  let register: SettlementRegister;
  const account = () => uniqueName('seller');
  beforeEach(async () => {
    store = createStore(config(), tmp, { heartbeatMs: 0 });
    await store.open();
    register = new SettlementRegister(store);
  });
  afterEach(() => store.close());

  it('writes a record, reads it back and changes it; the summary keeps figures beyond 2^53 exactly', async () => {
    const key = { system: 'amazon', account: account(), settlementId: '2001' };
    expect(await register.get(key)).toBeUndefined();
    const big = 2n ** 60n + 7n;
    await register.update(key, () => record(key, { summaryForNext: storeSummary({ settlementId: '2001', reserveHeld: big, carriedForward: 5n }) }));
    const read = await register.get(key);
    expect(read).toMatchObject({ state: 'posted', fingerprint: 'f1', summaryForNext: { reserveHeld: big.toString(), carriedForward: '5' } });
    await register.update(key, (r) => ({ ...r!, state: 'reversed' }));
    expect((await register.get(key))!.state).toBe('reversed');
    // Another account's settlement of the same id is another record.
    expect(await register.get({ ...key, account: account() })).toBeUndefined();
  });

  it('two writers changing one record at once both land', async () => {
    const key = { system: 'amazon', account: account(), settlementId: '2002' };
    await register.update(key, () => record(key));
    const second = new SettlementRegister(store);
    await Promise.all([
      register.recordLedgerId(key, `settlement:amazon:2002:2026-11`, 'QB-1'),
      second.update(key, (r) => ({ ...r!, variances: [{ kind: 'note', message: 'checked' }] })),
    ]);
    const read = await register.get(key);
    expect(read!.ledgerIds).toEqual({ 'settlement:amazon:2002:2026-11': 'QB-1' });
    expect(read!.variances).toEqual([{ kind: 'note', message: 'checked' }]);
  });

  it("the ledger's answers for twenty journals of one settlement, recorded at once, all land", async () => {
    const key = { system: 'amazon', account: account(), settlementId: '2003' };
    const journals = Array.from({ length: 20 }, (_, i) => ({ ...record(key).journals[0], journalId: `settlement:amazon:2003:m${i}` }));
    await register.update(key, () => record(key, { journals }));
    await Promise.all(journals.map((j, i) => register.recordLedgerId(key, j.journalId, `QB-${i}`)));
    expect((await register.get(key))!.ledgerIds).toEqual(Object.fromEntries(journals.map((j, i) => [j.journalId, `QB-${i}`])));
  });

  it('the next settlement finds the latest posted one; a held settlement and an earlier period do not move it', async () => {
    const acct = account();
    const k1 = { system: 'amazon', account: acct, settlementId: '3001' };
    const k2 = { system: 'amazon', account: acct, settlementId: '3002' };
    const k3 = { system: 'amazon', account: acct, settlementId: '3003' };
    expect(await register.previousFor(k2)).toBeUndefined();
    await register.update(k2, () => record(k2, { periodEnd: '2026-11-28T00:00:00Z' }));
    await register.update(k1, () => record(k1, { periodEnd: '2026-11-14T00:00:00Z' }));
    await register.update(k3, () => record(k3, { state: 'held', periodEnd: '2026-12-12T00:00:00Z' }));
    expect(await register.previousFor(k3)).toEqual({ settlementId: '3002', reserveHeld: 12_345n, carriedForward: 0n });
    // A settlement is never its own previous.
    expect(await register.previousFor(k2)).toBeUndefined();
    // A record reconciled against a previous summary keeps it (a reissue or a recheck uses the same).
    await register.update(k3, (r) => ({ ...r!, previous: storeSummary({ settlementId: '3001', reserveHeld: 1n, carriedForward: 2n }) }));
    expect(await register.previousFor(k3)).toEqual({ settlementId: '3001', reserveHeld: 1n, carriedForward: 2n });
  });

  it('settlements of one period end, updated many times at once, all land; the pointer ends on the one issued last, then the highest id', async () => {
    // bol.com issues one invoice per period and currency; a short demo period shares its dates with
    // the day's others, and the journal answers of every settlement come back at once.
    const acct = account();
    const keys = Array.from({ length: 12 }, (_, i) => ({ system: 'bol', account: acct, settlementId: `45002026120510${String(i).padStart(2, '0')}` }));
    const issuedAt = (i: number) => `2026-12-05T10:${String(i % 6).padStart(2, '0')}:00Z`;
    await Promise.all(keys.map((k, i) => register.update(k, () => record(k, { periodEnd: '2026-12-05T00:00:00Z', issuedAt: issuedAt(i) }))));
    const answers = keys.flatMap((k) =>
      Array.from({ length: 4 }, (_, n) => register.recordLedgerId(k, `settlement:bol:${k.settlementId}:2026-11`, `X-${k.settlementId}-${n}`)),
    );
    expect(await Promise.all(answers)).toEqual(answers.map(() => true));
    // Issued last (10:05): settlements 5 and 11; of those the higher id.
    const next = { system: 'bol', account: acct, settlementId: '4500202612051200' };
    expect((await register.previousFor(next))?.settlementId).toBe(keys[11].settlementId);
    // A later update of an earlier-issued settlement does not move the pointer back.
    await register.recordLedgerId(keys[0], `settlement:bol:${keys[0].settlementId}:2026-11`, 'X-again');
    expect((await register.previousFor(next))?.settlementId).toBe(keys[11].settlementId);
    // The pointer's own settlement, reissued with another summary, updates it.
    const reissued = storeSummary({ settlementId: keys[11].settlementId, reserveHeld: 1n, carriedForward: 0n });
    await register.update(keys[11], (r) => ({ ...r!, summaryForNext: reissued }));
    expect((await register.previousFor(next))?.reserveHeld).toBe(1n);
  });

  it("a writer that lost to a newer version of its own settlement does not put the older summary back in the account's pointer", async () => {
    const key = { system: 'amazon', account: account(), settlementId: '6001' };
    const summary = (reserveHeld: bigint) => storeSummary({ settlementId: '6001', reserveHeld, carriedForward: 0n });
    await register.update(key, () => record(key, { summaryForNext: summary(1n) }));
    // The first pointer write of the reissue (summary 2) waits while a later version (summary 3) lands whole.
    let interleaved = false;
    const racing = new SettlementRegister({
      kvGet: (k) => store.kvGet(k),
      kvPut: async (k, value, expected) => {
        if (!interleaved && k.startsWith('settlement-latest:')) {
          interleaved = true;
          await register.update(key, (r) => ({ ...r!, summaryForNext: summary(3n) }));
        }
        return store.kvPut(k, value, expected);
      },
    });
    await racing.update(key, (r) => ({ ...r!, summaryForNext: summary(2n) }));
    expect(interleaved).toBe(true);
    expect((await register.get(key))!.summaryForNext.reserveHeld).toBe('3');
    expect((await register.previousFor({ ...key, settlementId: '6002' }))?.reserveHeld).toBe(3n);
  });

  it("an account paid out in several currencies chains each currency's settlements apart", async () => {
    const acct = account();
    const usd = { system: 'shopify', account: acct, settlementId: '5001' };
    const bhd = { system: 'shopify', account: acct, settlementId: '5002' };
    const nextUsd = { system: 'shopify', account: acct, settlementId: '5003' };
    await register.update(usd, () => record(usd, { currency: 'USD', periodEnd: '2026-12-04T21:00:00Z' }));
    // The BHD payout of the next hour is not reconciled against the USD reserve; the next USD payout is.
    expect(await register.previousFor(bhd, 'BHD')).toBeUndefined();
    await register.update(bhd, () => record(bhd, { currency: 'BHD', periodEnd: '2026-12-04T22:00:00Z' }));
    expect(await register.previousFor(nextUsd, 'USD')).toEqual({ settlementId: '5001', reserveHeld: 12_345n, carriedForward: 0n });
  });

  it('records a ledger id only for a journal of the settlement', async () => {
    const key = { system: 'amazon', account: account(), settlementId: '4001' };
    expect(await register.recordLedgerId(key, 'settlement:amazon:4001:2026-11', 'QB-9')).toBe(false);
    await register.update(key, () => record(key));
    expect(await register.recordLedgerId(key, 'settlement:amazon:9999:2026-11', 'QB-9')).toBe(false);
    expect(await register.recordLedgerId(key, 'settlement:amazon:4001:2026-11', 'QB-9')).toBe(true);
    expect((await register.get(key))!.ledgerIds).toEqual({ 'settlement:amazon:4001:2026-11': 'QB-9' });
  });

  it('records a release once, for the held version only; two releases at once land as one', async () => {
    const key = { system: 'amazon', account: account(), settlementId: '6001' };
    const release = (by: string, fingerprint = 'f1') =>
      ({ fingerprint, accept: 'suspense', by, via: 'admin-api', at: '2026-12-05T01:00:00.000Z', reason: `checked by ${by}`, variance: '-1234' }) as const;
    expect(await register.recordRelease(key, release('ann'))).toMatchObject({ release: undefined, fresh: false });
    await register.update(key, () => record(key, { state: 'posted' }));
    expect(await register.recordRelease(key, release('ann'))).toMatchObject({ release: undefined, fresh: false });
    await register.update(key, (r) => ({ ...r!, state: 'held' }));
    // Another version than the one held: nothing written.
    expect(await register.recordRelease(key, release('ann', 'f2'))).toMatchObject({ release: undefined, fresh: false });
    const second = new SettlementRegister(store);
    const both = await Promise.all([register.recordRelease(key, release('ann')), second.recordRelease(key, release('bob'))]);
    expect(both.map((b) => b.fresh).sort()).toEqual([false, true]);
    const winner = both.find((b) => b.fresh)!.release!;
    expect(both.find((b) => !b.fresh)!.release).toEqual(winner);
    expect((await register.get(key))!.releases).toEqual([winner]);
  });
});

it('orders settlements by period end, then issue, then id (numeric ids as numbers); a time one lacks does not decide', () => {
  const s = (settlementId: string, periodEnd?: string, issuedAt?: string) => ({ settlementId, periodEnd, issuedAt });
  expect(settlementOrder(s('1', '2026-12-02T00:00:00Z'), s('2', '2026-12-01T00:00:00Z'))).toBeGreaterThan(0);
  expect(settlementOrder(s('1', '2026-12-01', '2026-12-02T10:00:00Z'), s('2', '2026-12-01', '2026-12-02T09:00:00Z'))).toBeGreaterThan(0);
  expect(settlementOrder(s('1000', '2026-12-01'), s('999', '2026-12-01'))).toBeGreaterThan(0);
  expect(settlementOrder(s('0999', '2026-12-01'), s('1000', '2026-12-01'))).toBeLessThan(0);
  expect(settlementOrder(s('B-2'), s('A-9', undefined, '2026-12-05T00:00:00Z'))).toBeGreaterThan(0);
  expect(settlementOrder(s('7', '2026-12-01'), s('7', '2026-12-01'))).toBe(0);
});
