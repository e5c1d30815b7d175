/**
 * bol.com offer stock, below the node: the simulator's side of the contract over HTTP (bol's schema
 * checks, 202 + process status in the Shared API, the kit's faults) and setOfferStock on the real
 * client (SKU → offer, the amount bound, PENDING awaited, FAILURE and a pending bound as errors).
 */
import { BolSimulator, MEDIA_TYPE } from '../../simulators/bol/simulator';
import { setOfferStock, parseOfferMap, stockAmount } from '../../nodes/bol/offer-stock';
import { clientFor, get, startSimulator, token } from './support';

const offerOf = (sku: string) => BolSimulator.offerIdOf(sku);
let sim: BolSimulator;
afterEach(() => sim?.stop());

async function put(path: string, body: unknown, accessToken: string, contentType = MEDIA_TYPE) {
  const res = await fetch(sim.url + path, {
    method: 'PUT',
    headers: { accept: MEDIA_TYPE, 'content-type': contentType, authorization: `Bearer ${accessToken}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('simulator: PUT /retailer/offers/{offer-id}/stock', () => {
  it("answers 202 with a PENDING process status whose link is v10's Shared API; the status turns SUCCESS and the offer holds the amount", async () => {
    sim = await startSimulator({ orders: 0, processDelayMs: 300 });
    const t = await token(sim);
    const offerId = offerOf('SKU-0004');
    const r = await put(`/retailer/offers/${offerId}/stock`, { amount: 999, managedByRetailer: true }, t);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ entityId: offerId, eventType: 'UPDATE_OFFER_STOCK', status: 'PENDING' });
    expect(r.body.links[0].href).toBe(`${sim.url}/shared/process-status/${r.body.processStatusId}`);
    expect((await get(sim, `/shared/process-status/${r.body.processStatusId}`, t)).body.status).toBe('PENDING');
    const end = Date.now() + 5_000;
    let status = 'PENDING';
    while (status === 'PENDING' && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 50));
      status = (await get(sim, `/shared/process-status/${r.body.processStatusId}`, t)).body.status;
    }
    expect(status).toBe('SUCCESS');
    expect(sim.offer(offerId)).toMatchObject({ amount: 999, managedByRetailer: true, reference: 'SKU-0004' });
    expect((await get(sim, '/__simulator/offers')).body).toContainEqual(expect.objectContaining({ offerId, amount: 999 }));
    // v10 has no /retailer/process-status.
    expect((await get(sim, `/retailer/process-status/${r.body.processStatusId}`, t)).status).toBe(404);
  });

  it("refuses what bol's schema refuses: amount outside 0–999 or not whole, managedByRetailer missing, another media type", async () => {
    sim = await startSimulator({ orders: 0 });
    const t = await token(sim);
    const path = `/retailer/offers/${offerOf('SKU-0001')}/stock`;
    for (const amount of [1000, -1, 2.5, '3']) {
      const r = await put(path, { amount, managedByRetailer: false }, t);
      expect(r.status).toBe(400);
      expect(r.body.violations).toEqual([{ name: 'amount', reason: 'Must be a whole number from 0 to 999.' }]);
    }
    expect((await put(path, { amount: 3 }, t)).body.violations).toEqual([{ name: 'managedByRetailer', reason: 'Must be true or false.' }]);
    expect((await put(path, { amount: 3, managedByRetailer: false }, t, 'application/json')).status).toBe(415);
    expect(sim.stockUpdates).toEqual([]);
  });

  it('an offer it does not hold: 202, then FAILURE naming it', async () => {
    sim = await startSimulator({ orders: 0 });
    const t = await token(sim);
    const r = await put('/retailer/offers/nope/stock', { amount: 1, managedByRetailer: false }, t);
    expect(r.status).toBe(202);
    expect((await get(sim, `/shared/process-status/${r.body.processStatusId}`, t)).body).toMatchObject({
      status: 'FAILURE',
      errorMessage: 'Offer with id nope not found.',
    });
  });

  it("its bucket answers 429 with Retry-After; the kit's injected errors are 429, 500 or 503 and change nothing", async () => {
    sim = await startSimulator({ orders: 0, limits: { 'offers:stock': { limit: 1, windowSeconds: 10 } } });
    const t = await token(sim);
    const path = `/retailer/offers/${offerOf('SKU-0001')}/stock`;
    expect((await put(path, { amount: 1, managedByRetailer: true }, t)).status).toBe(202);
    const throttled = await put(path, { amount: 2, managedByRetailer: true }, t);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await sim.stop();

    sim = await startSimulator({ orders: 0, faults: { errorRate: 1, seed: 3, only: ['offers:stock'] } });
    const t2 = await token(sim);
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) statuses.add((await put(path, { amount: 5, managedByRetailer: true }, t2)).status);
    expect([...statuses].every((s) => [429, 500, 503].includes(s))).toBe(true);
    expect(sim.stockUpdates).toEqual([]);
    expect((await get(sim, '/retailer/orders', t2)).status).toBe(200); // other groups draw no faults
  });
});

describe('setOfferStock on the client', () => {
  const offers = { 'SKU-0001': offerOf('SKU-0001'), GONE: 'no-such-offer' };

  it('maps the figure to the offer and waits for SUCCESS', async () => {
    sim = await startSimulator({ orders: 0, processDelayMs: 200 });
    const r = await setOfferStock({ client: clientFor(sim), sku: 'SKU-0001', amount: 0, offers, managedByRetailer: false, pollMs: 20 });
    expect(r).toEqual({ offerId: offerOf('SKU-0001'), amount: 0, managedByRetailer: false, processStatusId: expect.any(String), status: 'SUCCESS' });
    expect(sim.stockUpdates).toEqual([{ offerId: offerOf('SKU-0001'), amount: 0, managedByRetailer: false, processStatusId: r.processStatusId }]);
  });

  it('still PENDING after the wait: a retryable timeout naming the offer and the process status', async () => {
    sim = await startSimulator({ orders: 0, processDelayMs: 5_000 });
    await expect(
      setOfferStock({ client: clientFor(sim), sku: 'SKU-0001', amount: 4, offers, managedByRetailer: true, waitMs: 300, pollMs: 50 }),
    ).rejects.toMatchObject({
      kind: 'timeout',
      retryable: true,
      message: expect.stringMatching(
        new RegExp(`offer ${offerOf('SKU-0001')} \\(SKU 'SKU-0001'\\): bol has not processed the stock update yet \\(process status \\d+\\)`),
      ),
    });
  });

  it('refuses an unknown SKU and a negative or fractional amount without a call; FAILURE is permanent with bol’s reason', async () => {
    sim = await startSimulator({ orders: 0 });
    const client = clientFor(sim);
    await expect(setOfferStock({ client, sku: 'SKU-0002', amount: 1, offers, managedByRetailer: true })).rejects.toMatchObject({
      cause: { kind: 'missing-reference', retryable: false, providerCode: 'UnknownSku' },
    });
    for (const amount of [-1, 2.5, Number.NaN]) {
      await expect(setOfferStock({ client, sku: 'SKU-0001', amount, offers, managedByRetailer: true })).rejects.toMatchObject({
        cause: { kind: 'value', providerCode: 'AmountOutOfRange' },
      });
    }
    expect(sim.stats['offers:stock']).toBeUndefined();
    await expect(setOfferStock({ client, sku: 'GONE', amount: 1, offers, managedByRetailer: true })).rejects.toMatchObject({
      cause: { kind: 'value', retryable: false, providerCode: 'ProcessFailure', providerMessage: 'Offer with id no-such-offer not found.' },
      message: expect.stringContaining("offer no-such-offer (SKU 'GONE'): bol refused the stock update"),
    });
  });

  it('an amount above 999 is sent as 999 (the most bol lists), marked capped with the amount asked for', async () => {
    sim = await startSimulator({ orders: 0 });
    const r = await setOfferStock({ client: clientFor(sim), sku: 'SKU-0001', amount: 1500, offers, managedByRetailer: true, pollMs: 20 });
    expect(r).toMatchObject({ amount: 999, capped: true, requested: 1500, status: 'SUCCESS' });
    expect(sim.stockUpdates.map((u) => u.amount)).toEqual([999]);
    expect(await setOfferStock({ client: clientFor(sim), sku: 'SKU-0001', amount: 999, offers, managedByRetailer: true, pollMs: 20 })).not.toHaveProperty(
      'capped',
    );
  });

  it('reads the offer map and the amount of each kind of figure', () => {
    expect(parseOfferMap('{"A": " x-1 "}')).toEqual({ map: { A: 'x-1' } });
    expect(parseOfferMap('{"A": 3}').invalid).toBe("the offer id of 'A' is not text");
    expect(parseOfferMap('[').invalid).toBeDefined();
    expect(parseOfferMap('')).toEqual({ map: {} });
    expect(stockAmount({ available: 7 }, 'inventory.ats')).toBe(7);
    expect(stockAmount({ onHand: 10, reserved: 3, safetyStock: 2 }, 'inventory.position')).toBe(5);
    expect(stockAmount({ onHand: 1, reserved: 3, safetyStock: 2 }, 'inventory.position')).toBe(0);
  });
});
