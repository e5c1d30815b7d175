/**
 * Issue 8, finding 8 (webhook parts) on the real runtime: a delivery the store cannot take is
 * answered 503 with a fixed text (the store's own error goes to the log only), and a flood of
 * rejected deliveries writes one log line per burst plus a summary, not one line per request.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { NOT_STORED } from '../../nodes/runtime/webhook';
import { post, postWhenReady, shopifyDelivery, startWebhookRuntime, until, type WebhookRuntime, SHOPIFY_PATH } from './support';

jest.setTimeout(120_000);

describe('webhook failures and rejections (real runtime, SQLite store)', () => {
  let rt: WebhookRuntime;
  let url: string;
  beforeAll(async () => {
    rt = await startWebhookRuntime({ store: { backend: 'sqlite', file: 'tillwire.db' } });
    url = rt.nodeBase + SHOPIFY_PATH;
    expect((await postWhenReady(url, shopifyDelivery('orders/create', rt.shopify.createOrder()))).status).toBe(200);
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('a store that cannot take the write: 503 with a fixed text, the reason only in the log; accepted once the store is back', async () => {
    // Another process holds the database's write lock beyond the store's busy timeout.
    const db = new Database(path.join(rt.nr.userDir, 'tillwire.db'));
    db.exec('BEGIN EXCLUSIVE');
    const order = rt.shopify.createOrder();
    const d = shopifyDelivery('orders/create', order);
    let answer;
    try {
      answer = await post(url, d, 20_000);
    } finally {
      db.exec('ROLLBACK');
      db.close();
    }
    expect(answer.status).toBe(503);
    expect(answer.text).toBe(NOT_STORED);
    expect(answer.text).not.toMatch(/locked|SQLITE|database/i);
    await until(() => /webhook delivery not stored: .*locked/i.test(rt.nr.output()), 10_000, 'the store error in the log');
    // Shopify retries: now it is stored and emitted once.
    expect((await post(url, d)).status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(order.id)));
  });

  it('60 bad deliveries write one warning, then one summary with counts (on close); Node-RED keeps answering', async () => {
    const order = rt.shopify.createOrder();
    const good = shopifyDelivery('orders/create', order);
    const lines = () =>
      rt.nr
        .output()
        .split('\n')
        .filter((l) => l.includes('[tillwire-shopify-webhook:wt-shopify]') && /rejected/.test(l));
    const before = lines().length;
    for (let i = 0; i < 50; i++) expect((await post(url, { ...good, headers: { ...good.headers, 'x-shopify-hmac-sha256': `bad${i}` } })).status).toBe(401);
    for (let i = 0; i < 10; i++)
      expect((await post(url, shopifyDelivery('orders/create', order, { 'x-shopify-shop-domain': 'other.myshopify.com' }))).status).toBe(403);
    expect(lines().length - before).toBeLessThanOrEqual(1);
    expect((await post(url, good)).status).toBe(200);
    // Closing the node (as a redeploy or stop does) writes what it counted.
    const nr = rt.nr;
    await nr.stop();
    const summary = nr
      .output()
      .split('\n')
      .find((l) => /\d+ more webhook deliveries rejected since the last report/.test(l));
    expect(nr.output()).toMatch(/webhook delivery rejected: \(401\) signature does not match/);
    expect(summary).toMatch(/59 more .*: 49 × \(401\) signature does not match/);
    expect(summary).toMatch(/10 × \(403\) delivery is from shop other\.myshopify\.com/);
  });
});
