/**
 * The webhook body budget's accounting (byte-budget.ts with raw-body.ts), on a real HTTP server:
 * a read reserves its declared length (at most its limit) when it starts, every way a read can end
 * gives it back, a read that does not fit is not started, and one admitted is never cut off. The real-
 * runtime behaviour (503, Retry-After, the admin figures) is in
 * test/webhooks/body-budget.test.ts.
 */
import http from 'node:http';
import net, { AddressInfo } from 'node:net';
import { ByteBudget, sizeBodyBudget, webhookBodyBudget, DEFAULT_BODY_BUDGET_KIB } from '../../nodes/runtime/byte-budget';
import { readBounded, type RawRead } from '../../nodes/runtime/raw-body';
import { webhookBodyBudgetKiB } from '../../nodes/runtime/runtime-settings';

describe('webhook body budget', () => {
  let server: http.Server;
  let port: number;
  let budget: ByteBudget;
  let reads: Array<Promise<RawRead>>;

  beforeEach(async () => {
    budget = new ByteBudget(10_000);
    reads = [];
    server = http.createServer((req, res) => {
      const read = readBounded(req, 8_000, { budget, idleMs: 300 });
      reads.push(read);
      void read.then((r) => res.end(r.kind));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  function send(declared: number, bytes: number): net.Socket {
    const s = net.connect(port, '127.0.0.1');
    s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n`);
    s.write(Buffer.alloc(bytes, 0x61));
    s.on('error', () => undefined);
    return s;
  }
  const heldIs = async (n: number) => {
    while (budget.figures().heldBytes !== n) await new Promise((r) => setImmediate(r));
  };

  it('a finished body, an aborted one, an idle one and one over its limit all give their bytes back', async () => {
    send(100, 100);
    expect((await waitRead(0)).kind).toBe('bytes');
    const aborted = send(5_000, 3_000);
    await heldIs(5_000); // the declared length, reserved up front
    aborted.destroy();
    expect((await waitRead(1)).kind).toBe('aborted');
    send(5_000, 2_000); // then nothing: the idle time-out ends it
    expect((await waitRead(2)).kind).toBe('idle');
    send(20_000, 20_000); // over the 8 000-byte limit: read and dropped, what was kept given back
    expect((await waitRead(3)).kind).toBe('too-large');
    expect(budget.figures()).toMatchObject({ heldBytes: 0, reading: 0, refused: 0 });
  });

  it('a body whose declared length does not fit is refused before a byte is read (busy); the one admitted finishes', async () => {
    const first = send(8_000, 6_000);
    await heldIs(8_000);
    send(8_000, 10);
    expect((await waitRead(1)).kind).toBe('busy');
    expect(budget.figures()).toMatchObject({ heldBytes: 8_000, reading: 1, refused: 1 });
    first.write(Buffer.alloc(2_000, 0x61)); // the rest of the first body arrives after the refusal
    expect((await waitRead(0)).kind).toBe('bytes');
    expect(budget.figures()).toMatchObject({ heldBytes: 0, reading: 0, refused: 1 });
  });

  it('a body of unknown length (chunked) reserves the whole limit', async () => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n`);
    await heldIs(8_000);
    send(3_000, 3_000); // 8 000 + 3 000 > 10 000
    expect((await waitRead(1)).kind).toBe('busy');
    s.write('0\r\n\r\n');
    const r = await waitRead(0);
    expect(r.kind === 'bytes' && r.bytes.toString()).toBe('hello');
    expect(budget.figures().heldBytes).toBe(0);
  });

  async function waitRead(i: number): Promise<RawRead> {
    while (reads.length <= i) await new Promise((r) => setImmediate(r));
    return reads[i];
  }
});

describe('webhook body budget setting', () => {
  it('TILLWIRE_WEBHOOK_BODY_BUDGET_KIB: default 64 MiB, a whole number of KiB, anything else refused with the reason', () => {
    expect(webhookBodyBudgetKiB({})).toBe(DEFAULT_BODY_BUDGET_KIB);
    expect(DEFAULT_BODY_BUDGET_KIB * 1024).toBe(64 * 1024 * 1024);
    expect(webhookBodyBudgetKiB({ TILLWIRE_WEBHOOK_BODY_BUDGET_KIB: '128' })).toBe(128);
    for (const bad of ['0', '-5', '1.5', '64MiB']) {
      expect(() => webhookBodyBudgetKiB({ TILLWIRE_WEBHOOK_BODY_BUDGET_KIB: bad })).toThrow(
        /TILLWIRE_WEBHOOK_BODY_BUDGET_KIB='.*' is not a whole number of KiB/,
      );
    }
  });

  it('the nodes size the shared budget from the Node-RED setting; an unusable value is named and the default used', () => {
    expect(sizeBodyBudget({ tillwireWebhookBodyBudgetKiB: 32 })).toBeUndefined();
    expect(webhookBodyBudget.figures().limitBytes).toBe(32 * 1024);
    expect(sizeBodyBudget({ tillwireWebhookBodyBudgetKiB: 'lots' })).toMatch(/'lots' is not a whole number of KiB/);
    expect(webhookBodyBudget.figures().limitBytes).toBe(DEFAULT_BODY_BUDGET_KIB * 1024);
  });
});
