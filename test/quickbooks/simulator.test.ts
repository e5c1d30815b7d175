/** The QuickBooks simulator's contract over plain HTTP: tokens, requestid, throttling, Faults, query. */
import { QboSimulator, TOKEN_PATH } from '../../simulators/quickbooks/simulator';
import { parseCliArgs } from '../../simulators/quickbooks/simulator';
import { startSimulator } from './support';

let sim: QboSimulator;
afterEach(async () => {
  await sim?.stop();
});

async function refresh(s: QboSimulator, refreshToken: string) {
  const res = await fetch(s.url + TOKEN_PATH, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function api(s: QboSimulator, token: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}/v3/company/${s.realmId}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const line = (posting: 'Debit' | 'Credit', account: string, amount: string) =>
  `{"Amount":${amount},"DetailType":"JournalEntryLineDetail","JournalEntryLineDetail":{"PostingType":"${posting}","AccountRef":{"value":"${account}"}}}`;
const entry = (lines: string[], extra = '') => `{"TxnDate":"2026-11-30","DocNumber":"TW-SIM-1"${extra},"Line":[${lines.join(',')}]}`;

describe('QuickBooks simulator', () => {
  it('rotates the refresh token on every refresh and refuses the retired one', async () => {
    sim = await startSimulator();
    const first = sim.currentRefreshToken;
    const a = await refresh(sim, first);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, refresh_token: sim.currentRefreshToken });
    expect(a.body.refresh_token).not.toBe(first);
    const again = await refresh(sim, first);
    expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(sim, a.body.refresh_token)).status).toBe(200);
  });

  it('answers 401 Fault 3200 without a valid bearer token', async () => {
    sim = await startSimulator();
    const res = await api(sim, undefined, 'GET', '/query?query=select%20*%20from%20Account');
    expect(res.status).toBe(401);
    expect(res.body.Fault.Error[0].code).toBe('3200');
  });

  it('answers a repeated requestid with the original response and creates nothing more', async () => {
    sim = await startSimulator();
    const token = (await refresh(sim, sim.currentRefreshToken)).body.access_token;
    const body = entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')]);
    const first = await api(sim, token, 'POST', '/journalentry?requestid=abc-1', body);
    const second = await api(sim, token, 'POST', '/journalentry?requestid=abc-1', body);
    expect(first.status).toBe(200);
    expect(second.body.JournalEntry).toEqual(first.body.JournalEntry);
    expect(sim.journalEntries()).toHaveLength(1);
    expect(sim.stats.replayed).toBe(1);
    const third = await api(sim, token, 'POST', '/journalentry?requestid=abc-2', body);
    expect(third.body.JournalEntry.Id).not.toBe(first.body.JournalEntry.Id);
  });

  it('refuses journals as QuickBooks does, with Fault code and element', async () => {
    sim = await startSimulator({ closingDate: '2026-11-30' });
    const token = (await refresh(sim, sim.currentRefreshToken)).body.access_token;
    const cases: Array<[string, string, string]> = [
      [entry([line('Debit', '35', '10.00'), line('Credit', '40', '9.99')]).replace('2026-11-30', '2026-12-01'), '6000', 'Line'],
      [entry([line('Debit', '999', '10.00'), line('Credit', '40', '10.00')]).replace('2026-11-30', '2026-12-01'), '2500', 'AccountRef'],
      [entry([line('Debit', '69', '10.00'), line('Credit', '40', '10.00')]).replace('2026-11-30', '2026-12-01'), '610', 'AccountRef'],
      [entry([line('Debit', '35', '10.001'), line('Credit', '40', '10.001')]).replace('2026-11-30', '2026-12-01'), '6000', 'Amount'],
      [
        entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')], ',"CurrencyRef":{"value":"CHF"},"ExchangeRate":1.1').replace(
          '2026-11-30',
          '2026-12-01',
        ),
        '6000',
        'CurrencyRef',
      ],
      [
        entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')], ',"CurrencyRef":{"value":"EUR"}').replace('2026-11-30', '2026-12-01'),
        '6000',
        'ExchangeRate',
      ],
      [entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')]), '5010', 'TxnDate'],
      [
        entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')])
          .replace('TW-SIM-1', 'X'.repeat(22))
          .replace('2026-11-30', '2026-12-01'),
        '6000',
        'DocNumber',
      ],
    ];
    for (const [body, code, element] of cases) {
      const res = await api(sim, token, 'POST', '/journalentry', body);
      expect([res.status, res.body.Fault.type, res.body.Fault.Error[0].code, res.body.Fault.Error[0].element]).toEqual([400, 'ValidationFault', code, element]);
    }
    expect(sim.journalEntries()).toHaveLength(0);
  });

  it('answers 429 Fault 003001 to the eleventh concurrent request of a company', async () => {
    sim = await startSimulator({ latencyMs: 150, limits: { perSecond: 1000 } });
    const token = (await refresh(sim, sim.currentRefreshToken)).body.access_token;
    const answers = await Promise.all(Array.from({ length: 11 }, () => api(sim, token, 'GET', '/query?query=select%20*%20from%20Account')));
    const throttled = answers.filter((a) => a.status === 429);
    expect(throttled).toHaveLength(1);
    expect(throttled[0].body.Fault.Error[0].code).toBe('003001');
    expect(sim.stats.throttledConcurrent).toBe(1);
  });

  it('answers queries on JournalEntry by DocNumber and the chart of accounts, and refuses what it cannot parse', async () => {
    sim = await startSimulator();
    const token = (await refresh(sim, sim.currentRefreshToken)).body.access_token;
    await api(sim, token, 'POST', '/journalentry', entry([line('Debit', '35', '10.00'), line('Credit', '40', '10.00')]));
    const q = (text: string) => api(sim, token, 'GET', `/query?query=${encodeURIComponent(text)}&minorversion=75`);
    expect((await q("select * from JournalEntry where DocNumber = 'TW-SIM-1'")).body.QueryResponse.JournalEntry).toHaveLength(1);
    expect((await q("select * from JournalEntry where DocNumber = 'nope'")).body.QueryResponse).toEqual({});
    expect((await q('select * from Account maxresults 1000')).body.QueryResponse.Account.map((a: any) => a.AcctNum)).toContain('4000');
    const bad = await q('delete from JournalEntry');
    expect([bad.status, bad.body.Fault.Error[0].code]).toEqual([400, '4000']);
  });

  it('reads its command line (port, faults, closing date) and refuses an unknown flag', () => {
    expect(parseCliArgs(['--port', '0', '--lost-response-rate', '0.2', '--closing-date', '2026-06-30'])).toMatchObject({
      port: 0,
      closingDate: '2026-06-30',
      faults: { lostResponseRate: 0.2 },
    });
    expect(() => parseCliArgs(['--bogus'])).toThrow(/unknown option/);
  });
});
