/**
 * The inbox as inbound nodes run it (core/inbound-inbox.ts), without Node-RED: two nodes sharing
 * one inbox source (the Shopify webhook and orders poller of a shop) each recover and retry only
 * their own entries, including entries stored before ownership existed; a Shopify event whose
 * processing fails on the store is retried and, after its attempts, parked with the attempts named.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { InboxEntry, Store } from '../../nodes/runtime/store';
import type { RuntimeNode } from '../../nodes/core/node-red';
import { attemptsSetting, processingFailures, startInboundInbox, type InboundInbox } from '../../nodes/core/inbound-inbox';
import { isPollerEntry, isWebhookEntry, poisonedShopify, processor } from '../../nodes/shopify/emit';

const SHOP = 'unit.myshopify.com';
const SOURCE = `shopify:${SHOP}`;

function fakeNode(id: string) {
  const warnings: string[] = [];
  const sent: any[] = [];
  const node: RuntimeNode = {
    id,
    type: 'test',
    on: () => undefined,
    status: () => undefined,
    send: (m) => void sent.push(m),
    error: (e) => void warnings.push(String(e)),
    warn: (m) => void warnings.push(String(m)),
    log: () => undefined,
  };
  return { node, warnings, sent };
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let store: Store;
const running: InboundInbox[] = [];
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  await store.close();
});

const webhookEvent = (n: number) => ({ topic: 'orders/create', headers: { 'x-shopify-topic': 'orders/create' }, body: JSON.stringify({ n }) });
const polledEvent = (node: string, n: number) => ({ via: 'poll', node, kind: 'order', body: { n } });

function start(
  node: RuntimeNode,
  owns: (e: InboxEntry) => boolean,
  deliver: (e: InboxEntry) => Promise<void>,
  maxAttempts = 3,
  leaseMs?: number,
): InboundInbox {
  const r = startInboundInbox({
    node,
    store,
    source: SOURCE,
    maxAttempts,
    deliver,
    owns,
    leaseMs,
    poisoned: poisonedShopify(SHOP),
    failures: processingFailures(node, 'test event'),
  });
  running.push(r);
  return r;
}

it('attempts setting: default 5, a whole number from 1 to 100, anything else the default with the reason', () => {
  expect(attemptsSetting(undefined)).toEqual({ maxAttempts: 5 });
  expect(attemptsSetting('')).toEqual({ maxAttempts: 5 });
  expect(attemptsSetting('3')).toEqual({ maxAttempts: 3 });
  expect(attemptsSetting(0)).toMatchObject({ maxAttempts: 5, problem: expect.stringMatching(/attempts '0' is not a whole number from 1 to 100/) });
  expect(attemptsSetting('2.5').problem).toBeDefined();
});

it('webhook and poller on one shop inbox each recover only their own entries (also those stored before ownership existed)', async () => {
  // A previous run (any version: the source and payloads are the same) left these pending.
  await store.inboxAdd(SOURCE, 'order:1:a', webhookEvent(1));
  await store.inboxAdd(SOURCE, 'order:2:a', polledEvent('poller-1', 2));
  await store.inboxAdd(SOURCE, 'order:3:a', polledEvent('poller-other', 3));
  const seen: Record<string, string[]> = { webhook: [], poller: [] };
  // A lease of 1 ms: every entry the other node holds looks abandoned to a sweep.
  const webhook = start(fakeNode('webhook-1').node, isWebhookEntry, async (e) => void seen.webhook.push(e.eventId), 100, 1);
  const poller = start(fakeNode('poller-1').node, isPollerEntry('poller-1'), async (e) => void seen.poller.push(e.eventId), 100, 1);
  // Each recovers its own entry (its 1 ms sweep timer may have re-emitted it first: then recover
  // finds it in flight and re-emits nothing), and nothing of the other's.
  await webhook.inbox.recover();
  await poller.inbox.recover();
  expect(seen).toEqual({ webhook: ['order:1:a'], poller: ['order:2:a'] });
  // Sweeps (as the timer runs them) leave the other node's entries alone too, their leases run out.
  await new Promise((r) => setTimeout(r, 5)); // past the 1 ms leases
  await webhook.inbox.sweep();
  await poller.inbox.sweep();
  expect(seen).toEqual({ webhook: ['order:1:a'], poller: ['order:2:a'] });
});

it('a webhook event parked in the dead-letter store while it is down, twice: retried, then parked once (Attempts 3)', async () => {
  const { node, sent } = fakeNode('webhook-1');
  let failures = 2;
  const putDeadLetter = store.putDeadLetter.bind(store);
  store.putDeadLetter = (async (...args: Parameters<Store['putDeadLetter']>) => {
    if (failures-- > 0) throw new Error('store unavailable');
    return putDeadLetter(...args);
  }) as Store['putDeadLetter'];
  const counts = { emitted: 0, failed: 0 };
  const r: InboundInbox = start(node, isWebhookEntry, (e) =>
    processor({ node, store, shop: SHOP, source: SOURCE, counts, complete: (id) => r.inbox.complete(id) })(e),
  );
  // Not an order the mapping can take (no line items): it is parked as unmappable once the store takes it.
  await r.inbox.accept('order:9:a', { topic: 'orders/create', headers: { 'x-shopify-topic': 'orders/create' }, body: '{"id": 9}' });
  await until(async () => (await store.countDeadLetters()) === 1);
  await until(async () => (await store.inboxPending(SOURCE)).length === 0);
  const [letter] = await store.listDeadLetters();
  expect(letter.error.name).toBe('MappingError');
  expect(counts).toEqual({ emitted: 0, failed: 1 });
  expect(sent).toHaveLength(0);
});

it('a Shopify event whose processing keeps failing is given up after its attempts: one dead letter naming them and the last error', async () => {
  const { node, warnings } = fakeNode('poller-1');
  let deliveries = 0;
  const r = start(
    node,
    isPollerEntry('poller-1'),
    async () => {
      deliveries++;
      throw new Error(`store unavailable (${deliveries})`);
    },
    2,
  );
  await r.inbox.accept('order:7:a', polledEvent('poller-1', 7));
  await until(async () => (await store.countDeadLetters()) === 1);
  await until(async () => (await store.inboxPending(SOURCE)).length === 0);
  const [letter] = await store.listDeadLetters();
  expect(letter.error).toEqual({ message: 'gave up after 2 attempts: store unavailable (2)', name: 'PoisonMessage' });
  expect(letter.attempts).toBe(2);
  expect(letter.message).toMatchObject({
    payload: { n: 7 },
    topic: 'shopify.failed',
    tillwire: { eventId: 'order:7:a', source: { system: 'shopify', account: SHOP } },
  });
  expect(deliveries).toBe(2);
  expect(warnings.some((w) => /processing a test event failed: attempt 1 of 2, will retry: store unavailable \(1\)/.test(w))).toBe(true);
});
