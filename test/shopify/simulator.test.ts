import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { hmacSha256Base64 } from '../../nodes/runtime/webhook';
import { ShopifyClient, ORDERS_QUERY } from '../../nodes/shopify/client';
import { DEFAULT_API_VERSION } from '../../nodes/shopify/contract';

const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5000 };

describe('Shopify simulator contract', () => {
  let sim: ShopifySimulator;
  beforeEach(async () => {
    sim = new ShopifySimulator({ orders: 30, maximumAvailable: 100, restoreRate: 50 });
    await sim.start();
  });
  afterEach(() => sim.stop());

  const gql = (body: unknown, token = sim.accessToken, version = DEFAULT_API_VERSION) =>
    fetch(`${sim.url}/admin/api/${version}/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
      body: JSON.stringify(body),
    });

  it('requires X-Shopify-Access-Token and a versioned path', async () => {
    const bad = await gql({ query: ORDERS_QUERY, variables: { first: 1 } }, 'wrong');
    expect(bad.status).toBe(401);
    expect((await bad.json()).errors).toMatch(/Invalid API key or access token/);
    expect((await gql({ query: ORDERS_QUERY }, sim.accessToken, 'v1')).status).toBe(404);
  });

  it('pages orders by updated_at with opaque cursors and reports the calculated cost', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let cost: any;
    for (;;) {
      const res = await gql({ query: ORDERS_QUERY, variables: { first: 7, after, query: "updated_at:>'2025-03-01T00:05:00Z'" } });
      const body: any = await res.json();
      cost = body.extensions.cost;
      expect(cost.requestedQueryCost).toBe(2 + 7 * 3);
      const edges = body.data.orders.edges;
      seen.push(...edges.map((e: any) => e.node.legacyResourceId));
      if (!body.data.orders.pageInfo.hasNextPage) break;
      after = body.data.orders.pageInfo.endCursor;
    }
    const expected = sim
      .allOrders()
      .filter((o) => Date.parse(o.updated_at) > Date.parse('2025-03-01T00:05:00Z'))
      .map((o) => String(o.id));
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    expect(cost.throttleStatus).toMatchObject({ maximumAvailable: 100, restoreRate: 50 });
    expect(typeof cost.throttleStatus.currentlyAvailable).toBe('number');
  });

  it('answers THROTTLED (HTTP 200) when the bucket holds less than the requested cost, and charges nothing', async () => {
    const first = await (await gql({ query: ORDERS_QUERY, variables: { first: 30 } })).json();
    expect(first.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(100 - 2 - 30 * 3 + 5);
    const res = await gql({ query: ORDERS_QUERY, variables: { first: 30 } });
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.errors[0]).toMatchObject({ message: 'Throttled', extensions: { code: 'THROTTLED' } });
    expect(body.extensions.cost.requestedQueryCost).toBe(92);
    expect(sim.stats.throttled).toBe(1);
  });

  it('generates exact money in 0, 2 and 3 decimal currencies with discounts, shipping, taxes and refunds', () => {
    const orders = sim.allOrders();
    expect(new Set(orders.map((o) => o.currency))).toEqual(new Set(['USD', 'GBP', 'EUR', 'JPY', 'KWD', 'BHD']));
    expect(orders.find((o) => o.currency === 'JPY')!.total_price).toMatch(/^\d+$/);
    expect(orders.find((o) => o.currency === 'KWD')!.total_price).toMatch(/^\d+\.\d{3}$/);
    expect(orders.some((o) => o.refunds.length)).toBe(true);
    expect(orders.some((o) => o.cancelled_at)).toBe(true);
    expect(orders.some((o) => o.line_items.some((l: any) => l.discount_allocations.length))).toBe(true);
    // deterministic
    expect(new ShopifySimulator({ orders: 30 }).allOrders()).toEqual(orders);
  });

  it('inventorySetQuantities: idempotency key replays the first result without applying twice; compare-and-swap; mismatched reuse', async () => {
    const client = new ShopifyClient({ shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
    const input = {
      name: 'available' as const,
      reason: 'correction',
      quantities: [
        { inventoryItemId: 'gid://shopify/InventoryItem/1', locationId: 'gid://shopify/Location/1', quantity: 7, changeFromQuantity: 0 as number | null },
      ],
    };
    const a = await client.setInventory(input, 'key-1');
    const b = await client.setInventory(input, 'key-1');
    expect(b).toEqual(a);
    expect(a.changes[0]).toMatchObject({ delta: 7, quantityAfterChange: 7 });
    expect(sim.inventory.get('gid://shopify/InventoryItem/1|gid://shopify/Location/1|available')).toBe(7);
    await expect(client.setInventory({ ...input, quantities: [{ ...input.quantities[0], quantity: 9 }] }, 'key-1')).rejects.toThrow(
      /IDEMPOTENCY_KEY_PARAMETER_MISMATCH/,
    );
    await expect(client.setInventory(input, 'key-2')).rejects.toThrow(/CHANGE_FROM_QUANTITY_STALE/);
    expect(sim.inventory.get('gid://shopify/InventoryItem/1|gid://shopify/Location/1|available')).toBe(7);
    // null skips the check: the figure sent is set whatever the shop holds
    await client.setInventory({ ...input, quantities: [{ ...input.quantities[0], quantity: 4, changeFromQuantity: null }] }, 'key-3');
    expect(sim.inventory.get('gid://shopify/InventoryItem/1|gid://shopify/Location/1|available')).toBe(4);
    const res: any = await (
      await gql({ query: 'mutation { inventorySetQuantities(input: $input) { userErrors { code } } }', variables: { input } }, sim.accessToken, '2026-04')
    ).json();
    expect(res.data.inventorySetQuantities.userErrors[0].code).toBe('IDEMPOTENCY_KEY_REQUIRED');
  });

  it('inventorySetQuantities enforces the compare-and-swap form of the requested version', async () => {
    const SET =
      'mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $input) @idempotent(key: $k) { inventoryAdjustmentGroup { id } userErrors { code field message } } }';
    const q = { inventoryItemId: 'gid://shopify/InventoryItem/2', locationId: 'gid://shopify/Location/1', quantity: 5 };
    const send = async (version: string, input: Record<string, unknown>, k: string) =>
      (await gql({ query: SET, variables: { input, k } }, sim.accessToken, version)).json() as Promise<any>;
    const stock = () => sim.inventory.get('gid://shopify/InventoryItem/2|gid://shopify/Location/1|available');
    // 2026-04 and later: changeFromQuantity must be named on every quantity
    const omitted = await send('2026-10', { name: 'available', reason: 'correction', quantities: [q] }, 'v1');
    expect(omitted.data.inventorySetQuantities.userErrors[0]).toMatchObject({
      code: 'COMPARE_QUANTITY_REQUIRED',
      field: ['input', 'quantities', '0', 'changeFromQuantity'],
    });
    // … and the old fields are not in the schema any more: a GraphQL error, nothing applied
    const ignore = await send('2026-10', { name: 'available', reason: 'correction', ignoreCompareQuantity: true, quantities: [q] }, 'v2');
    expect(ignore.data).toBeUndefined();
    expect(ignore.errors[0].message).toMatch(/ignoreCompareQuantity/);
    const compare = await send('2026-04', { name: 'available', reason: 'correction', quantities: [{ ...q, compareQuantity: 0 }] }, 'v3');
    expect(compare.errors[0].message).toMatch(/compareQuantity/);
    expect(stock()).toBeUndefined();
    // before 2026-01 the old form still works, and changeFromQuantity is the unknown field there
    const old = await send('2025-10', { name: 'available', reason: 'correction', ignoreCompareQuantity: true, quantities: [q] }, 'v4');
    expect(old.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(stock()).toBe(5);
    expect(
      (await send('2025-10', { name: 'available', reason: 'correction', quantities: [{ ...q, changeFromQuantity: null }] }, 'v5')).errors[0].message,
    ).toMatch(/changeFromQuantity/);
  });

  it('2026-10: a key whose attempt failed is refused; the client moves along a fixed key chain, and a repeat replays without a second apply', async () => {
    const client = new ShopifyClient({ shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
    const at = 'gid://shopify/InventoryItem/4|gid://shopify/Location/1|available';
    const doc = {
      name: 'available' as const,
      reason: 'correction',
      quantities: [
        { inventoryItemId: 'gid://shopify/InventoryItem/4', locationId: 'gid://shopify/Location/1', quantity: 9, changeFromQuantity: 5 as number | null },
      ],
    };
    await expect(client.setInventory(doc, 'doc-1')).rejects.toThrow(/CHANGE_FROM_QUANTITY_STALE/);
    await client.setInventory({ ...doc, quantities: [{ ...doc.quantities[0], quantity: 5, changeFromQuantity: null }] }, 'other-1');
    const groups = sim.adjustmentGroups.length;
    // the same document again: Shopify refuses doc-1 (its attempt failed), doc-1~2 applies
    const first = await client.setInventory(doc, 'doc-1');
    expect(sim.inventory.get(at)).toBe(9);
    expect(sim.adjustmentGroups.length).toBe(groups + 1);
    // and once more: doc-1 refused again, doc-1~2 replays its result, nothing applied twice
    expect(await client.setInventory(doc, 'doc-1')).toEqual(first);
    expect(sim.adjustmentGroups.length).toBe(groups + 1);
    // raw: what Shopify answers on the failed key
    const res: any = await (
      await gql(
        {
          query:
            'mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $input) @idempotent(key: $k) { userErrors { code } } }',
          variables: { input: doc, k: 'doc-1' },
        },
        sim.accessToken,
        '2026-10',
      )
    ).json();
    expect(res.data.inventorySetQuantities.userErrors[0].code).toBe('IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED');
  });

  it('the client sends the pre-2026-01 form to a shop configured on an older version', async () => {
    const client = new ShopifyClient({ shop: sim.shop, apiVersion: '2025-10', accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
    const base = { name: 'available' as const, reason: 'correction' };
    const q = { inventoryItemId: 'gid://shopify/InventoryItem/3', locationId: 'gid://shopify/Location/1' };
    await client.setInventory({ ...base, quantities: [{ ...q, quantity: 6, changeFromQuantity: null }] }, 'old-1');
    await expect(client.setInventory({ ...base, quantities: [{ ...q, quantity: 8, changeFromQuantity: 1 }] }, 'old-2')).rejects.toThrow(
      /COMPARE_QUANTITY_STALE/,
    );
    await client.setInventory({ ...base, quantities: [{ ...q, quantity: 8, changeFromQuantity: 6 }] }, 'old-3');
    expect(sim.inventory.get('gid://shopify/InventoryItem/3|gid://shopify/Location/1|available')).toBe(8);
  });

  it('fulfillmentCreate closes the open fulfilment order and sends orders/updated; a second call finds nothing open', async () => {
    const client = new ShopifyClient({ shop: sim.shop, apiVersion: DEFAULT_API_VERSION, accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
    const open = sim.allOrders().find((o) => !o.fulfillment_status && !o.cancelled_at)!;
    const r = await client.fulfil(String(open.id), { company: 'DHL', number: 'JD0001' });
    expect(r.alreadyFulfilled).toBe(false);
    expect(r.fulfillment.trackingInfo[0]).toMatchObject({ number: 'JD0001' });
    expect(sim.order(open.id)!.fulfillment_status).toBe('fulfilled');
    expect(Date.parse(sim.order(open.id)!.updated_at)).toBeGreaterThan(Date.parse(open.updated_at));
    expect((await client.fulfil(String(open.id))).alreadyFulfilled).toBe(true);
  });

  describe('webhooks', () => {
    let server: http.Server;
    let url: string;
    let received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
    let answer: (n: number) => number;
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
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterEach(() => new Promise((r) => server.close(r)));

    it('signs the raw body with the app secret and sends every documented header', async () => {
      sim.subscribe(url);
      const order = sim.createOrder();
      await sim.settle();
      expect(received).toHaveLength(1);
      const { headers, body } = received[0];
      expect(headers['x-shopify-hmac-sha256']).toBe(hmacSha256Base64(sim.appSecret, body));
      expect(headers).toMatchObject({ 'x-shopify-topic': 'orders/create', 'x-shopify-shop-domain': sim.shop, 'x-shopify-api-version': '2026-10' });
      for (const h of ['x-shopify-event-id', 'x-shopify-webhook-id', 'x-shopify-triggered-at']) expect(headers[h]).toBeTruthy();
      expect(JSON.parse(body)).toEqual(order);
    });

    it('retries a non-2xx answer with the same body and ids', async () => {
      answer = (n) => (n < 3 ? 500 : 200);
      sim.subscribe(url);
      sim.createOrder();
      await sim.settle();
      expect(received).toHaveLength(3);
      for (const r of received.slice(1)) {
        expect(r.body).toBe(received[0].body);
        expect(r.headers['x-shopify-event-id']).toBe(received[0].headers['x-shopify-event-id']);
        expect(r.headers['x-shopify-webhook-id']).toBe(received[0].headers['x-shopify-webhook-id']);
      }
      expect(sim.deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
    });

    it('switches: duplicates, out of order, dropped and bad signatures', async () => {
      sim.webhooks = { ...sim.webhooks, duplicates: 3, outOfOrder: true, dropRate: 0.2, badSignatureRate: 0.2, maxRetries: 0 };
      sim.subscribe(url);
      const orders = Array.from({ length: 40 }, () => sim.createOrder());
      await sim.settle();
      expect(sim.dropped.length).toBeGreaterThan(0);
      const bad = received.filter((r) => r.headers['x-shopify-hmac-sha256'] !== hmacSha256Base64(sim.appSecret, r.body));
      expect(bad.length).toBeGreaterThan(0);
      expect(received.length).toBe((40 - sim.dropped.length) * 3);
      const order = received.map((r) => JSON.parse(r.body).id);
      expect(order).not.toEqual([...order].sort());
      expect(new Set(order).size).toBe(40 - sim.dropped.length);
      expect(orders).toHaveLength(40);
    });
  });
});
