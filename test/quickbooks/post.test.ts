/** Posting canonical journals to the QuickBooks simulator exactly once, through throttling, 5xx and lost answers. */
import { QboSimulator } from '../../simulators/quickbooks/simulator';
import { ConnectorError } from '../../nodes/runtime/errors';
import { docNumberFor } from '../../nodes/quickbooks/map';
import { clientFor, journal, posterFor, startSimulator } from './support';
import { QboPoster } from '../../nodes/quickbooks/post';

let sim: QboSimulator;
afterEach(async () => {
  await sim?.stop();
});

/** The simulator's entries per DocNumber. */
function countsByDocNumber(s: QboSimulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of s.journalEntries()) counts.set(e.DocNumber, (counts.get(e.DocNumber) ?? 0) + 1);
  return counts;
}

async function failureOf(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected the post to fail');
}

describe('QuickBooks posting', () => {
  it('posts a journal once and reports the entry as QuickBooks reads it back; the same journal again is found, not re-posted', async () => {
    sim = await startSimulator();
    const poster = posterFor(sim);
    const first = await poster.post(journal('S-1'));
    expect(first).toMatchObject({
      journalId: 'S-1',
      status: 'posted',
      docNumber: docNumberFor('S-1'),
      total: { amount: 10_234, currency: 'USD' },
      afterLostAnswer: false,
    });
    const stored = sim.journalEntries();
    expect(stored).toHaveLength(1);
    expect(stored[0].Id).toBe(first.entryId);
    // account codes were resolved to the chart's ids
    expect(stored[0].Line.map((l: any) => l.JournalEntryLineDetail.AccountRef.value)).toEqual(['35', '60', '40']);
    const again = await posterFor(sim).post(journal('S-1'));
    expect(again).toMatchObject({ status: 'already-posted', entryId: first.entryId });
    expect(sim.journalEntries()).toHaveLength(1);
    expect(sim.stats.minorVersions).toEqual({ '75': expect.any(Number) });
  });

  it('never has more than 10 requests of one company at QuickBooks at once: 30 journals in parallel', async () => {
    sim = await startSimulator({ latencyMs: 250, limits: { perSecond: 10_000, perMinute: 100_000 } });
    const poster = posterFor(sim, { limits: { perSecond: 10_000, perMinute: 100_000 } });
    const ids = Array.from({ length: 30 }, (_, i) => `PAR-${i}`);
    const results = await Promise.all(ids.map((id) => poster.post(journal(id))));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'posted'));
    expect(sim.stats.peakConcurrent).toBe(10);
    expect(sim.stats.throttledConcurrent).toBe(0);
    expect([...countsByDocNumber(sim).values()]).toEqual(ids.map(() => 1));
  });

  it('posts each journal exactly once while QuickBooks answers 429, waiting out Retry-After', async () => {
    sim = await startSimulator({ limits: { perSecond: 4 }, secondMs: 100, retryAfterSeconds: 0.1 });
    // The client paces at about 55 a second, the simulator allows 40 (4 per 100 ms): 429s are met.
    // Twelve posts retrying after the same Retry-After meet the next window together, so one post can
    // meet several 429s in a row on a busy machine: the attempts leave room for that (seen: 12 ran out).
    const poster = posterFor(sim, {
      limits: { perSecond: 60, perMinute: 100_000 },
      policy: { maxAttempts: 40, baseDelayMs: 1, maxDelayMs: 500, timeoutMs: 5000 },
    });
    const ids = Array.from({ length: 12 }, (_, i) => `THR-${i}`);
    const results = await Promise.all(ids.map((id) => poster.post(journal(id))));
    expect(sim.stats.throttledRate).toBeGreaterThan(0);
    expect(poster.client.throttled).toBe(sim.stats.throttledRate);
    expect(results.every((r) => r.status === 'posted')).toBe(true);
    expect(sim.journalEntries()).toHaveLength(12);
    expect([...countsByDocNumber(sim).values()]).toEqual(ids.map(() => 1));
  });

  it('looks a journal up after a lost answer and does not send it again when it was committed', async () => {
    sim = await startSimulator();
    sim.queueFault('journalentry.create', 'lost');
    const status = await posterFor(sim).post(journal('LOST-1'));
    expect(status).toMatchObject({ status: 'posted', afterLostAnswer: true });
    expect(sim.stats.lost).toBe(1);
    expect(sim.stats.created).toBe(1);
    // found by the lookup: the create was not sent a second time
    expect(sim.stats.replayed).toBe(0);
    expect(sim.journalEntries()).toHaveLength(1);
  });

  it('sends again, with the same requestid, after 5xx answers that did nothing', async () => {
    sim = await startSimulator();
    sim.queueFault('journalentry.create', 'error', 2);
    const status = await posterFor(sim).post(journal('ERR-1'));
    expect(status).toMatchObject({ status: 'posted', afterLostAnswer: true });
    expect(sim.stats.errors).toBe(2);
    expect(sim.journalEntries()).toHaveLength(1);
  });

  it('posts 20 journals exactly once when a third of the creates lose their answer and some fail with 5xx', async () => {
    const fast = { perSecond: 10_000, perMinute: 100_000 };
    sim = await startSimulator({ faults: { lostResponseRate: 0.3, errorRate: 0.1, seed: 11 }, faultOperations: ['journalentry.create'], limits: fast });
    const poster = posterFor(sim, { limits: fast });
    const ids = Array.from({ length: 20 }, (_, i) => `MIX-${i}`);
    const results = await Promise.all(ids.map((id) => poster.post(journal(id))));
    expect(sim.stats.lost).toBeGreaterThan(0);
    expect(sim.stats.errors).toBeGreaterThan(0);
    expect(results.map((r) => r.journalId)).toEqual(ids);
    expect(sim.journalEntries()).toHaveLength(20);
    expect([...countsByDocNumber(sim).values()]).toEqual(ids.map(() => 1));
  });

  it('copies of one journal arriving together make one entry', async () => {
    sim = await startSimulator({ latencyMs: 20 });
    const poster = posterFor(sim);
    const results = await Promise.all([1, 2, 3, 4].map(() => poster.post(journal('DUP-1'))));
    expect(results.map((r) => r.status).sort()).toEqual(['already-posted', 'already-posted', 'already-posted', 'posted']);
    expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
    expect(sim.journalEntries()).toHaveLength(1);
  });

  it('reads QuickBooks Faults into the error: kind, Fault code, element, status; nothing is retried or posted', async () => {
    sim = await startSimulator({ closingDate: '2026-10-31' });
    const poster = posterFor(sim);
    const unknownAccount = journal('F-ACC', {
      lines: [
        { account: '9999', debit: { amount: 100, currency: 'USD' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    expect((await failureOf(poster.post(unknownAccount))).cause).toMatchObject({
      kind: 'missing-reference',
      retryable: false,
      status: 400,
      providerCode: '2500',
      providerElement: 'AccountRef',
      attempts: 1,
    });
    const inactive = journal('F-INACTIVE', {
      lines: [
        { account: '6900', debit: { amount: 100, currency: 'USD' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    // 6900 is inactive, so the chart does not resolve it: sent as the id '6900', which QuickBooks does not know
    expect((await failureOf(poster.post(inactive))).cause).toMatchObject({ providerCode: '2500', providerElement: 'AccountRef' });
    const inactiveById = journal('F-INACTIVE2', {
      lines: [
        { account: '69', debit: { amount: 100, currency: 'USD' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    expect((await failureOf(poster.post(inactiveById))).cause).toMatchObject({ kind: 'missing-reference', providerCode: '610', providerElement: 'AccountRef' });
    expect((await failureOf(poster.post(journal('F-CLOSED', { date: '2026-10-31' })))).cause).toMatchObject({
      kind: 'conflict',
      retryable: false,
      providerCode: '5010',
      providerElement: 'TxnDate',
    });
    const chf = journal('F-CHF', { currency: 'CHF' });
    expect((await failureOf(poster.post(chf, { exchangeRate: '1.12' }))).cause).toMatchObject({
      kind: 'value',
      providerCode: '6000',
      providerElement: 'CurrencyRef',
    });
    expect(sim.journalEntries()).toHaveLength(0);
  });

  it('refuses an unbalanced journal before sending it, and QuickBooks refuses one that reaches it (6000, element Line)', async () => {
    sim = await startSimulator();
    const poster = posterFor(sim);
    const unbalanced = journal('F-UNB', {
      lines: [
        { account: '1000', debit: { amount: 101, currency: 'USD' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    expect((await failureOf(poster.post(unbalanced))).cause).toMatchObject({ kind: 'value', providerCode: 'InvalidDocument' });
    expect(sim.stats.requests).toBe(0);
    const body = {
      TxnDate: '2026-11-30',
      Line: [
        { Amount: 1.01, DetailType: 'JournalEntryLineDetail', JournalEntryLineDetail: { PostingType: 'Debit', AccountRef: { value: '35' } } },
        { Amount: 1.0, DetailType: 'JournalEntryLineDetail', JournalEntryLineDetail: { PostingType: 'Credit', AccountRef: { value: '40' } } },
      ],
    };
    expect((await failureOf(poster.client.createJournalEntry(body, 'tw-unbalanced-1'))).cause).toMatchObject({
      kind: 'value',
      status: 400,
      providerCode: '6000',
      providerElement: 'Line',
    });
  });

  it('posts a foreign-currency journal with its exchange rate, and JPY and KWD journals to their minor unit', async () => {
    sim = await startSimulator();
    const poster = posterFor(sim);
    const eur = await poster.post(journal('FX-EUR', { currency: 'EUR' }), { exchangeRate: '1.0825' });
    expect(eur.total).toEqual({ amount: 10_234, currency: 'EUR' });
    const [stored] = sim.journalEntries();
    expect(stored).toMatchObject({ CurrencyRef: { value: 'EUR' }, ExchangeRate: 1.0825 });
    const jpy = journal('FX-JPY', {
      currency: 'JPY',
      lines: [
        { account: '1000', debit: { amount: 1500, currency: 'JPY' } },
        { account: '4000', credit: { amount: 1500, currency: 'JPY' } },
      ],
    });
    expect((await poster.post(jpy, { exchangeRate: '0.0067' })).total).toEqual({ amount: 1500, currency: 'JPY' });
    const kwd = journal('FX-KWD', {
      currency: 'KWD',
      lines: [
        { account: '1000', debit: { amount: 1255, currency: 'KWD' } },
        { account: '4000', credit: { amount: 1255, currency: 'KWD' } },
      ],
    });
    expect((await poster.post(kwd, { exchangeRate: '3.2537' })).total).toEqual({ amount: 1255, currency: 'KWD' });
  });

  it('keeps the rotated refresh token: persisted on each refresh, and used after the access token expires', async () => {
    sim = await startSimulator();
    const saved: string[] = [];
    const client = clientFor(sim, { onRefreshToken: (token) => void saved.push(token) });
    const poster = new QboPoster(client, { homeCurrency: 'USD' });
    await poster.post(journal('ROT-1'));
    expect(saved).toEqual([sim.currentRefreshToken]);
    sim.expireAccessTokens();
    await poster.post(journal('ROT-2'));
    expect(saved).toHaveLength(2);
    expect(saved[1]).toBe(sim.currentRefreshToken);
    expect(client.refreshToken).toBe(sim.currentRefreshToken);
    expect(sim.journalEntries()).toHaveLength(2);
    // A client still holding the first (now retired) refresh token is refused for good.
    const stale = new QboPoster(clientFor(sim, { credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: saved[0] } }), {
      homeCurrency: 'USD',
    });
    expect((await failureOf(stale.post(journal('ROT-3')))).cause).toMatchObject({ kind: 'auth', retryable: false, providerCode: 'invalid_grant' });
  });
});
