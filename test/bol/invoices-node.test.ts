/**
 * `tillwire-bol-invoices` in Node-RED against the simulator: every issued invoice once as a canonical
 * Settlement whose lines add up to bol's stated total (the specification read over several pages),
 * with the envelope and inbox reference; a second poll, and a restart on the same store, emit nothing
 * again; a specification line of a type Tillwire does not know leaves on the second output into the
 * dead-letter store, and its settlement no longer adds up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import deadLetterNode from '../../nodes/core/dead-letter';
import configNode from '../../nodes/bol/bol-config';
import invoicesNode from '../../nodes/bol/bol-invoices';
import { BolSimulator } from '../../simulators/bol/simulator';
import { validateDocument } from '../../nodes/model/validate';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { startSimulator } from './support';

const nodes = [storeNode, ackNode, deadLetterNode, configNode, invoicesNode];
const DAY = 86_400_000;
let sim: BolSimulator;
beforeAll(async () => {
  // 60 orders from 40 days ago, 12 hours apart: the half-month periods they fall in are invoiced; 40 lines a page.
  sim = await startSimulator({ orders: 60, epoch: new Date(Date.now() - 40 * DAY).toISOString(), orderSpacingMs: 12 * 3_600_000, specificationPageSize: 40 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  await startServer();
});
afterEach(stopAll);

function flow(store: Record<string, unknown> = { backend: 'memory' }) {
  return [
    { id: 'f1', type: 'tab', label: 'bol invoices' },
    { id: 's1', type: 'tillwire-store', ...store },
    { id: 'c1', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: '1234567', timeout: '5', attempts: '3' },
    { id: 'n1', type: 'tillwire-bol-invoices', z: 'f1', bol: 'c1', store: 's1', interval: '0', lookback: '62', wires: [['out', 'ack'], ['dl']] },
    { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [] },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['n1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'cp', type: 'complete', z: 'f1', scope: ['n1'], wires: [['finished']] },
    { id: 'finished', type: 'helper', z: 'f1' },
  ];
}
const credentials = () => ({ c1: { clientId: sim.clientId, clientSecret: sim.clientSecret } });

/** Sends a message to the node and resolves once its poll is done. */
async function poll() {
  const done = collect(helper.getNode('finished'), 1);
  helper.getNode('n1').receive({ payload: 'poll' });
  await done;
}

describe('tillwire-bol-invoices', () => {
  it('emits each issued invoice once as a Settlement whose lines add up to the stated total', async () => {
    const issued = sim.invoices.summary();
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(issued.some((i) => (i.lines as number) > 40)).toBe(true); // read over several pages
    await helper.load(nodes, flow(), credentials());
    const got: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    await poll();
    await until(() => got.length === issued.length);
    expect(got.map((m) => m.payload.settlementId).sort()).toEqual(issued.map((i) => i.invoiceId).sort());
    for (const m of got) {
      const s = m.payload;
      expect(validateDocument('settlement', s)).toEqual({ valid: true, errors: [] });
      const sum = s.lines.reduce((a: number, l: any) => a + l.amount.amount, 0);
      expect(sum).toBe(s.statedTotal.amount);
      expect(s.statedTotal.amount).toBe(-(issued.find((i) => i.invoiceId === s.settlementId)!.payable as number));
      expect(s.lines.length).toBeGreaterThan(0);
      expect(s.lines.filter((l: any) => l.orderRef).every((l: any) => sim.order(l.orderRef.channel.id) !== undefined)).toBe(true);
      expect(m.topic).toBe(`settlement/bol/${s.settlementId}`);
      expect(m.tillwire).toMatchObject({
        schemaVersion: 1,
        eventId: `invoice:${s.settlementId}`,
        idempotencyKey: `settlement:bol:${s.settlementId}`,
        source: { system: 'bol', account: '1234567', eventId: `invoice:${s.settlementId}` },
        occurredAt: s.issuedAt,
      });
      expect(m.tillwireInbox).toEqual({ source: 'bol-invoices:n1', id: expect.any(String) });
    }
    // A second poll lists the invoices again and reads no specification: nothing is emitted twice.
    const [lists, pages] = [sim.stats['invoices:list'].requests, sim.stats['invoices:specification'].requests];
    await poll();
    expect(sim.stats['invoices:list'].requests).toBeGreaterThan(lists);
    expect(sim.stats['invoices:specification'].requests).toBe(pages);
    expect(got.length).toBe(issued.length);
    expect(sim.stats['invoices:specification'].throttled).toBe(0);
  });

  it('a line of a type Tillwire does not know goes to the dead-letter store by name; its settlement does not add up', async () => {
    const [first] = sim.invoices.summary();
    sim.invoices.extra.set(first.invoiceId as string, [{ type: 'SPACE_RENTAL', amount: 250, vat: 0, quantity: 1, date: first.start as string }]);
    await helper.load(nodes, flow(), credentials());
    const got: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    await poll();
    const issued = sim.invoices.summary();
    await until(() => got.length === issued.length);
    const bad = got.find((m) => m.payload.settlementId === first.invoiceId)!;
    const sum = bad.payload.lines.reduce((a: number, l: any) => a + l.amount.amount, 0);
    expect(bad.payload.statedTotal.amount - sum).toBe(-250);
    expect(bad.payload.attributes).toMatchObject({ bolBadLines: '1' });
    for (const m of got.filter((x) => x !== bad))
      expect(m.payload.lines.reduce((a: number, l: any) => a + l.amount.amount, 0)).toBe(m.payload.statedTotal.amount);
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.listDeadLetters({})).length === 1);
    const [entry] = await store.listDeadLetters({});
    expect(entry.error).toMatchObject({
      code: 'unknown-type',
      message: expect.stringMatching(new RegExp(`^invoice ${first.invoiceId} page \\d+ line \\d+: line type SPACE_RENTAL`)),
    });
    expect(entry.message.payload).toMatchObject({ invoiceId: first.invoiceId, kind: 'unknown-type', raw: { item: { Name: { value: 'SPACE_RENTAL' } } } });
  });

  it('after a restart on the same store (cursor and inbox in SQLite), acknowledged invoices are not emitted again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bolinv-'));
    const store = { backend: 'sqlite', file: path.join(dir, 'tillwire.db') };
    try {
      const issued = sim.invoices.summary();
      await helper.load(nodes, flow(store), credentials());
      const got: any[] = [];
      helper.getNode('out').on('input', (m: any) => got.push(m));
      await poll();
      await until(() => got.length === issued.length);
      // The ack node closes each entry: nothing is left pending for a restart to re-emit.
      const opened = await (helper.getNode('s1') as any).manager.acquire();
      await until(async () => (await opened.inboxPending('bol-invoices:n1')).length === 0);
      await helper.unload();

      await helper.load(nodes, flow(store), credentials());
      const again: any[] = [];
      helper.getNode('out').on('input', (m: any) => again.push(m));
      const pages = sim.stats['invoices:specification'].requests;
      await poll();
      expect(sim.stats['invoices:specification'].requests).toBe(pages);
      expect(again).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without an account the node says so and a poll fails to Catch', async () => {
    const f = flow().map((n: any) => (n.id === 'n1' ? { ...n, bol: 'nope' } : n));
    await helper.load(nodes, f, credentials());
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive({ payload: 'poll' });
    expect((await caught)[0].error.message).toMatch(/no bol.com account configured/);
  });
});
