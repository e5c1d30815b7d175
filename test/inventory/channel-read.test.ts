/**
 * Each channel's read-back (nodes/<system>/stock-read.ts) against its simulator, through the real
 * client: the quantities the channel shows, read page by page; SKUs the channel does not know named
 * as unknown while the others are read; a 429 waited out and retried; and a malformed answer refused
 * with an error naming the SKU and what is wrong (a stub client gives the broken answer).
 */
import { ShopifyClient } from '../../nodes/shopify/client';
import { shopifyStockRead } from '../../nodes/shopify/stock-read';
import { amazonStockRead } from '../../nodes/amazon/stock-read';
import { SquareClient } from '../../nodes/square/client';
import { squareStockRead } from '../../nodes/square/stock-read';
import { BolClient } from '../../nodes/bol/client';
import { bolStockRead } from '../../nodes/bol/stock-read';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { clientFor as amazonClient } from '../amazon/support';

jest.setTimeout(30_000);

const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 2000, timeoutMs: 5000 };
const skus = (n: number) => Array.from({ length: n }, (_, i) => `SKU-${String(i + 1).padStart(4, '0')}`);
const figures = (r: { readings: Array<{ sku: string; available: number; locationId?: string }> }) =>
  r.readings.map((x) => [x.sku, x.locationId ?? '', x.available]);

describe('Shopify: inventoryItems with inventoryLevel quantities at the location', () => {
  const LOC = 'gid://shopify/Location/1';
  let sim: ShopifySimulator;
  let client: ShopifyClient;
  beforeAll(async () => {
    sim = new ShopifySimulator({ orders: 0 });
    await sim.start();
    client = new ShopifyClient({ shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
  });
  afterAll(() => sim.stop());

  it('reads available (committed and on hand beside it) page by page; a SKU not stocked there offers 0; a negative available offers 0', async () => {
    sim.setQuantity('SKU-0001', LOC, 'available', 4);
    sim.setQuantity('SKU-0002', LOC, 'available', -2);
    sim.setQuantity('SKU-0003', LOC, 'available', 11);
    sim.setQuantity('SKU-0005', LOC, 'available', 1);
    // Two items a page: five SKUs take three pages.
    const r = await shopifyStockRead(LOC, undefined, 2).read(client, skus(5));
    expect(figures(r)).toEqual([
      ['SKU-0001', LOC, 4],
      ['SKU-0002', LOC, 0],
      ['SKU-0003', LOC, 11],
      ['SKU-0004', LOC, 0],
      ['SKU-0005', LOC, 1],
    ]);
    expect(r.readings[1].attributes).toMatchObject({ shopify_available: '-2', shopify_committed: '0' });
    expect(r.readings[3].attributes).toEqual({ shopifyLevel: 'not stocked at this location' });
    expect(r.unknown).toEqual([]);
  });

  it("Shopify's states beside available (damaged, quality control, safety stock, reserved, committed) ride along, with the ERP location they belong to when the node knows it", async () => {
    sim.setQuantity('SKU-0006', LOC, 'available', 5);
    sim.setQuantity('SKU-0006', LOC, 'damaged', 2);
    sim.setQuantity('SKU-0006', LOC, 'quality_control', 1);
    sim.setQuantity('SKU-0006', LOC, 'safety_stock', 3);
    const [reading] = (await shopifyStockRead(LOC, 'WH/Stock').read(client, ['SKU-0006'])).readings;
    expect(reading.available).toBe(5);
    expect(reading.attributes).toEqual({
      erpLocation: 'WH/Stock',
      shopify_available: '5',
      shopify_committed: '0',
      shopify_on_hand: '11',
      shopify_damaged: '2',
      shopify_quality_control: '1',
      shopify_reserved: '0',
      shopify_safety_stock: '3',
    });
    expect((await shopifyStockRead(LOC).read(client, ['SKU-0006'])).readings[0].attributes).not.toHaveProperty('erpLocation');
  });

  it('a SKU the shop has no inventory item for is unknown; the others are read', async () => {
    const r = await shopifyStockRead(LOC).read(client, ['SKU-0001', 'NO-SUCH-SKU', "O'BRIEN"]);
    expect(figures(r)).toEqual([['SKU-0001', LOC, 4]]);
    expect(r.unknown).toEqual(['NO-SUCH-SKU', "O'BRIEN"]);
  });

  it("Shopify's rate limit (GraphQL THROTTLED, its answer to an empty cost bucket) is waited out and the read completes", async () => {
    const before = sim.stats.throttled;
    sim.exhaustCostBucket();
    const r = await shopifyStockRead(LOC).read(client, ['SKU-0001']);
    expect(figures(r)).toEqual([['SKU-0001', LOC, 4]]);
    expect(sim.stats.throttled).toBeGreaterThan(before);
  });

  it('a malformed answer is refused naming the SKU and the problem', async () => {
    const stub = (page: unknown) => ({ inventoryLevelsPage: async () => page }) as unknown as ShopifyClient;
    const level = (quantities: unknown) => ({ nodes: [{ id: 'i', sku: 'SKU-1', inventoryLevel: { quantities } }], pageInfo: { hasNextPage: false } });
    const read = (page: unknown) => shopifyStockRead(LOC).read(stub(page), ['SKU-1']);
    await expect(read(level([{ name: 'available', quantity: '3' }]))).rejects.toThrow(
      `the shopify answer is malformed: the inventory level of SKU 'SKU-1' has a quantity that is not a name and a whole number: {"name":"available","quantity":"3"}`,
    );
    await expect(read(level([{ name: 'committed', quantity: 1 }]))).rejects.toThrow(`the inventory level of SKU 'SKU-1' has no "available" quantity`);
    await expect(read({ nodes: [], pageInfo: { hasNextPage: true } })).rejects.toThrow('inventoryItems says there is a next page but gives no endCursor');
    await expect(read({ edges: [] })).rejects.toMatchObject({ cause: expect.objectContaining({ providerCode: 'MalformedAnswer', retryable: false }) });
  });
});

describe('Amazon: getListingsItem with fulfillmentAvailability', () => {
  const UK = 'A1F83G8C2ARO7P';
  const DE = 'A1PA6795UKMFR9';
  let sim: AmazonSimulator;
  beforeAll(async () => {
    sim = new AmazonSimulator({ orders: 0, marketplaceIds: [UK, DE] });
    await sim.start();
  });
  afterAll(() => sim.stop());

  it('reads the DEFAULT quantity per SKU and marketplace (a listing without one offers 0); an unlisted SKU is unknown', async () => {
    sim.setListingQuantity('SKU-0001', UK, 6);
    sim.setListingQuantity('SKU-0001', DE, 2);
    const r = await amazonStockRead(sim.sellerId, [UK, DE], 'DEFAULT').read(amazonClient(sim), ['SKU-0001', 'SKU-0002', 'NO-SUCH-SKU']);
    expect(figures(r)).toEqual([
      ['SKU-0001', UK, 6],
      ['SKU-0001', DE, 2],
      ['SKU-0002', UK, 0],
      ['SKU-0002', DE, 0],
    ]);
    expect(r.readings[2].attributes).toMatchObject({ amazonQuantity: 'none' });
    expect(r.unknown).toEqual([`NO-SUCH-SKU (${UK})`, `NO-SUCH-SKU (${DE})`]);
  });

  it('a 429 QuotaExceeded is waited out and the read completes', async () => {
    sim.exhaust('getListingsItem');
    const before = sim.stats.getListingsItem?.throttled ?? 0;
    const r = await amazonStockRead(sim.sellerId, [UK], 'DEFAULT').read(amazonClient(sim), ['SKU-0001']);
    expect(figures(r)).toEqual([['SKU-0001', '', 6]]);
    expect(sim.stats.getListingsItem.throttled).toBeGreaterThan(before);
  });

  it('a malformed answer is refused naming the listing and the problem', async () => {
    const stub = (listing: unknown) => ({ getListingsItem: async () => listing }) as any;
    const read = (listing: unknown) => amazonStockRead('S', [UK], 'DEFAULT').read(stub(listing), ['SKU-1']);
    await expect(read({ sku: 'SKU-1' })).rejects.toThrow(
      `the amazon answer is malformed: listing SKU-1 in ${UK}: no fulfillmentAvailability list, though includedData asked for it`,
    );
    await expect(read({ sku: 'SKU-1', fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: -1 }] })).rejects.toThrow(
      'the DEFAULT quantity is not a whole number of 0 or more: -1',
    );
  });
});

describe('Square: BatchRetrieveInventoryCounts, IN_STOCK per location', () => {
  let sim: SquareSimulator;
  let client: SquareClient;
  const count = async (sku: string, location: string, quantity: string) => {
    await client.batchChangeInventory({
      idempotency_key: `${sku}-${location}-${quantity}`,
      changes: [
        {
          type: 'PHYSICAL_COUNT',
          physical_count: {
            catalog_object_id: SquareSimulator.catalogObjectId(sku),
            state: 'IN_STOCK',
            location_id: location,
            quantity,
            occurred_at: new Date().toISOString(),
          },
        },
      ],
    });
  };
  beforeAll(async () => {
    sim = new SquareSimulator({});
    await sim.start();
    client = new SquareClient({ baseUrl: sim.url, accessToken: sim.accessToken, policy: FAST });
    await count('SKU-0001', 'L-LDN', '5');
    await count('SKU-0002', 'L-LDN', '3');
    await count('SKU-0002', 'L-NYC', '0');
    await count('SKU-0003', 'L-NYC', '2.5');
  });
  afterAll(() => sim.stop());

  it('reads every location cursor by cursor (a variation never counted offers 0, a fractional count its whole units); an unknown SKU is named', async () => {
    // Two counts a page: the four counts take two pages.
    const r = await squareStockRead(['L-LDN', 'L-NYC'], new Map(), 2).read(client, ['SKU-0001', 'SKU-0002', 'SKU-0003', 'NO-SUCH-SKU']);
    expect(figures(r)).toEqual([
      ['SKU-0001', 'L-LDN', 5],
      ['SKU-0001', 'L-NYC', 0],
      ['SKU-0002', 'L-LDN', 3],
      ['SKU-0002', 'L-NYC', 0],
      ['SKU-0003', 'L-LDN', 0],
      ['SKU-0003', 'L-NYC', 2],
    ]);
    expect(r.readings.map((x) => x.attributes?.squareQuantity)).toEqual(['5', 'none', '3', '0', 'none', '2.5']);
    expect(r.unknown).toEqual(['NO-SUCH-SKU']);
  });

  it('429 RATE_LIMITED answers are retried and the read completes', async () => {
    const before = sim.stats.rateLimited;
    sim.refuseNext(2);
    const r = await squareStockRead(['L-LDN'], new Map([['SKU-0001', SquareSimulator.catalogObjectId('SKU-0001')]])).read(client, ['SKU-0001']);
    expect(figures(r)).toEqual([['SKU-0001', 'L-LDN', 5]]);
    expect(sim.stats.rateLimited).toBe(before + 2);
  });

  it('a malformed answer is refused naming the SKU and the problem', async () => {
    const id = SquareSimulator.catalogObjectId('SKU-0001');
    const stub = (page: unknown) => ({ batchRetrieveInventoryCounts: async () => page }) as unknown as SquareClient;
    const read = (page: unknown) => squareStockRead(['L-LDN'], new Map([['SKU-0001', id]])).read(stub(page), ['SKU-0001']);
    await expect(read({ counts: [{ catalog_object_id: id, location_id: 'L-LDN', state: 'IN_STOCK', quantity: 5 }] })).rejects.toThrow(
      `the square answer is malformed: the count of ${id} (SKU 'SKU-0001') at L-LDN is not a decimal number as text: 5`,
    );
    await expect(read({ counts: {} })).rejects.toThrow('the square answer is malformed: counts is not a list');
  });
});

describe('bol.com: GET /retailer/offers/{offer-id} stock', () => {
  let sim: BolSimulator;
  let client: BolClient;
  const offers = Object.fromEntries(skus(3).map((s) => [s, BolSimulator.offerIdOf(s)]));
  beforeAll(async () => {
    // One offer read per second at the simulator: the client's pace (bol publishes none) runs into 429s.
    sim = new BolSimulator({ orders: 0, limits: { 'offers:get': { limit: 1, windowSeconds: 1 } } });
    await sim.start();
    client = new BolClient({
      endpoint: sim.url,
      tokenUrl: sim.tokenUrl,
      credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret },
      policy: FAST,
    });
  });
  afterAll(() => sim.stop());

  it("reads each offer's correctedStock (amount beside it), waiting out 429s; a SKU without an offer, or an offer bol does not know, is unknown", async () => {
    sim.setOfferAmount(offers['SKU-0001'], 8);
    sim.setOfferAmount(offers['SKU-0002'], 0);
    const r = await bolStockRead({ ...offers, 'SKU-GONE': '00000000-0000-0000-0000-000000000000' }).read(client, [
      'SKU-0001',
      'SKU-0002',
      'SKU-0003',
      'SKU-GONE',
      'NOT-MAPPED',
    ]);
    expect(figures(r)).toEqual([
      ['SKU-0001', '', 8],
      ['SKU-0002', '', 0],
      ['SKU-0003', '', 0],
    ]);
    expect(r.readings[0].attributes).toEqual({ bolOfferId: offers['SKU-0001'], bolAmount: '8', bolManagedByRetailer: 'false' });
    expect(r.unknown).toEqual(['SKU-GONE', 'NOT-MAPPED']);
    expect(sim.stats['offers:get'].throttled).toBeGreaterThan(0);
  });

  it('a malformed answer is refused naming the offer and the problem', async () => {
    const stub = (offer: unknown) => ({ getOffer: async () => offer }) as unknown as BolClient;
    const read = (offer: unknown) => bolStockRead({ 'SKU-1': 'o-1' }).read(stub(offer), ['SKU-1']);
    await expect(read({ offerId: 'o-1' })).rejects.toThrow("the bol answer is malformed: offer o-1 (SKU 'SKU-1') has no stock");
    await expect(read({ offerId: 'o-1', stock: { amount: 3 } })).rejects.toThrow(
      "offer o-1 (SKU 'SKU-1'): stock.amount and stock.correctedStock must be whole numbers of 0 or more, got 3 and undefined",
    );
  });
});
