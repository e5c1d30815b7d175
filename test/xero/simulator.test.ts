/** The Xero simulator speaks as Xero does: tokens, tenant header, limits and their headers, idempotency, refusals. */
import { XeroSimulator } from '../../simulators/xero/simulator';
import { parseCliArgs } from '../../simulators/xero/simulator';
import { ManualClock } from '../support/simulators';

let sim: XeroSimulator;
const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
let access = '';

async function token(refresh: string): Promise<{ status: number; body: any }> {
  const res = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh }).toString(),
  });
  return { status: res.status, body: await res.json() };
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${sim.apiUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${access}`, 'xero-tenant-id': sim.tenantId, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const journalBody = (amounts: number[], extra: Record<string, unknown> = {}) => ({
  ManualJournals: [
    {
      Narration: 'Test [tw:T]',
      Date: '2026-11-30',
      Status: 'POSTED',
      JournalLines: amounts.map((LineAmount, i) => ({ LineAmount, AccountCode: i ? '200' : '615' })),
      ...extra,
    },
  ],
});

beforeEach(async () => {
  sim = new XeroSimulator({ port: 0, now: clock.now, limits: { perMinute: 5 } });
  await sim.start();
  access = (await token(sim.validRefreshTokens()[0])).body.access_token;
});
afterEach(() => sim.stop());

it('a refresh answers a new refresh token; the used one is accepted again only during the grace period', async () => {
  const initial = 'tillwire-xero-refresh-0';
  const [, rotated] = sim.validRefreshTokens();
  expect(sim.validRefreshTokens()).toEqual([initial, rotated]);
  // The answer to the first refresh was lost: the used token still works within 30 minutes.
  const retried = await token(initial);
  expect(retried.status).toBe(200);
  expect(retried.body.refresh_token).not.toBe(rotated);
  clock.advance(31 * 60_000);
  expect(await token(initial)).toEqual({ status: 400, body: { error: 'invalid_grant' } });
  expect((await token(rotated)).status).toBe(200);
});

it('every call needs the tenant header and a live access token', async () => {
  expect((await api('GET', 'Organisation', undefined, { 'xero-tenant-id': 'other' })).status).toBe(403);
  sim.expireAccessTokens();
  expect((await api('GET', 'Organisation')).status).toBe(401);
});

it('every answer carries the remaining counts; past the minute limit a 429 names the problem and when to come back', async () => {
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) seen.push((await api('GET', 'Accounts')).headers.get('x-minlimit-remaining')!);
  expect(seen).toEqual(['4', '3', '2', '1', '0']);
  const limited = await api('GET', 'Accounts');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('x-rate-limit-problem')).toBe('minute');
  expect(Number(limited.headers.get('retry-after'))).toBe(60);
  expect(limited.headers.get('x-daylimit-remaining')).toBe('4995');
  clock.advance(60_000);
  expect((await api('GET', 'Accounts')).status).toBe(200);
});

it('the same Idempotency-Key and body answer the first answer and create nothing; another body is refused', async () => {
  const first = await api('PUT', 'ManualJournals', journalBody([10, -10]), { 'Idempotency-Key': 'K-1' });
  const again = await api('PUT', 'ManualJournals', journalBody([10, -10]), { 'Idempotency-Key': 'K-1' });
  expect(again.body.ManualJournals[0].ManualJournalID).toBe(first.body.ManualJournals[0].ManualJournalID);
  expect(sim.allJournals()).toHaveLength(1);
  const other = await api('PUT', 'ManualJournals', journalBody([20, -20]), { 'Idempotency-Key': 'K-1' });
  expect(other.status).toBe(400);
  expect(other.body.Type).toBe('ValidationException');
  expect(sim.allJournals()).toHaveLength(1);
  const long = await api('PUT', 'ManualJournals', journalBody([20, -20]), { 'Idempotency-Key': 'K'.repeat(129) });
  expect(long.status).toBe(400);
});

it('an unbalanced journal, 3-decimal amounts and a single line are refused with Xero-style element errors', async () => {
  const unbalanced = await api('PUT', 'ManualJournals', journalBody([100, -10]));
  expect(unbalanced.status).toBe(400);
  expect(unbalanced.body).toMatchObject({ ErrorNumber: 10, Type: 'ValidationException' });
  expect(unbalanced.body.Elements[0].ValidationErrors).toEqual([{ Message: 'The total debits (100.00) must equal total credits (-10.00)' }]);
  const precise = await api('PUT', 'ManualJournals', journalBody([1.005, -1.005]));
  expect(precise.body.Elements[0].ValidationErrors).toHaveLength(2);
  const single = await api('PUT', 'ManualJournals', journalBody([0]));
  expect(single.status).toBe(400);
  expect(sim.allJournals()).toHaveLength(0);
});

it('journals are found by a where filter on the narration', async () => {
  await api('PUT', 'ManualJournals', journalBody([10, -10]));
  const found = await api('GET', `ManualJournals?where=${encodeURIComponent('Narration.EndsWith("[tw:T]")')}`);
  expect(found.body.ManualJournals).toHaveLength(1);
  expect(found.body.pagination).toMatchObject({ itemCount: 1 });
  const none = await api('GET', `ManualJournals?where=${encodeURIComponent('Narration.EndsWith("[tw:U]")')}`);
  expect(none.body.ManualJournals).toHaveLength(0);
});

it('the command line takes the lock date and base currency, and refuses a malformed date', () => {
  expect(parseCliArgs(['--lock-date', '2026-06-30', '--base-currency', 'eur'])).toMatchObject({
    periodLockDate: '2026-06-30',
    baseCurrency: 'EUR',
    port: 18092,
  });
  expect(() => parseCliArgs(['--lock-date', '30/06/2026'])).toThrow(/yyyy-mm-dd/);
});
