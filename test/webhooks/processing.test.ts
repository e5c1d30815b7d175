/**
 * Processing that fails after a delivery was stored and answered 200, on the real runtime: Square's
 * RetrieveOrder answers 503 for one order (the simulator's `failRetrieve`). The webhook node's inbox
 * retries the event while Node-RED runs (not at the next restart); an outage that outlasts the
 * node's *Attempts* ends as one dead-letter entry naming the attempts and the last error, and one
 * that passes is emitted once. Other deliveries keep flowing meanwhile.
 */
import { deadLetters, post, postWhenReady, squareDelivery, startWebhookRuntime, until, type WebhookRuntime, SQUARE_PATH } from './support';

jest.setTimeout(90_000);

describe('Square webhook processing that fails (real runtime, Attempts 3)', () => {
  let rt: WebhookRuntime;
  let url: string;
  /** The simulator's last event (the one the sale just made). */
  const lastEvent = () => rt.square.events[rt.square.events.length - 1];
  const salesOf = (id: string) => rt.received().filter((m) => m.saleId === id);
  const lettersAbout = async (orderId: string) => (await deadLetters(rt)).filter((e) => JSON.stringify(e.message?.payload ?? '').includes(orderId));

  beforeAll(async () => {
    // attempts 1 on the connection: each processing attempt makes one RetrieveOrder call, so the
    // calls Square answered 503 count the node's attempts.
    rt = await startWebhookRuntime({ via: 'red', squareNode: { maxAttempts: 3 }, squareConfig: { attempts: 1 } });
    url = rt.nodeBase + SQUARE_PATH;
    const warm = rt.square.randomSale('L-LDN');
    expect((await postWhenReady(url, squareDelivery(rt, lastEvent()))).status).toBe(200);
    await until(() => salesOf(warm.id).length > 0, 15_000, 'the warm-up sale out of the node');
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('an order Square keeps failing ends as ONE dead-letter entry after 3 attempts, naming them and the error; a good sale beside it is emitted', async () => {
    const failing = rt.square.randomSale('L-LDN');
    const failingEvent = lastEvent();
    rt.square.failRetrieve(failing.id, Infinity);
    const good = rt.square.randomSale('L-LDN');
    const goodEvent = lastEvent();
    expect((await post(url, squareDelivery(rt, failingEvent))).status).toBe(200);
    expect((await post(url, squareDelivery(rt, goodEvent))).status).toBe(200);

    await until(() => salesOf(good.id).length > 0, 15_000, 'the good sale out of the node');
    await until(async () => (await lettersAbout(failing.id)).length > 0, 30_000, 'the failing order in the dead-letter store');
    const letters = await lettersAbout(failing.id);
    expect(letters).toHaveLength(1);
    expect(letters[0].error.message).toMatch(/^gave up after 3 attempts: .*temporarily unavailable/);
    expect(letters[0].message.payload).toContain(failingEvent.event_id); // the raw event, to replay once Square is back
    expect(letters[0].nodeId).toBe('wt-square');
    expect(letters[0].attempts).toBe(3);
    expect(rt.square.failedRetrieves.get(failing.id)).toBe(3);
    expect(salesOf(failing.id)).toHaveLength(0);
    expect(salesOf(good.id)).toHaveLength(1);
    // A repeat of the given-up event (Square resending it) is the same, finished inbox event: no second letter.
    expect((await post(url, squareDelivery(rt, failingEvent))).status).toBe(200);
    const marker = rt.square.randomSale('L-LDN');
    expect((await post(url, squareDelivery(rt, lastEvent()))).status).toBe(200);
    await until(() => salesOf(marker.id).length > 0, 15_000, 'the marker sale');
    expect(await lettersAbout(failing.id)).toHaveLength(1);
    expect(rt.square.failedRetrieves.get(failing.id)).toBe(3);
  });

  it('an outage that passes (two 503s) is retried while Node-RED runs and emitted exactly once, with no dead letter', async () => {
    const flaky = rt.square.randomSale('L-LDN');
    const flakyEvent = lastEvent();
    rt.square.failRetrieve(flaky.id, 2);
    expect((await post(url, squareDelivery(rt, flakyEvent))).status).toBe(200);
    await until(() => salesOf(flaky.id).length > 0, 20_000, 'the flaky sale out of the node');
    expect(rt.square.failedRetrieves.get(flaky.id)).toBe(2);
    // Square resends it; then a marker sale shows the node has moved on.
    expect((await post(url, squareDelivery(rt, flakyEvent))).status).toBe(200);
    const marker = rt.square.randomSale('L-LDN');
    expect((await post(url, squareDelivery(rt, lastEvent()))).status).toBe(200);
    await until(() => salesOf(marker.id).length > 0, 15_000, 'the marker sale');
    expect(salesOf(flaky.id)).toHaveLength(1);
    expect(salesOf(flaky.id)[0]).toMatchObject({ saleId: flaky.id });
    expect(await lettersAbout(flaky.id)).toHaveLength(0);
  });
});
