/**
 * bol.com invoices as settlements: hand-built specification lines mapped to canonical lines
 * (sign from the seller's side, VAT as its own line, order references, unknown types as named
 * problems), the header's stated total, and an invoice read across several specification pages —
 * against a stub for the hand-built cases and against the simulator, whose invoices come from the
 * orders it served.
 */
import { mapSpecificationLine, settlementHeader, readSpecificationLine } from '../../nodes/bol/invoice-map';
import { readInvoiceSettlement, retailerInvoices, pollInvoices } from '../../nodes/bol/invoices';
import type { BolClient, InvoiceListItem } from '../../nodes/bol/client';
import { specificationJson } from '../../simulators/bol/invoices';
import { validateDocument } from '../../nodes/model/validate';
import { createStore } from '../../nodes/runtime/create-store';
import { SPECIFICATION_FIELDS } from '../../nodes/bol/contract';
import { ConnectorError } from '../../nodes/runtime/http';
import { BolSimulator } from '../../simulators/bol/simulator';
import { clientFor, get, startSimulator, token } from './support';

const at = (line: number, page = 1) => ({ invoiceId: '4500001', page, position: line, line });
const opts = { account: 'shop-1', currency: 'EUR' };

/** A specification line in bol's JSON form, amounts in bol's side as JSON numbers. */
function line(type: string, amount: number | string, extra: { vat?: number | string; orderId?: string; ean?: string; currency?: string; date?: string } = {}) {
  const props: Array<[string, string]> = [];
  if (extra.orderId) props.push(['ORDER_ID', extra.orderId]);
  if (extra.ean) props.push(['EAN', extra.ean]);
  if (extra.date) props.push(['TRANSACTION_DATE', extra.date]);
  return {
    id: '1',
    invoicedQuantity: { value: 1 },
    lineExtensionAmount: { value: amount, currencyID: extra.currency ?? 'EUR' },
    ...(extra.vat !== undefined ? { taxTotal: { TaxAmount: { value: extra.vat, currencyID: 'EUR' } } } : {}),
    item: { Name: { value: type }, AdditionalItemProperty: props.map(([n, v]) => ({ Name: { value: n }, Value: { value: v } })) },
  };
}

const lines = (r: ReturnType<typeof mapSpecificationLine>) => {
  if ('problem' in r) throw new Error(`unexpected problem: ${r.problem.reason}`);
  return r.lines;
};

describe('bol invoice specification lines → settlement lines', () => {
  it('turnover is principal money to the seller, with the order it belongs to', () => {
    const [l] = lines(mapSpecificationLine(line('TURNOVER', -25.9, { orderId: '1000000007', ean: '8710000000007', date: '2026-11-03' }), at(1), opts));
    expect(l).toEqual({
      lineId: '1',
      type: 'principal',
      description: 'TURNOVER',
      amount: { amount: 2590, currency: 'EUR' },
      orderRef: { id: 'bol:shop-1:1000000007', channel: { system: 'bol', account: 'shop-1', id: '1000000007' } },
      postedAt: '2026-11-03T00:00:00Z',
      source: { system: 'bol', type: 'invoice-specification', id: '4500001', line: 1 },
      attributes: { ean: '8710000000007', quantity: '1' },
    });
  });

  it('commission is a fee the seller pays, its VAT a tax line of its own', () => {
    const ls = lines(mapSpecificationLine(line('COMMISSION', 3.89, { vat: 0.82, orderId: '1000000007' }), at(2), opts));
    expect(ls.map((l) => [l.lineId, l.type, l.category, l.amount.amount])).toEqual([
      ['2', 'fee', 'commission', -389],
      ['2-vat', 'tax', 'vat', -82],
    ]);
    expect(ls[1].orderRef?.channel?.id).toBe('1000000007');
  });

  it('a shipping label is a shipping-label fee; a correction of a cost reverses that cost', () => {
    const [label] = lines(mapSpecificationLine(line('SHIPMENT_LABEL', 4.95), at(3), opts));
    expect(label).toMatchObject({ type: 'fee', category: 'shipping-label', amount: { amount: -495 } });
    const [back] = lines(mapSpecificationLine(line('CORRECTION_COMMISSION', -0.58), at(4), opts));
    expect(back).toMatchObject({ type: 'fee', category: 'commission', amount: { amount: 58 } });
  });

  it('a corrected turnover is a refund; a compensation a reimbursement; the catch-all correction an adjustment', () => {
    const [refund] = lines(mapSpecificationLine(line('CORRECTION_TURNOVER', 12.95, { orderId: '1000000010' }), at(5), opts));
    expect(refund).toMatchObject({ type: 'refund', category: 'principal', amount: { amount: -1295 } });
    const [comp] = lines(mapSpecificationLine(line('COMPENSATION', -7.5), at(6), opts));
    expect(comp).toMatchObject({ type: 'adjustment', category: 'reimbursement', amount: { amount: 750 } });
    const [corr] = lines(mapSpecificationLine(line('CORRECTION_CORRECTION', '1.00'), at(7), opts));
    expect(corr).toMatchObject({ type: 'adjustment', category: 'correction', amount: { amount: -100 } });
  });

  it('an unknown line type, an amount with too many decimals, another currency and a non-object are named problems, not lines', () => {
    const unknown = mapSpecificationLine(line('SPACE_RENTAL', 10), at(8, 2), opts);
    expect(unknown).toEqual({
      problem: {
        invoiceId: '4500001',
        page: 2,
        position: 8,
        line: 8,
        kind: 'unknown-type',
        reason: expect.stringMatching(/^invoice 4500001 page 2 line 8: line type SPACE_RENTAL is not one Tillwire knows/),
        raw: line('SPACE_RENTAL', 10),
      },
    });
    expect(mapSpecificationLine(line('COMMISSION', '1.234'), at(9), opts)).toMatchObject({
      problem: { kind: 'amount', reason: expect.stringMatching(/1\.234.*EUR allows 2/) },
    });
    expect(mapSpecificationLine(line('COMMISSION', 'ten'), at(9), opts)).toMatchObject({ problem: { kind: 'amount' } });
    expect(mapSpecificationLine(line('COMMISSION', 1, { currency: 'USD' }), at(10), opts)).toMatchObject({ problem: { kind: 'currency' } });
    expect(mapSpecificationLine('nope', at(11), opts)).toMatchObject({ problem: { kind: 'shape' } });
    expect(mapSpecificationLine({ lineExtensionAmount: { value: 1 } }, at(12), opts)).toMatchObject({ problem: { kind: 'unknown-type' } });
  });

  it('reads the line the way the simulator writes it', () => {
    const json = specificationJson(
      { type: 'PICK_PACK', amount: 260, vat: 55, quantity: 2, orderId: '1', orderItemId: '11', ean: 'E', date: '2026-11-02' },
      7,
      'EUR',
    );
    expect(readSpecificationLine(json)).toEqual({
      type: 'PICK_PACK',
      amount: 2.6,
      currency: 'EUR',
      vat: 0.55,
      vatCurrency: 'EUR',
      quantity: 2,
      orderId: '1',
      orderItemId: '11',
      ean: 'E',
      date: '2026-11-02',
    });
  });
});

const listed = (payable: number | string, extra: Partial<InvoiceListItem> = {}): InvoiceListItem => ({
  invoiceId: '4500001',
  invoiceType: 'ALL_IN_ONE',
  issueDate: '2026-11-16T06:00:00Z',
  invoicePeriod: { startDate: '2026-11-01', endDate: '2026-11-15' },
  legalMonetaryTotal: { payableAmount: { amount: payable, currencyID: 'EUR' } },
  ...extra,
});

describe('bol invoice → settlement header', () => {
  it('statedTotal is payableAmount from the seller: negative payable (bol owes) is money to the seller', () => {
    const h = settlementHeader(listed(-1336.3), { account: 'shop-1' });
    expect(h).toEqual({
      kind: 'settlement',
      settlementId: '4500001',
      channel: { system: 'bol', account: 'shop-1', id: '4500001' },
      periodStart: '2026-11-01T00:00:00Z',
      periodEnd: '2026-11-16T00:00:00Z',
      currency: 'EUR',
      statedTotal: { amount: 133630, currency: 'EUR' },
      issuedAt: '2026-11-16T06:00:00Z',
      attributes: { bolInvoiceType: 'ALL_IN_ONE' },
    });
    expect(settlementHeader(listed(12.5), { account: 'a' }).statedTotal).toEqual({ amount: -1250, currency: 'EUR' });
  });

  it('an invoice without a payable amount, currency or period is refused by name', () => {
    expect(() => settlementHeader(listed('1.005'), { account: 'a' })).toThrow(/invoice 4500001: payableAmount "1.005"/);
    expect(() => settlementHeader({ ...listed(1), legalMonetaryTotal: {} }, { account: 'a' })).toThrow(/no currency/);
    expect(() => settlementHeader(listed(1, { invoicePeriod: { startDate: 'soon', endDate: '2026-11-15' } }), { account: 'a' })).toThrow(/invoicePeriod/);
  });
});

/** A client whose specification pages are given by hand (only what readInvoiceSettlement calls). */
function stubClient(pages: unknown[][]): BolClient & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    async getInvoiceSpecification(_id: string, page: number) {
      asked.push(page);
      const p = pages[page - 1];
      return p ? { [SPECIFICATION_FIELDS.lines]: p } : {};
    },
  } as unknown as BolClient & { asked: number[] };
}

describe('bol invoice read across specification pages', () => {
  it('reads every page until one has no lines; lines number on across pages; Σ lines = stated total', async () => {
    const client = stubClient([
      [line('TURNOVER', -100, { orderId: '1' }), line('COMMISSION', 15, { vat: 3.15, orderId: '1' })],
      [line('SHIPMENT_LABEL', 4.95, { vat: 1.04, orderId: '1' }), line('CORRECTION_TURNOVER', 20, { orderId: '1' })],
      [line('COMPENSATION', -5)],
    ]);
    // bol's side: −100 + 15 + 3.15 + 4.95 + 1.04 + 20 − 5 = −60.86 (bol owes 60.86)
    const { settlement, pages, problems } = await readInvoiceSettlement(client, listed(-60.86), { account: 'shop-1' });
    expect(client.asked).toEqual([1, 2, 3, 4]);
    expect([pages, problems]).toEqual([3, 0]);
    expect(settlement.lines.map((l) => l.lineId)).toEqual(['1', '2', '2-vat', '3', '3-vat', '4', '5']);
    expect(settlement.lines.map((l) => l.source?.line)).toEqual([1, 2, 2, 3, 3, 4, 5]);
    expect(settlement.netTotal).toEqual({ amount: 6086, currency: 'EUR' });
    expect(settlement.statedTotal).toEqual(settlement.netTotal);
    expect(validateDocument('settlement', settlement)).toMatchObject({ valid: true });
  });

  it('an unknown line type is reported and left out: the settlement then does not add up, and says how many lines are missing', async () => {
    const client = stubClient([[line('TURNOVER', -100)], [line('MYSTERY_FEE', 2.5), line('COMMISSION', 15)]]);
    const seen: unknown[] = [];
    const { settlement, problems } = await readInvoiceSettlement(client, listed(-82.5), { account: 'a', onProblem: (p) => void seen.push(p) });
    expect(problems).toBe(1);
    expect(seen).toEqual([expect.objectContaining({ page: 2, position: 1, line: 2, kind: 'unknown-type', reason: expect.stringContaining('MYSTERY_FEE') })]);
    expect(settlement.lines.map((l) => l.description)).toEqual(['TURNOVER', 'COMMISSION']);
    expect(settlement.netTotal.amount).toBe(8500);
    expect(settlement.statedTotal!.amount - settlement.netTotal.amount).toBe(-250);
    expect(settlement.attributes).toMatchObject({ bolBadLines: '1' });
  });

  it('a specification beyond the page bound is an error, not a truncated settlement', async () => {
    const client = stubClient([[line('TURNOVER', -1)], [line('TURNOVER', -1)], [line('TURNOVER', -1)]]);
    await expect(readInvoiceSettlement(client, listed(-3), { account: 'a', maxPages: 2 })).rejects.toThrow(/more than 2 pages/);
  });
});

describe('bol invoices against the simulator', () => {
  const DAY = 86_400_000;
  let sim: BolSimulator;
  beforeAll(async () => {
    // 60 orders from 40 days ago, 12 h apart: three half-month invoices are issued; 7 lines a page.
    // Pacing has its own test below: here the simulator does not throttle and the client does not wait.
    sim = await startSimulator({
      orders: 60,
      epoch: new Date(Date.now() - 40 * DAY).toISOString(),
      orderSpacingMs: 12 * 3_600_000,
      specificationPageSize: 7,
      throttling: false,
    });
  });
  const unpaced = { limit: 1000, windowSeconds: 1 };
  const clientOf = (s: BolSimulator, extra: Parameters<typeof clientFor>[1] = {}) =>
    clientFor(s, { limits: { 'invoices:list': unpaced, 'invoices:get': unpaced, 'invoices:specification': unpaced }, ...extra });
  afterAll(() => sim.stop());

  it('lists the ALL_IN_ONE invoices in slices of at most 31 days, each settlement adding up to its stated total', async () => {
    const client = clientOf(sim);
    const issued = sim.invoices.summary();
    expect(issued.length).toBeGreaterThanOrEqual(2);
    const items = await retailerInvoices(client, Date.now() - 70 * DAY, Date.now());
    expect(items.map((i) => i.invoiceId).sort()).toEqual(issued.map((i) => i.invoiceId).sort());
    expect(sim.stats['invoices:list'].requests).toBe(3); // 71 days: three slices
    for (const item of items) {
      const pagesBefore = sim.stats['invoices:specification']?.requests ?? 0;
      const { settlement, pages, problems } = await readInvoiceSettlement(client, item, { account: 'shop-1' });
      const expected = issued.find((i) => i.invoiceId === item.invoiceId)!;
      expect(problems).toBe(0);
      expect(pages).toBe(Math.ceil((expected.lines as number) / 7));
      expect(sim.stats['invoices:specification'].requests - pagesBefore).toBe(pages + 1);
      expect(settlement.netTotal).toEqual(settlement.statedTotal);
      expect(settlement.statedTotal!.amount).toBe(-(expected.payable as number));
      expect(validateDocument('settlement', settlement)).toMatchObject({ valid: true });
      // Every line with an order names an order the simulator served, and its turnover is what the customer paid for what shipped.
      for (const l of settlement.lines) if (l.orderRef) expect(sim.order(l.orderRef.channel!.id)).toBeDefined();
    }
  });

  it('the turnover of an invoice is the shipped value of the orders placed in its period', async () => {
    const client = clientOf(sim);
    const [item] = await retailerInvoices(client, Date.now() - 70 * DAY, Date.now());
    const { settlement } = await readInvoiceSettlement(client, item, { account: 'a' });
    let expected = 0;
    for (const id of sim.orderIds()) {
      const o = sim.order(id)!;
      const placed = Date.parse(o.orderPlacedDateTime);
      if (placed < Date.parse(settlement.periodStart) || placed >= Date.parse(settlement.periodEnd)) continue;
      for (const it of o.orderItems) expected += Math.round(it.unitPrice * 100) * it.quantityShipped;
    }
    const turnover = settlement.lines.filter((l) => l.type === 'principal').reduce((s, l) => s + l.amount.amount, 0);
    expect(turnover).toBe(expected);
    expect(turnover).toBeGreaterThan(0);
  });

  it('the poll stores each invoice once in the inbox and moves the cursor; a second poll finds them again as duplicates', async () => {
    const store = createStore({ backend: 'memory' });
    await store.open();
    const accepted = new Map<string, InvoiceListItem>();
    const accept = async (eventId: string, item: InvoiceListItem) => {
      const duplicate = accepted.has(eventId);
      accepted.set(eventId, item);
      return { duplicate };
    };
    const client = clientOf(sim);
    const first = await pollInvoices({ client, store, cursorKey: 'c', accept, lookbackDays: 62 });
    expect(first).toMatchObject({ accepted: sim.invoices.summary().length, duplicates: 0, advanced: true });
    expect(await store.kvGet('c')).toEqual({ listedUntil: new Date().toISOString().slice(0, 10) });
    const second = await pollInvoices({ client, store, cursorKey: 'c', accept });
    expect(second).toMatchObject({ accepted: 0, duplicates: first.accepted });
    expect([...accepted.keys()].sort()).toEqual(
      sim.invoices
        .summary()
        .map((i) => `invoice:${i.invoiceId}`)
        .sort(),
    );
    await store.close();
  });

  it("the simulator keeps bol's rules: both dates or neither, at most 31 days, page ≥ 1, 404 for an unknown invoice, the PDF form", async () => {
    const t = await token(sim);
    expect((await get(sim, '/retailer/invoices?period-start-date=2026-01-01', t)).status).toBe(400);
    const long = await get(sim, '/retailer/invoices?period-start-date=2026-01-01&period-end-date=2026-02-01', t);
    expect(long.status).toBe(400);
    expect(long.body.violations).toEqual([{ name: 'period-end-date', reason: 'The period can be no longer than 31 days.' }]);
    expect((await get(sim, '/retailer/invoices?period-start-date=2026-01-01&period-end-date=2026-01-31', t)).status).toBe(200);
    const [inv] = sim.invoices.summary();
    expect((await get(sim, `/retailer/invoices/${inv.invoiceId}/specification?page=0`, t)).status).toBe(400);
    expect((await get(sim, '/retailer/invoices/999/specification', t)).status).toBe(404);
    const pdf = await fetch(`${sim.url}/retailer/invoices/${inv.invoiceId}`, {
      headers: { authorization: `Bearer ${t}`, accept: 'application/vnd.retailer.v10+pdf' },
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/vnd.retailer.v10+pdf');
    expect((await pdf.text()).startsWith('%PDF-')).toBe(true);
    const json = await clientOf(sim).getInvoice(String(inv.invoiceId));
    expect(json).toMatchObject({ invoiceId: inv.invoiceId, invoiceType: 'ALL_IN_ONE', legalMonetaryTotal: { payableAmount: { currencyID: 'EUR' } } });
    const sheet = await get(
      sim,
      `/retailer/invoices/${inv.invoiceId}/specification`,
      t,
      'application/vnd.retailer.v10+openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(sheet.status).toBe(406);
  });

  it('the invoice endpoints are paced per group; a 429 carries Retry-After and the client waits it out', async () => {
    const small = await startSimulator({
      orders: 30,
      epoch: new Date(Date.now() - 40 * DAY).toISOString(),
      orderSpacingMs: 24 * 3_600_000,
      limits: { 'invoices:specification': { limit: 2, windowSeconds: 1 } },
    });
    try {
      const t = await token(small);
      const [inv] = small.invoices.summary();
      const codes: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${small.url}/retailer/invoices/${inv.invoiceId}/specification?page=1`, {
          headers: { authorization: `Bearer ${t}`, accept: 'application/vnd.retailer.v10+json' },
        });
        codes.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
        else expect(r.headers.get('x-ratelimit-limit')).toBe('2');
      }
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // The client, told the real limit, reads a specification of several pages without failing.
      const client = clientFor(small, { limits: { 'invoices:specification': { limit: 2, windowSeconds: 1 } }, maxInFlight: 1, burstReserve: 0 });
      const [item] = await client.listInvoices({ periodStartDate: inv.start as string, periodEndDate: inv.end as string });
      const { settlement } = await readInvoiceSettlement(client, item, { account: 'a' });
      expect(settlement.netTotal).toEqual(settlement.statedTotal);
    } finally {
      await small.stop();
    }
  });

  it('a failed call reaches the caller as a ConnectorError (no settlement is made of part of an invoice)', async () => {
    const client = clientOf(sim, { policy: { maxAttempts: 1, timeoutMs: 2000 } });
    await expect(readInvoiceSettlement(client, listed(-1, { invoiceId: 'no-such-invoice' }), { account: 'a' })).rejects.toBeInstanceOf(ConnectorError);
  });
});
