/** Posting canonical journals to Xero exactly once, against the Xero simulator. */
import { ConnectorError } from '../../nodes/runtime/errors';
import { XeroJournalPoster } from '../../nodes/xero/post';
import { journalMarker } from '../../nodes/xero/map';
import type { XeroSimulator } from '../../simulators/xero/simulator';
import { ManualClock } from '../support/simulators';
import { clientOf, journal, memoryTokenStore, startXero } from './support';

const running: XeroSimulator[] = [];
async function sim(opts: Parameters<typeof startXero>[0] = {}): Promise<XeroSimulator> {
  const s = await startXero(opts);
  running.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConnectorError) return err;
    throw err;
  }
  throw new Error('expected the post to fail');
}

const journalsFor = (s: XeroSimulator, id: string) => s.allJournals().filter((j) => j.Narration.endsWith(journalMarker(id)));

it('posts a journal with signed 2-decimal amounts and returns the status read back from Xero', async () => {
  const s = await sim();
  const poster = new XeroJournalPoster(clientOf(s));
  const result = await poster.post(journal('STL-1'));
  expect(result).toMatchObject({ journalId: 'STL-1', status: 'POSTED', date: '2026-11-30', lines: 3, debitTotal: 10_000, currency: 'GBP', outcome: 'created' });
  const [stored] = journalsFor(s, 'STL-1');
  expect(stored.ManualJournalID).toBe(result.manualJournalId);
  expect(stored.JournalLines.map((l: any) => [l.AccountCode, l.LineAmount])).toEqual([
    ['615', 84.5],
    ['480', 15.5],
    ['200', -100],
  ]);
  expect(stored.JournalLines[2].Tracking).toEqual([
    { Name: 'Channel', Option: 'amazon-uk' },
    { Name: 'Store', Option: 'LDN-042' },
  ]);
});

it('the same journal posted again (a redelivery) is found, not posted twice', async () => {
  const s = await sim();
  const poster = new XeroJournalPoster(clientOf(s));
  const first = await poster.post(journal('STL-2'));
  const again = await new XeroJournalPoster(clientOf(s)).post(journal('STL-2'));
  expect(again).toMatchObject({ outcome: 'found', manualJournalId: first.manualJournalId });
  expect(journalsFor(s, 'STL-2')).toHaveLength(1);
  expect(s.stats.creates).toBe(1);
});

it('posts exactly once through 429s, honouring Retry-After', async () => {
  const s = await sim();
  for (let i = 0; i < 3; i++) s.failNext(429, 'journals:create');
  const waits: number[] = [];
  const client = clientOf(s, { sleep: async (ms) => void waits.push(ms) });
  const result = await new XeroJournalPoster(client).post(journal('STL-3'));
  expect(result.outcome).toBe('created');
  expect(client.throttled.minute).toBe(3);
  // Retry-After: 0.02 (seconds) was waited before each new attempt.
  expect(waits.filter((ms) => ms === 20)).toHaveLength(3);
  expect(journalsFor(s, 'STL-3')).toHaveLength(1);
});

it('20 journals posted at once: Xero never sees more than 5 calls in progress, and each is posted once', async () => {
  const s = await sim({ latencyMs: 25, limits: { perMinute: 10_000 } });
  const poster = new XeroJournalPoster(clientOf(s, { limits: { perMinute: 10_000 } }), { baseCurrency: 'GBP' });
  const ids = Array.from({ length: 20 }, (_, i) => `PAR-${i}`);
  const results = await Promise.all(ids.map((id) => poster.post(journal(id))));
  expect(results.map((r) => r.journalId)).toEqual(ids);
  expect(s.stats.maxInFlight).toBeGreaterThan(1);
  expect(s.stats.maxInFlight).toBeLessThanOrEqual(5);
  expect(s.stats.throttled.concurrent).toBeUndefined();
  expect(s.stats.creates).toBe(20);
  for (const id of ids) expect(journalsFor(s, id)).toHaveLength(1);
});

it('a create answered 500 (nothing done) is looked up, then sent again once', async () => {
  const s = await sim();
  s.failNext(500, 'journals:create');
  const result = await new XeroJournalPoster(clientOf(s)).post(journal('STL-4'));
  expect(result.outcome).toBe('created');
  expect(s.stats.faults.error).toBe(1);
  expect(journalsFor(s, 'STL-4')).toHaveLength(1);
});

it('a create whose answer is lost (done in Xero) is found by the lookup and not sent again', async () => {
  const s = await sim();
  s.failNext('lost', 'journals:create');
  const result = await new XeroJournalPoster(clientOf(s)).post(journal('STL-5'));
  expect(result).toMatchObject({ outcome: 'found', status: 'POSTED' });
  expect(s.stats.faults.lost).toBe(1);
  expect(s.stats.creates).toBe(1);
  expect(journalsFor(s, 'STL-5')).toHaveLength(1);
});

it('a create never answered (timeout) is looked up, then sent again once', async () => {
  const s = await sim();
  s.failNext('timeout', 'journals:create');
  const client = clientOf(s, { policy: { baseDelayMs: 1, maxDelayMs: 50, timeoutMs: 300, maxAttempts: 4 } });
  const result = await new XeroJournalPoster(client).post(journal('STL-6'));
  expect(result.outcome).toBe('created');
  expect(s.stats.faults.timeout).toBe(1);
  expect(journalsFor(s, 'STL-6')).toHaveLength(1);
});

it("a lookup's lost answer is retried by the HTTP layer; still one journal", async () => {
  const s = await sim();
  s.failNext('lost', 'journals:list');
  s.failNext(503, 'journals:list');
  await new XeroJournalPoster(clientOf(s)).post(journal('STL-7'));
  expect(journalsFor(s, 'STL-7')).toHaveLength(1);
});

it("Xero's refusal (a bank account on the journal) is a value error with Xero's element messages", async () => {
  const s = await sim();
  const doc = journal('STL-8');
  doc.lines[0].account = '090';
  const err = await failure(new XeroJournalPoster(clientOf(s)).post(doc));
  expect(err.kind).toBe('value');
  expect(err.retryable).toBe(false);
  expect(err.status).toBe(400);
  expect(err.cause.providerCode).toBe('ValidationException');
  expect(err.cause.providerErrors).toHaveLength(1);
  expect(err.cause.providerErrors![0]).toMatch(/'090'/);
  expect(s.stats.creates).toBe(0);
});

it('a system account (accounts receivable) and an unknown account are both named', async () => {
  const s = await sim();
  const doc = journal('STL-9');
  doc.lines[0].account = '610';
  doc.lines[1].account = '999';
  const err = await failure(new XeroJournalPoster(clientOf(s)).post(doc));
  expect(err.kind).toBe('value');
  expect(err.cause.providerErrors).toHaveLength(2);
  expect(err.cause.providerErrors!.some((m) => m.includes("'610'"))).toBe(true);
  expect(err.cause.providerErrors!.some((m) => m.includes("'999'"))).toBe(true);
});

it('a journal dated in a locked period is refused with the lock date; a DRAFT there is accepted', async () => {
  const s = await sim({ periodLockDate: '2026-11-30' });
  const err = await failure(new XeroJournalPoster(clientOf(s)).post(journal('STL-10', { date: '2026-11-15' })));
  expect(err.kind).toBe('value');
  expect(err.retryable).toBe(false);
  expect(err.cause.providerErrors).toHaveLength(1);
  expect(err.description).toContain('2026-11-30');
  expect(s.stats.creates).toBe(0);
  const draft = await new XeroJournalPoster(clientOf(s), { status: 'DRAFT' }).post(journal('STL-10', { date: '2026-11-15' }));
  expect(draft.status).toBe('DRAFT');
});

it('an unbalanced journal is refused before anything is sent', async () => {
  const s = await sim();
  const doc = journal('STL-11');
  doc.lines[0].debit = { amount: 8_451, currency: 'GBP' };
  const err = await failure(new XeroJournalPoster(clientOf(s), { baseCurrency: 'GBP' }).post(doc));
  expect(err.kind).toBe('value');
  expect(err.cause.providerCode).toBe('mapping');
  expect(err.cause.providerErrors!.some((m) => /does not balance/.test(m))).toBe(true);
  expect(s.stats.requests).toBe(0);
});

it('a journal not in the base currency is refused with both currencies named', async () => {
  const s = await sim({ baseCurrency: 'GBP' });
  const doc = journal('STL-12', { currency: 'EUR' });
  for (const l of doc.lines) (l.debit ?? l.credit)!.currency = 'EUR';
  const err = await failure(new XeroJournalPoster(clientOf(s)).post(doc));
  expect(err.kind).toBe('value');
  expect(err.cause.providerErrors).toEqual(["journal is in EUR but Xero manual journals are in the organisation's base currency GBP"]);
  expect(s.stats.creates).toBe(0);
});

it("a day's calls used up (as Xero's headers tell) fail the call at once with the wait, not held for hours", async () => {
  const s = await sim({ limits: { perDay: 2 } });
  const client = clientOf(s);
  // Lookup and create are the day's two calls; X-DayLimit-Remaining says 0, so the read-back is not sent.
  const err = await failure(new XeroJournalPoster(client, { baseCurrency: 'GBP' }).post(journal('STL-13')));
  expect(err.kind).toBe('rate-limit');
  expect(err.retryable).toBe(false);
  expect(err.cause.retryAfterMs).toBeGreaterThan(60 * 60_000);
  expect(client.remaining.day).toBe(0);
  expect(s.stats.throttled.day).toBeUndefined();
  expect(s.stats.creates).toBe(1);
  // Another client that has not seen the headers meets Xero's own 429 (X-Rate-Limit-Problem: day).
  const other = clientOf(s);
  const refused = await failure(new XeroJournalPoster(other, { baseCurrency: 'GBP' }).post(journal('STL-14')));
  expect(refused.kind).toBe('rate-limit');
  expect(refused.retryable).toBe(false);
  expect(refused.status).toBe(429);
  expect(refused.cause.providerCode).toBe('day');
  expect(refused.cause.retryAfterMs).toBeGreaterThan(60 * 60_000);
  expect(other.throttled.day).toBe(1);
  expect(s.stats.creates).toBe(1);
});

describe('refresh-token rotation', () => {
  it('each refresh keeps the new refresh token; an expired access token is renewed', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
    const s = await sim({ now: clock.now });
    const first = s.validRefreshTokens()[0];
    const store = memoryTokenStore();
    const client = clientOf(s, { tokenStore: store });
    const poster = new XeroJournalPoster(client, { baseCurrency: 'GBP' });
    await poster.post(journal('ROT-1'));
    expect(store.saves).toBe(1);
    expect(store.value).not.toBe(first);
    expect(client.tokens.current).toBe(store.value);
    // Xero no longer accepts the access token: a 401, a refresh, the new refresh token kept.
    s.expireAccessTokens();
    await poster.post(journal('ROT-2'));
    expect(store.saves).toBe(2);
    expect(s.stats.refreshes).toBe(2);
    // After the grace period only the newest refresh token works, and it is the one kept.
    clock.advance(31 * 60_000);
    expect(s.validRefreshTokens()).toEqual([store.value]);
  });

  it('a restart takes the kept refresh token over the configured (used) one', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
    const s = await sim({ now: clock.now });
    const store = memoryTokenStore();
    await new XeroJournalPoster(clientOf(s, { tokenStore: store }), { baseCurrency: 'GBP' }).post(journal('ROT-3'));
    const configured = 'tillwire-xero-refresh-0';
    clock.advance(31 * 60_000); // the configured token's grace is over
    const restarted = clientOf(s, { tokenStore: store, refreshToken: configured });
    const result = await new XeroJournalPoster(restarted, { baseCurrency: 'GBP' }).post(journal('ROT-4'));
    expect(result.status).toBe('POSTED');
    // Without the kept token, the configured one is refused: an auth failure, not retried.
    const stale = clientOf(s, { refreshToken: configured });
    const err = await failure(new XeroJournalPoster(stale, { baseCurrency: 'GBP' }).post(journal('ROT-5')));
    expect(err.kind).toBe('auth');
    expect(err.cause.providerCode).toBe('invalid_grant');
  });
});

it('calls carry the tenant header: a client for another organisation is refused (403, auth)', async () => {
  const s = await sim();
  const err = await failure(new XeroJournalPoster(clientOf(s, { tenantId: 'another-org' }), { baseCurrency: 'GBP' }).post(journal('T-1')));
  expect(err.kind).toBe('auth');
  expect(err.status).toBe(403);
});

it('seeded faults on every call (5xx, lost answers): 20 journals, each in Xero exactly once', async () => {
  const s = await sim({ faults: { errorRate: 0.15, lostResponseRate: 0.15, seed: 11 }, limits: { perMinute: 10_000 } });
  const poster = new XeroJournalPoster(
    clientOf(s, { limits: { perMinute: 10_000 }, policy: { baseDelayMs: 1, maxDelayMs: 20, timeoutMs: 2000, maxAttempts: 10 } }),
    {
      baseCurrency: 'GBP',
    },
  );
  const ids = Array.from({ length: 20 }, (_, i) => `FLT-${i}`);
  const results = await Promise.all(ids.map((id) => poster.post(journal(id))));
  expect(results.every((r) => r.status === 'POSTED')).toBe(true);
  expect(s.stats.faults.error).toBeGreaterThan(0);
  expect(s.stats.faults.lost).toBeGreaterThan(0);
  for (const id of ids) expect(journalsFor(s, id)).toHaveLength(1);
  expect(s.stats.creates).toBe(20);
});
