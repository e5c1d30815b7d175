/**
 * Control totals across the chain: the pure report builder (chain-totals.ts), the day in a time
 * zone, what "posted" means, the register listing; and in Node-RED (node logic only) the reconcile
 * node recording the orders of a settlement that passes (not of one it holds, a reissue replacing
 * them, a failed write reported while the settlement goes on) and the channel-totals node's
 * rejections of a bad day, channel filter or time zone.
 */
import storeNode from '../../nodes/core/store-config';
import reconcileNode from '../../nodes/ledger/reconcile';
import journalNode from '../../nodes/ledger/journal';
import journalFileNode from '../../nodes/ledger/journal-file';
import accountsNode from '../../nodes/ledger/settlement-accounts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import channelTotalsNode from '../../nodes/ledger/channel-totals';
import type { JournalEntry } from '../../nodes/model/types.generated';
import type { ChainOrder, OrderIndexEntry, SettledOrder, Store } from '../../nodes/runtime/store';
import {
  addDays,
  ChainTotalsBuilder,
  checkChannel,
  checkDay,
  dayRange,
  ledgerLookupOf,
  RegisterDigest,
  unpostedSettlements,
} from '../../nodes/ledger/chain-totals';
import { isPosted, ledgerStatus, SettlementRegister, type SettlementRecord } from '../../nodes/ledger/settlement-register';
import { createStore } from '../../nodes/runtime/create-store';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { makeSettlement, type SettlementSpec } from './settlements';

describe('the day in a time zone', () => {
  it('is [local midnight, next local midnight), 23 or 25 hours across a daylight-saving change', () => {
    expect(dayRange('2026-10-06', 'UTC')).toEqual({ from: Date.parse('2026-10-06T00:00:00Z'), to: Date.parse('2026-10-07T00:00:00Z') });
    expect(dayRange('2026-10-06', 'Europe/Berlin')).toEqual({ from: Date.parse('2026-10-05T22:00:00Z'), to: Date.parse('2026-10-06T22:00:00Z') });
    const spring = dayRange('2026-03-29', 'Europe/Berlin');
    expect([new Date(spring.from).toISOString(), (spring.to - spring.from) / 3_600_000]).toEqual(['2026-03-28T23:00:00.000Z', 23]);
    const fall = dayRange('2026-11-01', 'America/New_York');
    expect([new Date(fall.from).toISOString(), (fall.to - fall.from) / 3_600_000]).toEqual(['2026-11-01T04:00:00.000Z', 25]);
    expect(dayRange('2026-10-06', 'Asia/Kolkata').from).toBe(Date.parse('2026-10-05T18:30:00Z'));
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(() => dayRange('2026-10-06', 'Mars/Olympus')).toThrow("unknown time zone 'Mars/Olympus'");
  });

  it('rejects a malformed or impossible day and a malformed channel filter, naming them', () => {
    expect(checkDay('2028-02-29')).toBe('2028-02-29');
    expect(() => checkDay('2026-02-30')).toThrow("msg.day '2026-02-30' is not a calendar date");
    expect(() => checkDay('6.10.2026')).toThrow(`msg.day must be a date 'YYYY-MM-DD', got "6.10.2026"`);
    expect(() => checkDay(20261006)).toThrow("msg.day must be a date 'YYYY-MM-DD', got 20261006");
    expect(checkChannel(undefined)).toBeUndefined();
    expect(checkChannel({ system: 'amazon', account: 'A1' })).toEqual({ system: 'amazon', account: 'A1' });
    expect(() => checkChannel({ account: 'A1' })).toThrow('msg.channel must be { system');
    expect(() => checkChannel('amazon')).toThrow('msg.channel must be { system');
  });
});

const journal = (journalId: string): JournalEntry =>
  ({ kind: 'journal', journalId, date: '2026-10-06', currency: 'EUR', lines: [], attributes: {} }) as unknown as JournalEntry;

function record(settlementId: string, over: Partial<SettlementRecord> = {}): SettlementRecord {
  return {
    system: 'amazon',
    account: 'A1',
    settlementId,
    fingerprint: 'f',
    state: 'posted',
    variances: [],
    summaryForNext: { settlementId, reserveHeld: '0', carriedForward: '0' },
    journals: [journal(`settlement:amazon:${settlementId}:2026-10`)],
    ledgerIds: { [`settlement:amazon:${settlementId}:2026-10`]: 'XJ-1' },
    updatedAt: '2026-10-06T06:00:00.000Z',
    ...over,
  };
}

describe('posted in the ledger', () => {
  it('means posted (or carried forward) with a ledger id for every journal built, a reissue’s reversals included', () => {
    expect(isPosted(record('S1'))).toBe(true);
    expect(isPosted(record('S1', { state: 'carried-forward' }))).toBe(true);
    expect(isPosted(record('S1', { state: 'held' }))).toBe(false);
    expect(isPosted(record('S1', { ledgerIds: {} }))).toBe(false);
    const reissued = record('S1', { journals: [journal('j'), journal('j:reversal'), journal('j:r1')], ledgerIds: { j: '1', 'j:r1': '3' } });
    expect(isPosted(reissued)).toBe(false);
    expect(isPosted({ ...reissued, ledgerIds: { ...reissued.ledgerIds, 'j:reversal': '2' } })).toBe(true);
  });

  it('unposted settlements: held or unconfirmed, older than the hours, oldest first; posted and reversed ones are not', () => {
    const now = Date.parse('2026-10-07T06:00:00Z');
    const records = [
      record('posted'),
      record('held', { state: 'held', variances: [{ kind: 'total', message: 'off by 1' }], deadLetterId: 'D1', updatedAt: '2026-10-05T06:00:00.000Z' }),
      record('unconfirmed', { ledgerIds: {} }),
      record('recent', { state: 'held', updatedAt: '2026-10-07T00:00:00.000Z' }),
      record('reversed', { state: 'reversed', ledgerIds: {} }),
    ];
    const out = unpostedSettlements(records, now, 24 * 3_600_000);
    expect(out).toEqual([
      {
        system: 'amazon',
        account: 'A1',
        settlementId: 'held',
        reason: 'held',
        state: 'held',
        variances: [{ kind: 'total', message: 'off by 1' }],
        journalsWithoutLedgerId: [],
        deadLetterId: 'D1',
        since: '2026-10-05T06:00:00.000Z',
        hours: 48,
      },
      {
        system: 'amazon',
        account: 'A1',
        settlementId: 'unconfirmed',
        reason: 'unconfirmed',
        state: 'posted',
        variances: [],
        journalsWithoutLedgerId: ['settlement:amazon:unconfirmed:2026-10'],
        since: '2026-10-06T06:00:00.000Z',
        hours: 24,
      },
    ]);
  });
});

describe('written for import (a journal file)', () => {
  it('is its own status: not posted, not pending; a file never replaces an id the ledger confirmed', async () => {
    const written = record('W', { ledgerIds: { 'settlement:amazon:W:2026-10': 'file:settlement-amazon-W-2026-10.csv' } });
    expect([ledgerStatus(written), isPosted(written), ledgerStatus(record('P')), ledgerStatus(record('U', { ledgerIds: {} }))]).toEqual([
      'written',
      false,
      'posted',
      'pending',
    ]);
    const now = Date.parse('2026-10-09T06:00:00Z');
    expect(unpostedSettlements([written, record('U', { ledgerIds: {} })], now, 0).map((u) => u.settlementId)).toEqual(['U']);

    const store = createStore({ backend: 'memory' }, '/tmp');
    await store.open();
    try {
      const register = new SettlementRegister(store);
      const key = { system: 'amazon', account: 'A1', settlementId: 'S9' };
      const jid = 'settlement:amazon:S9:2026-10';
      await register.update(key, () => record('S9', { ledgerIds: {} }));
      await register.recordLedgerId(key, jid, 'file:a.csv');
      expect(ledgerStatus((await register.get(key))!)).toBe('written');
      await register.recordLedgerId(key, jid, 'XJ-9');
      await register.recordLedgerId(key, jid, 'file:a.csv');
      expect((await register.get(key))!.ledgerIds[jid]).toBe('XJ-9');
    } finally {
      await store.close();
    }
  });
});

describe('the channel day report', () => {
  const day = { day: '2026-10-06', timeZone: 'UTC', ...dayRange('2026-10-06', 'UTC') };
  const order = (orderId: string, over: Partial<OrderIndexEntry> = {}): OrderIndexEntry => ({
    system: 'amazon',
    account: 'A1',
    orderId,
    gross: 1000,
    currency: 'EUR',
    seenAt: '2026-10-06T10:00:00.000Z',
    erpSystem: 'odoo',
    erpRef: `ERP-${orderId}`,
    erpAt: '2026-10-06T10:01:00.000Z',
    placedAt: '2026-10-06T10:00:00.000Z',
    status: 'paid',
    ...over,
  });
  const settled = (orderId: string, settlementId: string, charged: number, currency = 'EUR'): SettledOrder => ({
    system: 'amazon',
    account: 'A1',
    orderId,
    settlementId,
    charged,
    net: charged - 150,
    currency,
    settledAt: '2026-10-06T12:00:00.000Z',
  });

  it('counts and values each column, lists the orders behind each difference, cancelled ones apart', () => {
    const posted = ledgerLookupOf([record('S-posted'), record('S-held', { state: 'held' })]);
    const b = new ChainTotalsBuilder(day, posted, 2);
    const feed: ChainOrder[] = [
      { order: order('a'), settled: [settled('a', 'S-posted', 1000)] },
      // Settled in two parts: one posted, one held.
      { order: order('b', { gross: 2500 }), settled: [settled('b', 'S-posted', 1500), settled('b', 'S-held', 900)] },
      { order: order('c', { erpRef: null, erpSystem: null }), settled: [] },
      { order: order('d', { erpRef: null, erpSystem: null, gross: 300 }), settled: [] },
      { order: order('e', { erpRef: null, erpSystem: null, gross: 200 }), settled: [] },
      { order: order('x', { status: 'cancelled', gross: 4000 }), settled: [] },
      { order: order('erp-only', { seenAt: null, gross: null, currency: null }), settled: [] },
      // Another currency of the same account is another report.
      { order: order('usd', { currency: 'USD', gross: 700 }), settled: [settled('usd', 'S-posted', 700, 'USD')] },
    ];
    for (const o of feed) b.addOrder(o);
    b.addSettledUnseen(settled('ghost', 'S-posted', 800));
    b.addSettledUnseen(settled('ghost', 'S-held', 100));
    const [eur, usd, none] = [...b.build()].sort((x, y) => (x.currency === 'EUR' ? -1 : y.currency === 'EUR' ? 1 : x.currency < y.currency ? 1 : -1));
    expect(eur).toMatchObject({
      system: 'amazon',
      account: 'A1',
      currency: 'EUR',
      day: '2026-10-06',
      from: '2026-10-06T00:00:00.000Z',
      to: '2026-10-07T00:00:00.000Z',
      channel: { count: 5, value: 5000 },
      erp: { count: 2, value: 3500 },
      settled: { count: 2, value: 3400 },
      posted: { count: 1, value: 2500 },
      cancelled: { count: 1, value: 4000 },
      balanced: false,
    });
    const d = eur.differences;
    expect(d.notInErp).toMatchObject({ count: 3, value: 1500, more: 1 });
    expect(d.notInErp.orders.map((o) => o.orderId)).toEqual(['c', 'd']);
    expect(d.notSettled).toMatchObject({ count: 3, value: 1500, more: 1 });
    expect(d.settledNotPosted).toMatchObject({ count: 1, value: 900, more: 0 });
    expect(d.settledNotPosted.orders[0]).toEqual({
      orderId: 'b',
      placedAt: '2026-10-06T10:00:00.000Z',
      gross: 2500,
      erpRef: 'ERP-b',
      settlements: [
        { settlementId: 'S-posted', charged: 1500, settledAt: '2026-10-06T12:00:00.000Z', posted: true, writtenForImport: false },
        { settlementId: 'S-held', charged: 900, settledAt: '2026-10-06T12:00:00.000Z', posted: false, writtenForImport: false },
      ],
    });
    expect(d.settledNotSeen).toMatchObject({ count: 1, value: 900 });
    expect(d.settledNotSeen.orders[0].settlements!.map((s) => s.posted)).toEqual([true, false]);
    expect(usd).toMatchObject({ currency: 'USD', channel: { count: 1, value: 700 }, posted: { count: 1, value: 700 }, balanced: true });
    expect(none).toMatchObject({ currency: '', channel: { count: 0, value: 0 }, balanced: false });
    expect(none.differences.inErpNotSeen.orders.map((o) => o.orderId)).toEqual(['erp-only']);
  });

  it('a settlement written as a journal file counts as written, not posted nor a difference; an order settled only in another currency is named', () => {
    const status = ledgerLookupOf([record('S-posted'), record('S-file', { ledgerIds: { 'settlement:amazon:S-file:2026-10': 'file:x.csv' } })]);
    const b = new ChainTotalsBuilder(day, status);
    b.addOrder({ order: order('a'), settled: [settled('a', 'S-file', 1000)] });
    b.addOrder({ order: order('b', { gross: 2000 }), settled: [settled('b', 'S-posted', 1200), settled('b', 'S-file', 800)] });
    b.addOrder({ order: order('c'), settled: [settled('c', 'S-posted', 1000)] });
    b.addOrder({ order: order('usd-paid'), settled: [settled('usd-paid', 'S-posted', 1100, 'USD')] });
    const [r] = b.build();
    expect(r).toMatchObject({
      channel: { count: 4, value: 5000 },
      settled: { count: 3, value: 4000 },
      posted: { count: 1, value: 2200 },
      written: { count: 2, value: 1800 },
      balanced: false,
    });
    expect(r.differences.settledNotPosted.count).toBe(0);
    expect(r.differences.notSettled.count).toBe(0);
    expect(r.differences.settledOtherCurrency).toMatchObject({ count: 1, value: 1000 });
    expect(r.differences.settledOtherCurrency.orders[0].settlements).toEqual([
      { settlementId: 'S-posted', charged: 1100, settledAt: '2026-10-06T12:00:00.000Z', posted: true, writtenForImport: false, currency: 'USD' },
    ]);
  });

  it('an order settled in parts and never seen is one order, listed or beyond the list', () => {
    const b = new ChainTotalsBuilder(day, ledgerLookupOf([]), 1);
    for (const [id, s, charged] of [
      ['g1', 'S1', 100],
      ['g1', 'S2', 50],
      ['g2', 'S1', 10],
      ['g2', 'S2', 5],
    ] as const)
      b.addSettledUnseen(settled(id, s, charged));
    const l = b.build()[0].differences.settledNotSeen;
    expect(l).toMatchObject({ count: 2, value: 165, more: 1 });
    expect(l.orders).toEqual([
      { orderId: 'g1', settlements: [expect.objectContaining({ settlementId: 'S1' }), expect.objectContaining({ settlementId: 'S2' })] },
    ]);
  });

  it('the register digest keeps posted keys and the unposted records without their journal lines', () => {
    const digest = new RegisterDigest();
    const unconfirmed = record('U', { ledgerIds: {} });
    unconfirmed.journals[0] = { ...unconfirmed.journals[0], lines: [{ account: '1000' }] } as unknown as JournalEntry;
    for (const r of [record('P'), unconfirmed, record('R', { state: 'reversed' })]) digest.add(r);
    expect([digest.count, digest.status('amazon', 'A1', 'P'), digest.status('amazon', 'A1', 'U'), digest.status('amazon', 'A2', 'P')]).toEqual([
      3,
      'posted',
      'pending',
      'pending',
    ]);
    expect(digest.pending.map((r) => [r.settlementId, r.journals])).toEqual([['U', [{ journalId: 'settlement:amazon:U:2026-10' }]]]);
  });

  it('a day with everything through the chain is balanced, with not-yet-settled orders allowed', () => {
    const b = new ChainTotalsBuilder(day, ledgerLookupOf([record('S1')]));
    b.addOrder({ order: order('a'), settled: [settled('a', 'S1', 1000)] });
    b.addOrder({ order: order('b'), settled: [] });
    const [r] = b.build();
    expect(r).toMatchObject({ channel: { count: 2, value: 2000 }, settled: { count: 1, value: 1000 }, posted: { count: 1, value: 1000 }, balanced: true });
    expect(r.differences.notSettled.count).toBe(1);
  });
});

describe('the settlement register listing', () => {
  it('lists every record of a system, or of one account, across pages, and nothing of another system', async () => {
    const store = createStore({ backend: 'memory' }, '/tmp');
    await store.open();
    try {
      const register = new SettlementRegister(store);
      for (let i = 0; i < 1203; i++) {
        const account = i % 3 === 0 ? 'A:1' : 'A2';
        await register.update({ system: 'amazon', account, settlementId: `S${i}` }, () => record(`S${i}`, { account }));
      }
      await register.update({ system: 'amazonx', account: 'A2', settlementId: 'Z' }, () => record('Z', { system: 'amazonx' }));
      const all: SettlementRecord[] = [];
      for await (const r of register.list({ system: 'amazon' })) all.push(r);
      expect(all).toHaveLength(1203);
      expect(new Set(all.map((r) => r.settlementId)).size).toBe(1203);
      let one = 0;
      for await (const r of register.list({ system: 'amazon', account: 'A:1' })) one += r.account === 'A:1' ? 1 : 1000;
      expect(one).toBe(401);
      let everything = 0;
      for await (const _ of register.list()) everything++;
      expect(everything).toBe(1204);
    } finally {
      await store.close();
    }
  });
});

describe('in Node-RED', () => {
  beforeEach(startServer);
  afterEach(stopAll);

  const flow = [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'r1', type: 'tillwire-reconcile', z: 'f1', store: 's1', mode: 'settlement', wires: [['ready'], ['held']] },
    { id: 'ct', type: 'tillwire-channel-totals', z: 'f1', store: 's1', timeZone: 'Europe/Berlin', wires: [['rep'], ['unposted'], ['unsettled']] },
    { id: 'ready', type: 'helper', z: 'f1' },
    { id: 'held', type: 'helper', z: 'f1' },
    { id: 'rep', type: 'helper', z: 'f1' },
    { id: 'unposted', type: 'helper', z: 'f1' },
    { id: 'unsettled', type: 'helper', z: 'f1' },
    { id: 'c', type: 'catch', z: 'f1', scope: ['r1', 'ct'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
  const nodes = [storeNode, reconcileNode, channelTotalsNode];
  const store = async (): Promise<Store> => (helper.getNode('s1') as any).manager.acquire();
  const SPEC: SettlementSpec = {
    id: 'S-1',
    lines: [
      ['principal', 10_000, { order: 'o-1' }],
      ['tax', 1_900, { order: 'o-1' }],
      ['fee', -1_500, { category: 'commission', order: 'o-1' }],
      ['principal', 5_000, { order: 'o-2' }],
      ['fee', -300, { category: 'advertising' }],
    ],
  };
  const rowsOf = async (s: Store) =>
    (await s.chainOrders({ from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER }))
      .flatMap((o) => o.settled)
      .map((r) => [r.orderId, r.settlementId, r.charged, r.net]);

  it('reconcile records the settled orders of a settlement that passes, in the settlement’s day; a reissue replaces them; a held one records nothing', async () => {
    await helper.load(nodes, flow);
    const s = await store();
    await s.orderSeen([
      { system: 'amazon', account: 'A3TWDEMOSELLER', orderId: 'o-1', gross: 11_900, currency: 'EUR', placedAt: '2026-03-05T10:00:00Z' },
      { system: 'amazon', account: 'A3TWDEMOSELLER', orderId: 'o-2', gross: 5_000, currency: 'EUR', placedAt: '2026-03-05T11:00:00Z' },
    ]);
    const ready = collect(helper.getNode('ready'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement(SPEC) });
    await ready;
    expect(await rowsOf(s)).toEqual([
      ['o-1', 'S-1', 11_900, 10_400],
      ['o-2', 'S-1', 5_000, 5_000],
    ]);
    const [first] = await s.chainOrders({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(first.settled[0].settledAt).toBe('2026-03-17T00:00:00.000Z'); // the deposit date

    // A corrected version: o-2 is gone from it, o-1 charged less.
    const reissue: SettlementSpec = { ...SPEC, issuedAt: '2026-03-20T00:00:00Z', lines: [['principal', 9_000, { order: 'o-1' }]] };
    const again = collect(helper.getNode('ready'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement(reissue) });
    await again;
    expect(await rowsOf(s)).toEqual([['o-1', 'S-1', 9_000, 9_000]]);

    // Held (its lines do not add up to the stated total): nothing recorded for it.
    const held = collect(helper.getNode('held'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ id: 'S-2', statedTotal: 1, lines: [['principal', 100, { order: 'o-2' }]] }) });
    await held;
    expect(await rowsOf(s)).toEqual([['o-1', 'S-1', 9_000, 9_000]]);
  });

  it('a failed write of the settled orders is reported and counted; the settlement still goes on', async () => {
    await helper.load(nodes, flow);
    const s = await store();
    (s as any).settledOrdersReplace = async () => Promise.reject(new Error('database is locked'));
    const warnings: string[] = [];
    const r1 = helper.getNode('r1') as any;
    const warn = r1.warn.bind(r1);
    r1.warn = (m: string) => {
      warnings.push(m);
      warn(m);
    };
    const ready = collect(helper.getNode('ready'), 1);
    r1.receive({ payload: makeSettlement(SPEC) });
    const [msg] = await ready;
    expect(msg.payload.outcome).toBe('ready');
    await until(() => warnings.length === 1);
    expect(warnings[0]).toBe(
      'amazon settlement S-1: its settled orders were not recorded (database is locked); the settlement went on; control totals will show its orders ' +
        'as not settled until it is sent again, 1 index write(s) failed so far',
    );
  });

  it('channel totals rejects a malformed day, an impossible date and a channel it knows nothing of, naming each', async () => {
    await helper.load(nodes, flow);
    const s = await store();
    await s.orderSeen([{ system: 'bol', account: '', orderId: 'b-1', gross: 100, currency: 'EUR', placedAt: '2026-10-06T10:00:00Z' }]);
    const caught = collect(helper.getNode('caught'), 4);
    const ct = helper.getNode('ct');
    ct.receive({ day: '06.10.2026' });
    ct.receive({ day: '2026-02-30' });
    ct.receive({ day: '2026-10-06', channel: { system: 'amazon', account: 'nobody' } });
    ct.receive({ day: '2026-10-06', channel: { account: 'A1' } });
    const errors = (await caught).map((m) => m.error.message).sort();
    expect(errors).toEqual([
      'ChainTotalsInputError: msg.channel must be { system: "<channel system>", account?: "<account>" }',
      "ChainTotalsInputError: msg.channel names no channel Tillwire knows: no order or settlement of amazon account 'nobody'",
      `ChainTotalsInputError: msg.day '2026-02-30' is not a calendar date`,
      `ChainTotalsInputError: msg.day must be a date 'YYYY-MM-DD', got "06.10.2026"`,
    ]);
    // A good trigger beside them still reports.
    const rep = collect(helper.getNode('rep'), 1);
    ct.receive({ day: '2026-10-06', channel: { system: 'bol' } });
    expect((await rep)[0].payload).toMatchObject({ system: 'bol', channel: { count: 1, value: 100 }, differences: { notInErp: { count: 1 } } });
  });

  it('counts every settled order never seen, however many: a day of 100,003 of them reads page by page', async () => {
    await helper.load(nodes, flow);
    const s = await store();
    // One big settlement deposited on the day (Berlin), none of its orders seen at the channel.
    const rows: SettledOrder[] = [];
    for (let i = 0; i < 100_003; i++) {
      rows.push({
        system: 'amazon',
        account: 'A3TWDEMOSELLER',
        orderId: `u-${String(i).padStart(6, '0')}`,
        settlementId: 'BIG-1',
        charged: 1 + (i % 7),
        net: 1,
        currency: 'EUR',
        settledAt: '2026-10-06T08:00:00.000Z',
      });
    }
    const charged = rows.reduce((sum, r) => sum + r.charged, 0);
    await s.settledOrdersReplace({ system: 'amazon', account: 'A3TWDEMOSELLER', settlementId: 'BIG-1' }, rows);
    const rep = collect(helper.getNode('rep'), 1);
    helper.getNode('ct').receive({ day: '2026-10-06' });
    const [msg] = await rep;
    expect(msg.payload.differences.settledNotSeen).toMatchObject({ count: 100_003, value: charged, more: 100_003 - 100 });
    expect(msg.payload.differences.settledNotSeen.orders).toHaveLength(100);
  });

  it("lists the unposted settlements up to the node's list length, counting them all", async () => {
    await helper.load(nodes, [
      ...flow.filter((n) => n.id !== 'ct'),
      { id: 'ct', type: 'tillwire-channel-totals', z: 'f1', store: 's1', unpostedHours: 0, listCap: 2, wires: [['rep'], ['unposted'], ['unsettled']] },
    ]);
    const held = collect(helper.getNode('held'), 3);
    for (const id of ['H-1', 'H-2', 'H-3'])
      helper.getNode('r1').receive({ payload: makeSettlement({ id, statedTotal: 1, lines: [['principal', 100, { order: 'o-2' }]] }) });
    await held;
    const unposted = collect(helper.getNode('unposted'), 1);
    helper.getNode('ct').receive({ day: '2026-03-05' });
    const [msg] = await unposted;
    expect(msg.payload.count).toBe(3);
    expect(msg.payload.settlements.map((x: { reason: string }) => x.reason)).toEqual(['held', 'held']);
    expect(msg.payload.more).toBe(1);
  });

  it('journal files wired back to the journal node: the settlement counts as written for import, output 2 lists only the held one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-written-'));
    try {
      await helper.load(
        [...nodes, journalNode, journalFileNode, accountsNode],
        [
          ...flow.filter((n) => n.id !== 'ct' && n.id !== 'r1'),
          { id: 'r1', type: 'tillwire-reconcile', z: 'f1', store: 's1', mode: 'settlement', wires: [['j1'], ['held']] },
          {
            id: 'a1',
            type: 'tillwire-settlement-accounts',
            bankAccount: '1210',
            payableAccount: '2110',
            reserveAccount: '1220',
            carriedForwardAccount: '1230',
            clearingAccount: '1240',
            accounts: [
              { key: 'principal', account: '4000' },
              { key: 'tax', account: '2200' },
              { key: 'fee', account: '6100' },
            ],
          },
          { id: 'j1', type: 'tillwire-journal', z: 'f1', store: 's1', mode: 'settlement', accounts: 'a1', wires: [['jf']] },
          { id: 'jf', type: 'tillwire-journal-file', z: 'f1', directory: dir, layout: 'neutral', wires: [['j1', 'ready']] },
          { id: 'ct', type: 'tillwire-channel-totals', z: 'f1', store: 's1', unpostedHours: 0, wires: [['rep'], ['unposted'], ['unsettled']] },
        ],
      );
      const s = await store();
      await s.orderSeen([
        { system: 'amazon', account: 'A3TWDEMOSELLER', orderId: 'o-1', gross: 11_900, currency: 'EUR', placedAt: '2026-03-05T10:00:00Z' },
        { system: 'amazon', account: 'A3TWDEMOSELLER', orderId: 'o-2', gross: 5_000, currency: 'EUR', placedAt: '2026-03-05T11:00:00Z' },
      ]);
      const files = collect(helper.getNode('ready'), 1);
      helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, lines: SPEC.lines.filter((l) => l[0] !== 'fee' || l[2]?.order) }) });
      const [written] = await files;
      const name = path.basename(written.file.path);
      const key = { system: 'amazon', account: 'A3TWDEMOSELLER', settlementId: 'S-1' };
      const register = new SettlementRegister(s);
      await until(async () => ledgerStatus((await register.get(key))!) === 'written');
      expect(Object.values((await register.get(key))!.ledgerIds)).toEqual([`file:${name}`]);
      const held = collect(helper.getNode('held'), 1);
      helper.getNode('r1').receive({ payload: makeSettlement({ id: 'S-2', statedTotal: 1, lines: [['principal', 100, { order: 'o-2' }]] }) });
      await held;

      const rep = collect(helper.getNode('rep'), 1);
      const unposted = collect(helper.getNode('unposted'), 1);
      helper.getNode('ct').receive({ day: '2026-03-05' });
      const [report] = await rep;
      expect(report.payload).toMatchObject({ settled: { count: 2, value: 16_900 }, posted: { count: 0, value: 0 }, written: { count: 2, value: 16_900 } });
      expect(report.payload.differences.settledNotPosted.count).toBe(0);
      expect((await unposted)[0].payload.settlements.map((x: { settlementId: string }) => x.settlementId)).toEqual(['S-2']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a payout dated without a time is its calendar day in a zone west of UTC: its unseen orders are on that day in Los Angeles, not the day before', async () => {
    await helper.load(nodes, [
      ...flow.filter((n) => n.id !== 'ct'),
      { id: 'ct', type: 'tillwire-channel-totals', z: 'f1', store: 's1', timeZone: 'America/Los_Angeles', wires: [['rep'], ['unposted'], ['unsettled']] },
    ]);
    const ready = collect(helper.getNode('ready'), 1);
    helper.getNode('r1').receive({ payload: makeSettlement({ ...SPEC, depositDate: '2026-03-17' }) });
    await ready;
    const rep = collect(helper.getNode('rep'), 1);
    // The day before first: it has nothing (so no report); the first report is the deposit date's.
    helper.getNode('ct').receive({ day: '2026-03-16' });
    helper.getNode('ct').receive({ day: '2026-03-17' });
    const [msg] = await rep;
    expect(msg.payload).toMatchObject({ day: '2026-03-17', timeZone: 'America/Los_Angeles' });
    expect(msg.payload.differences.settledNotSeen).toMatchObject({ count: 2, value: 16_900 });
    expect(msg.payload.differences.settledNotSeen.orders[0].settlements[0].settledAt).toBe('2026-03-17T00:00:00.000Z');
  });

  it('a time zone that does not exist: the node shows it and rejects every trigger', async () => {
    await helper.load(nodes, [
      ...flow.filter((n) => n.id !== 'ct'),
      { id: 'ct', type: 'tillwire-channel-totals', z: 'f1', store: 's1', timeZone: 'Europe/Atlantis', wires: [['rep'], ['unposted'], ['unsettled']] },
    ]);
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('ct').receive({});
    expect((await caught)[0].error.message).toBe(
      "Error: channel totals: unknown time zone 'Europe/Atlantis' (expected an IANA name such as Europe/Berlin or UTC)",
    );
  });
});
