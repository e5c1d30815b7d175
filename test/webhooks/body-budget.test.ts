/**
 * The shared budget for webhook bodies being read, on the real runtime (Node-RED with the product's
 * settings, the budget set through TILLWIRE_WEBHOOK_BODY_BUDGET_KIB as an operator would). Slow
 * senders that each stay under the node's body limit but together hold the whole budget cannot
 * make Node-RED hold more: the next body is answered 503 with Retry-After at once and its
 * connection closed, while the slow ones are still unanswered; a body admitted before is never cut
 * off (it finishes while the budget is full). Once they end (one finishes, the other goes away) the
 * budget is back to zero, as the admin API shows, and a signed delivery is answered 200 and comes
 * out of the node.
 */
import net from 'node:net';
import { post, postWhenReady, shopifyDelivery, startWebhookRuntime, until, type WebhookRuntime, SHOPIFY_PATH } from './support';

jest.setTimeout(90_000);

const BUDGET_KIB = 64;

interface SlowPost {
  /** The raw answer, once the server has answered and closed the connection. */
  answer: Promise<string>;
  answered(): boolean;
  send(bytes: Buffer): void;
  abort(): void;
}

/** A POST that declares `declared` bytes and sends only `first` of them, then waits. */
function slowPost(url: URL, declared: number, first: number): Promise<SlowPost> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(Buffer.alloc(first, 0x20));
      resolve({ answer, answered: () => done, send: (b) => socket.write(b), abort: () => socket.destroy() });
    });
    let text = '';
    let done = false;
    socket.on('data', (d) => (text += d.toString('latin1')));
    const answer = new Promise<string>((res) => socket.on('close', () => ((done = true), res(text))));
    socket.on('error', () => undefined); // a reset after the answer: the text read so far is kept
    socket.once('error', reject);
  });
}

describe('webhook body budget (real runtime, product settings)', () => {
  let rt: WebhookRuntime;
  let url: string;
  const figures = async () =>
    (await (await fetch(`${rt.nr.adminUrl}/tillwire/webhooks/body-budget`)).json()) as {
      limitBytes: number;
      heldBytes: number;
      reading: number;
      refused: number;
    };

  beforeAll(async () => {
    rt = await startWebhookRuntime({ via: 'red', env: { TILLWIRE_WEBHOOK_BODY_BUDGET_KIB: String(BUDGET_KIB) } });
    url = rt.nodeBase + SHOPIFY_PATH;
    const warm = rt.shopify.createOrder();
    expect((await postWhenReady(url, shopifyDelivery('orders/create', warm))).status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(warm.id)));
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('slow bodies holding the whole budget: the next body is refused 503 with Retry-After; a signed delivery gets its 200 once they end; the budget returns to zero', async () => {
    expect(await figures()).toMatchObject({ limitBytes: BUDGET_KIB * 1024, heldBytes: 0, reading: 0 });
    // Each declares far less than the node's 1 MiB limit and sends part of it: their declared
    // lengths, reserved when each read starts, together hold the whole budget (28 + 36 KiB).
    const a = await slowPost(new URL(url), 28 * 1024, 20 * 1024);
    const b = await slowPost(new URL(url), 36 * 1024, 30 * 1024);
    await until(async () => (await figures()).heldBytes === BUDGET_KIB * 1024, 15_000, 'the two slow bodies held');
    const before = await figures();
    expect(before.reading).toBe(2);

    const c = await slowPost(new URL(url), 40 * 1024, 8 * 1024);
    const refused = await c.answer; // answered and closed while a and b still hold their bytes
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(refused).toMatch(/\r\nconnection: close\r\n/i);
    expect(refused).toContain('busy: too many webhook bodies are being received at once; send it again later');
    expect(a.answered() || b.answered()).toBe(false);

    // A genuine delivery meanwhile is refused the same way: the provider retries it later.
    const order = rt.shopify.createOrder();
    const delivery = shopifyDelivery('orders/create', order);
    const busy = await post(url, delivery);
    expect(busy.status).toBe(503);
    expect(busy.text).toContain('busy:');
    expect((await figures()).refused).toBeGreaterThanOrEqual(before.refused + 2);
    expect((await figures()).heldBytes).toBe(BUDGET_KIB * 1024);

    // The first slow body, admitted before the budget was full, finishes while it is still full
    // (it is not signed: refused 4xx, after reading it whole); the other sender goes away.
    a.send(Buffer.alloc(8 * 1024, 0x20));
    expect(await a.answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    await until(async () => (await figures()).heldBytes === 36 * 1024, 15_000, "the finished body's bytes returned");
    b.abort();
    await until(
      async () => {
        const f = await figures();
        return f.heldBytes === 0 && f.reading === 0;
      },
      15_000,
      'the budget back to zero',
    );

    // The provider's retry of the refused delivery (same event) is taken and comes out once.
    const retried = await post(url, delivery);
    expect(retried.status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(order.id)), 15_000, 'the retried delivery out of the node');
    expect((await figures()).heldBytes).toBe(0);
  });
});
