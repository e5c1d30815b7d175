/**
 * Settlements through the Reports API, client against the simulator: getReports paging and
 * filters, getReportDocument, the streamed (and gzip) download read into a SettlementStream, and
 * the simulator's settlements reconciling with the orders it served.
 */
import { ConnectorError } from '../../nodes/runtime/http';
import { SETTLEMENT_REPORT_TYPE, USAGE_PLANS } from '../../nodes/amazon/contract';
import { openSettlementReport, settlementReports } from '../../nodes/amazon/settlements';
import { toMinor } from '../../nodes/model/money';
import type { SettlementLine } from '../../nodes/model/types.generated';
import type { AmazonSimulator, AmazonSimulatorOptions } from '../../simulators/amazon/simulator';
import { clientFor, get, ManualClock, startSimulator, token } from './support';

const EPOCH = '2026-09-01T00:00:00Z';
const DAY = 86_400_000;
const FAST_PLANS = { getReports: { rate: 100, burst: 100 }, getReportDocument: { rate: 100, burst: 100 } };

let clock: ManualClock;
let sim: AmazonSimulator;
async function start(opts: AmazonSimulatorOptions = {}) {
  clock = new ManualClock(Date.parse(EPOCH) + 60 * DAY);
  // 300 orders two hours apart: 25 days of orders, so two 14-day settlements per marketplace carry orders.
  sim = await startSimulator({ orders: 300, orderSpacingMs: 2 * 3_600_000, epoch: EPOCH, now: clock.now, throttling: false, pendingEvery: 0, ...opts });
  return clientFor(sim, { usagePlans: FAST_PLANS });
}
afterEach(() => sim?.stop());

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('getReports', () => {
  it('lists every finished settlement report, page after page with nextToken alone', async () => {
    const client = await start();
    const seen: string[] = [];
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const reports = await collect(settlementReports(client, { pageSize: 3 }));
    const queries = fetchSpy.mock.calls.map(([u]) => new URL(String(u))).filter((u) => u.pathname === '/reports/2021-06-30/reports');
    fetchSpy.mockRestore();
    for (const r of reports) seen.push(r.reportId);
    const expected = sim.settlements();
    expect(expected.length).toBe(16); // 4 periods ended by day 60 × 4 marketplaces
    expect(new Set(seen).size).toBe(16);
    expect(seen.sort()).toEqual(expected.map((s) => s.reportId).sort());
    expect(reports[0]).toMatchObject({
      reportType: SETTLEMENT_REPORT_TYPE,
      processingStatus: 'DONE',
      reportDocumentId: expect.stringMatching(/^amzn1\.spdoc\./),
    });
    expect(queries).toHaveLength(6);
    expect(queries[0].searchParams.get('reportTypes')).toBe(SETTLEMENT_REPORT_TYPE);
    expect(queries[0].searchParams.get('processingStatuses')).toBe('DONE');
    for (const q of queries.slice(1)) expect([...q.searchParams.keys()]).toEqual(['nextToken']);
  });

  it('filters by createdSince and marketplace; keeps nothing older than 90 days', async () => {
    const client = await start();
    const since = new Date(Date.parse(EPOCH) + 40 * DAY).toISOString();
    const recent = await collect(settlementReports(client, { createdSince: since, marketplaceIds: ['A1PA6795UKMFR9'] }));
    // Periods end on days 14, 28, 42, 56; reports are created an hour later: days 42 and 56 are since day 40, newest first.
    expect(recent.map((r) => r.dataStartTime)).toEqual(['2026-10-13T00:00:00Z', '2026-09-29T00:00:00Z']);
    expect(recent.every((r) => r.marketplaceIds?.[0] === 'A1PA6795UKMFR9' && Date.parse(r.createdTime) >= Date.parse(since))).toBe(true);
    clock.advance(120 * DAY);
    const old = await client.getReports({ reportTypes: [SETTLEMENT_REPORT_TYPE], createdSince: EPOCH });
    const oldest = Math.min(...old.reports.map((r) => Date.parse(r.createdTime)));
    expect(oldest).toBeGreaterThanOrEqual(clock.now() - 90 * DAY);
  });

  it('refuses nextToken with other parameters, no reportTypes, a bad pageSize, and createReport of a settlement', async () => {
    await start();
    const t = await token(sim);
    const first = await get(sim, `/reports/2021-06-30/reports?reportTypes=${SETTLEMENT_REPORT_TYPE}&pageSize=2`, t);
    expect(first.status).toBe(200);
    const mixed = await get(sim, `/reports/2021-06-30/reports?nextToken=${first.body.nextToken}&pageSize=2`, t);
    expect(mixed.status).toBe(400);
    expect((await get(sim, '/reports/2021-06-30/reports', t)).body.errors[0].code).toBe('InvalidInput');
    expect((await get(sim, `/reports/2021-06-30/reports?reportTypes=${SETTLEMENT_REPORT_TYPE}&pageSize=101`, t)).status).toBe(400);
    const create = await fetch(`${sim.url}/reports/2021-06-30/reports`, {
      method: 'POST',
      headers: { 'x-amz-access-token': t, 'content-type': 'application/json' },
      body: JSON.stringify({ reportType: SETTLEMENT_REPORT_TYPE, marketplaceIds: ['ATVPDKIKX0DER'] }),
    });
    expect(create.status).toBe(400);
  });

  it('is paced by the published usage plans: the simulator throttles the 11th quick getReports, the client holds its bucket to them', async () => {
    sim = await startSimulator({ orders: 10, epoch: EPOCH, now: () => Date.parse(EPOCH) + 60 * DAY });
    const t = await token(sim);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await get(sim, `/reports/2021-06-30/reports?reportTypes=${SETTLEMENT_REPORT_TYPE}`, t)).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
    const client = clientFor(sim);
    expect(client.bucket('getReports').rate).toBeCloseTo(USAGE_PLANS.getReports.rate * 0.98, 6);
    expect(client.bucket('getReports').burst).toBe(USAGE_PLANS.getReports.burst - 1);
    expect(client.bucket('getReportDocument').rate).toBeCloseTo(0.0167 * 0.98, 6);
  });
});

/** The customer-facing amount of an order's settlement lines (price, tax, shipping, promotions; not the tax Amazon withholds). */
const CUSTOMER = new Set(['principal', 'tax', 'shipping', 'promotion']);
const customerFacing = (l: SettlementLine) => CUSTOMER.has(l.type) && l.category !== 'withheld';

describe('a settlement document, streamed', () => {
  it.each([[{}], [{ gzip: true }], [{ gzip: true, decimalComma: true, dayFirstDates: true, promotionIdColumn: true }]])(
    'with %j reconciles: Σ lines = total-amount, each order’s price/tax/shipping/promotion lines = its OrderTotal, reserve held then released',
    async (format) => {
      const client = await start({ settlements: format });
      const reports = await collect(settlementReports(client, { marketplaceIds: ['A1PA6795UKMFR9', 'ATVPDKIKX0DER'] }));
      const byPeriod = reports.sort((a, b) => a.dataStartTime!.localeCompare(b.dataStartTime!) || a.marketplaceIds![0].localeCompare(b.marketplaceIds![0]));
      const reserves: Array<[string, string, string | undefined, number]> = [];
      let orderLines = 0;
      for (const r of byPeriod) {
        const s = await openSettlementReport(client, r, { account: 'A2SELLER' });
        const lines: SettlementLine[] = await collect(s.lines);
        expect(s.postable()).toBe(true);
        expect(lines.reduce((t, l) => t + l.amount.amount, 0)).toBe(s.header.statedTotal!.amount);
        expect(s.header).toMatchObject({
          periodStart: r.dataStartTime,
          periodEnd: r.dataEndTime,
          issuedAt: r.createdTime,
          attributes: { amazonReportId: r.reportId },
        });
        const perOrder = new Map<string, number>();
        for (const l of lines) {
          if (l.type === 'reserve') reserves.push([r.marketplaceIds![0], r.dataStartTime!, l.category, l.amount.amount]);
          if (l.orderRef && customerFacing(l)) perOrder.set(l.orderRef.channel!.id, (perOrder.get(l.orderRef.channel!.id) ?? 0) + l.amount.amount);
        }
        for (const [orderId, amount] of perOrder) {
          const order = sim.order(orderId)!;
          expect(order.OrderStatus).toBe('Shipped');
          expect(amount).toBe(toMinor(order.OrderTotal.Amount, order.OrderTotal.CurrencyCode));
        }
        orderLines += perOrder.size;
        const kinds = new Set(lines.map((l) => `${l.type}/${l.category ?? ''}`));
        if (perOrder.size) for (const k of ['principal/', 'tax/', 'shipping/', 'fee/commission', 'fee/fulfilment', 'reserve/held']) expect(kinds).toContain(k);
      }
      expect(orderLines).toBeGreaterThan(20);
      // Per marketplace: the hold of one settlement comes back as the release of the next.
      for (const mp of ['A1PA6795UKMFR9', 'ATVPDKIKX0DER']) {
        const mine = reserves.filter((x) => x[0] === mp);
        const held = mine.filter((x) => x[2] === 'held');
        const released = mine.filter((x) => x[2] === 'released');
        expect(held.length).toBeGreaterThan(0);
        expect(released.length).toBeGreaterThan(0);
        expect(released.map((x) => x[3])).toEqual(held.slice(0, released.length).map((x) => -x[3]));
      }
    },
  );

  it('writes EU files with a decimal comma and day-first dates, read to the same totals as the point form', async () => {
    await start({ settlements: { decimalComma: true, dayFirstDates: true } });
    const [first] = sim.settlements().filter((s) => s.marketplaceId === 'A1PA6795UKMFR9');
    const eu = sim.settlementText(first.reportId).split('\n');
    expect(eu[1]).toMatch(/\t01\.09\.2026 00:00:00 UTC\t15\.09\.2026 00:00:00 UTC\t17\.09\.2026 00:00:00 UTC\t-?\d+,\d{2}\tEUR\t/);
    const client = clientFor(sim, { usagePlans: FAST_PLANS });
    const s = await openSettlementReport(
      client,
      { reportId: first.reportId, reportDocumentId: first.reportDocumentId, createdTime: '' },
      { account: 'A2SELLER' },
    );
    await collect(s.lines);
    await sim.stop();
    const plain = await start();
    const again = await openSettlementReport(
      plain,
      { reportId: first.reportId, reportDocumentId: first.reportDocumentId, createdTime: '' },
      { account: 'A2SELLER' },
    );
    expect(again.header.statedTotal).toEqual(s.header.statedTotal);
  });

  it('refuses an expired document URL (403) without retrying it', async () => {
    const client = await start();
    const [r] = await collect(settlementReports(client, { pageSize: 1 }));
    const doc = await client.getReportDocument(r.reportDocumentId!);
    clock.advance(6 * 60_000);
    const err = await client.downloadReportDocument(doc).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ status: 403, attempts: 1 });
    expect(err.message).toContain('Request has expired');
    await expect(client.getReportDocument('amzn1.spdoc.1.4.na.nope')).rejects.toMatchObject({ status: 404 });
  });
});

describe('command line', () => {
  it('sets the settlement period, gzip and the EU number and date forms', async () => {
    const { parseCliArgs } = await import('../../simulators/amazon/simulator');
    expect(parseCliArgs(['--settlement-gzip', '--decimal-comma', '--eu-dates', '--settlement-days', '7'])).toMatchObject({
      settlements: { periodDays: 7, gzip: true, decimalComma: true, dayFirstDates: true },
    });
    expect(parseCliArgs([])).toMatchObject({ settlements: { periodDays: 1, gzip: false, decimalComma: false, dayFirstDates: false } });
  });
});
