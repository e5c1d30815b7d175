/** The Square simulator against its contract (docs/connectors/square.md). */
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { SquareSimulator } from '../../simulators/square/simulator';
import { api, startSim } from './support';

let sim: SquareSimulator;
afterEach(async () => {
  await sim?.stop();
});

const line = (currency: string, amount: number, quantity = '1') => ({
  name: 'Tee',
  quantity,
  catalog_object_id: 'VARX',
  base_price_money: { amount, currency },
});

describe('Square simulator: auth and conventions', () => {
  it('requires a Bearer token and echoes Square-Version', async () => {
    sim = await startSim();
    const anon = await fetch(`${sim.url}/v2/orders/NOPE`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as any).errors[0]).toMatchObject({ category: 'AUTHENTICATION_ERROR', code: 'UNAUTHORIZED' });
    const r = await api(sim, 'GET', '/v2/orders/NOPE', undefined, { 'square-version': '2024-01-18' });
    expect(r.status).toBe(404);
    expect(r.headers.get('square-version')).toBe('2024-01-18');
    expect(r.body.errors[0]).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('prices orders in integer minor units, JPY included, with string quantities and versions', async () => {
    sim = await startSim();
    const r = await api(sim, 'POST', '/v2/orders', {
      idempotency_key: 'k1',
      order: {
        location_id: 'L-TYO',
        line_items: [line('JPY', 1620, '3')],
        taxes: [{ uid: 'ct8', name: '消費税 8%', percentage: '8', type: 'INCLUSIVE', scope: 'ORDER' }],
      },
    });
    expect(r.status).toBe(200);
    const o = r.body.order;
    expect(o).toMatchObject({ state: 'OPEN', version: 1, total_money: { amount: 4860, currency: 'JPY' }, total_tax_money: { amount: 360, currency: 'JPY' } });
    expect(o.line_items[0]).toMatchObject({ quantity: '3', gross_sales_money: { amount: 4860 }, total_money: { amount: 4860 } });
    const paid = sim.payOrder(o.id);
    expect(paid).toMatchObject({ state: 'COMPLETED', version: 2 });
    expect(paid.tenders![0].amount_money).toEqual({ amount: 4860, currency: 'JPY' });
  });

  it('keeps CreateOrder and RefundPayment idempotent: same key and body → same answer, other body → IDEMPOTENCY_KEY_REUSED', async () => {
    sim = await startSim();
    const body = { idempotency_key: 'same', order: { location_id: 'L-LDN', line_items: [line('GBP', 1999)] } };
    const a = await api(sim, 'POST', '/v2/orders', body);
    const b = await api(sim, 'POST', '/v2/orders', body);
    expect(b.body.order.id).toBe(a.body.order.id);
    expect(sim.orders.size).toBe(1);
    const c = await api(sim, 'POST', '/v2/orders', { ...body, order: { ...body.order, line_items: [line('GBP', 2999)] } });
    expect(c.status).toBe(400);
    expect(c.body.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    const paid = sim.payOrder(a.body.order.id);
    const noKey = await api(sim, 'POST', '/v2/refunds', { payment_id: paid.tenders![0].payment_id, amount_money: { amount: 500, currency: 'GBP' } });
    expect(noKey.status).toBe(400);
    const refund = { idempotency_key: 'r1', payment_id: paid.tenders![0].payment_id, amount_money: { amount: 500, currency: 'GBP' } };
    const r1 = await api(sim, 'POST', '/v2/refunds', refund);
    const r2 = await api(sim, 'POST', '/v2/refunds', refund);
    expect(r2.body.refund.id).toBe(r1.body.refund.id);
    expect(sim.refunds.size).toBe(1);
  });

  it('answers 429 RATE_LIMITED (no Retry-After) above the configured rate', async () => {
    sim = await startSim({ rateLimit: { ratePerSecond: 1, burst: 2 }, now: () => 1_000_000 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await api(sim, 'GET', '/v2/orders/X'));
    expect(codes.map((c) => c.status)).toEqual([404, 404, 429]);
    expect(codes[2].body).toEqual({ errors: [{ category: 'RATE_LIMIT_ERROR', code: 'RATE_LIMITED', detail: expect.any(String) }] });
    expect(codes[2].headers.get('retry-after')).toBeNull();
  });
});

describe('Square simulator: SearchOrders', () => {
  beforeEach(async () => {
    sim = await startSim();
    for (let i = 0; i < 25; i++) sim.randomSale('L-LDN');
    sim.createOrder({ location_id: 'L-LDN', line_items: [line('GBP', 100)] }); // stays OPEN
    sim.randomSale('L-NYC');
  });

  it('pages with cursors (limit, ASC by updated_at), each order once, the original query required', async () => {
    const query = { sort: { sort_field: 'UPDATED_AT', sort_order: 'ASC' }, filter: { date_time_filter: { updated_at: { start_at: '2000-01-01T00:00:00Z' } } } };
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await api(sim, 'POST', '/v2/orders/search', { location_ids: ['L-LDN'], limit: 10, query, ...(cursor ? { cursor } : {}) });
      expect(r.status).toBe(200);
      seen.push(...r.body.orders.map((o: any) => o.id));
      cursor = r.body.cursor;
      pages++;
      if (cursor && pages === 1) {
        const other = await api(sim, 'POST', '/v2/orders/search', {
          location_ids: ['L-LDN'],
          limit: 10,
          cursor,
          query: { ...query, sort: { sort_field: 'UPDATED_AT', sort_order: 'DESC' } },
        });
        expect(other.status).toBe(400);
      }
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(26);
    const times = seen.map((id) => sim.orders.get(id)!.updated_at);
    expect([...times].sort()).toEqual(times);
  });

  it('filters by state, returns entries, and enforces the sort rule and limits', async () => {
    const open = await api(sim, 'POST', '/v2/orders/search', { location_ids: ['L-LDN', 'L-NYC'], query: { filter: { state_filter: { states: ['OPEN'] } } } });
    expect(open.body.orders).toHaveLength(1);
    const entries = await api(sim, 'POST', '/v2/orders/search', { location_ids: ['L-NYC'], return_entries: true });
    expect(entries.body.order_entries).toEqual([{ order_id: expect.any(String), version: 2, location_id: 'L-NYC' }]);
    const badSort = await api(sim, 'POST', '/v2/orders/search', {
      location_ids: ['L-LDN'],
      query: { filter: { date_time_filter: { updated_at: { start_at: '2000-01-01T00:00:00Z' } } } },
    });
    expect(badSort.status).toBe(400);
    expect(badSort.body.errors[0].category).toBe('INVALID_REQUEST_ERROR');
    expect((await api(sim, 'POST', '/v2/orders/search', { location_ids: Array(11).fill('L-LDN') })).status).toBe(400);
    expect((await api(sim, 'POST', '/v2/orders/search', { location_ids: ['L-LDN'], limit: 1001 })).status).toBe(400);
    const all = await api(sim, 'POST', '/v2/orders/search', { location_ids: ['L-LDN'] });
    expect(all.body.orders).toHaveLength(26); // default limit 500
    expect(all.body.cursor).toBeUndefined();
  });

  it('retrieves single orders and batches', async () => {
    const ids = [...sim.orders.keys()].slice(0, 3);
    const one = await api(sim, 'GET', `/v2/orders/${ids[0]}`);
    expect(one.body.order.id).toBe(ids[0]);
    const batch = await api(sim, 'POST', '/v2/orders/batch-retrieve', { order_ids: [...ids, 'MISSING'] });
    expect(batch.body.orders.map((o: any) => o.id)).toEqual(ids);
  });
});

describe('Square simulator: returns and webhooks', () => {
  let server: http.Server;
  let received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  let answer: (n: number) => number;
  let url: string;
  beforeEach(async () => {
    received = [];
    answer = () => 200;
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = answer(received.length);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as any).port}/hook`;
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('signs notification URL + raw body with the subscription key', async () => {
    sim = await startSim({ webhook: { url, signatureKey: 'k3y' } });
    sim.randomSale('L-LDN');
    await sim.flushWebhooks();
    expect(received.map((r) => JSON.parse(r.body).type)).toEqual(['order.created', 'order.updated']);
    for (const r of received) {
      const expected = createHmac('sha256', 'k3y')
        .update(url + r.body)
        .digest('base64');
      expect(r.headers['x-square-hmacsha256-signature']).toBe(expected);
      expect(r.headers['square-environment']).toBe('Sandbox');
      expect(JSON.parse(r.body)).toMatchObject({
        merchant_id: sim.merchantId,
        event_id: expect.any(String),
        data: { id: expect.any(String), object: expect.any(Object) },
      });
    }
  });

  it('retries a failed delivery with the same event_id and the retry headers', async () => {
    sim = await startSim({ webhook: { url, retryDelaysMs: [1, 1, 1] } });
    answer = (n) => (n <= 2 ? 500 : 200);
    sim.createOrder({ location_id: 'L-LDN', line_items: [line('GBP', 100)] });
    await sim.flushWebhooks();
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => JSON.parse(r.body).event_id)).size).toBe(1);
    expect(received.map((r) => r.headers['square-retry-number'])).toEqual([undefined, '1', '2']);
    expect(received[1].headers['square-retry-reason']).toBe('http_error');
    expect(received[2].headers['square-initial-delivery-timestamp']).toBe(received[0].headers['square-initial-delivery-timestamp']);
  });

  it('has switches for duplicates, drops and bad signatures', async () => {
    sim = await startSim({ webhook: { url, duplicates: 3, dropRate: 0.5, badSignatureRate: 0, retryDelaysMs: [] } });
    for (let i = 0; i < 20; i++) sim.createOrder({ location_id: 'L-LDN', line_items: [line('GBP', 100)] });
    await sim.flushWebhooks();
    expect(sim.dropped.size).toBeGreaterThan(0);
    expect(received).toHaveLength((20 - sim.dropped.size) * 3);
    sim.webhook.badSignatureRate = 1;
    sim.webhook.duplicates = 1;
    sim.webhook.dropRate = 0;
    received = [];
    sim.createOrder({ location_id: 'L-LDN', line_items: [line('GBP', 100)] });
    await sim.flushWebhooks();
    const good = createHmac('sha256', sim.webhook.signatureKey!)
      .update(url + received[0].body)
      .digest('base64');
    expect(received[0].headers['x-square-hmacsha256-signature']).not.toBe(good);
  });

  it('models an itemized return as a return order with return amounts, net amounts and its refund', async () => {
    sim = await startSim();
    const sale = sim.randomSale('L-LDN');
    const line0 = sale.line_items![0];
    const { order, refund } = sim.returnItems(sale.id, [{ lineUid: line0.uid!, quantity: '1' }]);
    expect(order.returns![0].source_order_id).toBe(sale.id);
    const ret = order.return_amounts!.total_money!.amount;
    expect(ret).toBeGreaterThan(0);
    expect(order.net_amounts!.total_money!.amount).toBe(-ret);
    expect(refund).toMatchObject({ status: 'COMPLETED', order_id: order.id, amount_money: { amount: ret } });
    expect(sim.events.slice(-2).map((e) => e.type)).toEqual(['order.created', 'refund.created']);
  });
});
