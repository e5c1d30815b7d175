/**
 * `tillwire-amazon-settlements` in Node-RED against the simulator: each finished settlement once as
 * a SettlementStream whose lines add up to Amazon's total; a file or Buffer read the same way, a bad
 * row on the second output into the dead-letter store with the settlement not postable; failures to
 * Catch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import configNode from '../../nodes/amazon/amazon-config';
import settlementsNode from '../../nodes/amazon/amazon-settlements';
import { SETTLEMENT_COLUMNS } from '../../nodes/amazon/contract';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { startSimulator } from './support';

const nodes = [storeNode, deadLetterNode, configNode, settlementsNode];
const DAY = 86_400_000;
let sim: AmazonSimulator;
beforeAll(async () => {
  // Orders from 40 days ago, two hours apart: the periods ending on days 14 and 28 are settled.
  sim = await startSimulator({
    orders: 200,
    orderSpacingMs: 2 * 3_600_000,
    epoch: new Date(Date.now() - 40 * DAY).toISOString(),
    throttling: false,
    pendingEvery: 0,
  });
});
afterAll(() => sim.stop());
// The user directory msg.filename is read from (the node refuses files outside it).
let userDir: string;
beforeEach(async () => {
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-amzs-userdir-'));
  helper.settings({ userDir });
  await startServer();
});
afterEach(() => fs.rmSync(userDir, { recursive: true, force: true }));
afterEach(stopAll);

function flow(config: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'amazon' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    {
      id: 'c1',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: sim.url,
      tokenUrl: sim.tokenUrl,
      sellerId: sim.sellerId,
      marketplaceIds: 'ATVPDKIKX0DER, A1F83G8C2ARO7P, A1PA6795UKMFR9, A1VC38T7YXB528',
      timeout: '5',
      attempts: '2',
      ...config,
    },
    { id: 'n1', type: 'tillwire-amazon-settlements', z: 'f1', amazon: 'c1', interval: '0', lookback: '90', wires: [['out'], ['dl']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [] },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['n1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'cp', type: 'complete', z: 'f1', scope: ['n1'], wires: [['finished']] },
    { id: 'finished', type: 'helper', z: 'f1' },
  ];
}
const credentials = () => ({ c1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.refreshToken } });

/** Reads every emitted settlement's lines as the next node would. */
function consume(out: any) {
  const got: Array<{ msg: any; net: number; lines: number; postable: boolean }> = [];
  out.on('input', async (msg: any) => {
    let net = 0;
    let lines = 0;
    for await (const l of msg.payload.lines) {
      net += l.amount.amount;
      lines++;
    }
    got.push({ msg, net, lines, postable: msg.payload.postable() });
  });
  return got;
}

describe('tillwire-amazon-settlements', () => {
  it('emits each finished settlement once, as a stream whose lines add up to the stated total', async () => {
    await helper.load(nodes, flow(), credentials());
    const got = consume(helper.getNode('out'));
    const expected = sim.settlements();
    expect(expected.length).toBe(8);
    const firstPoll = collect(helper.getNode('finished'), 1);
    helper.getNode('n1').receive({ payload: 'poll' });
    await firstPoll;
    await until(() => got.length === expected.length);
    expect(new Set(got.map((g) => g.msg.payload.header.settlementId))).toEqual(new Set(expected.map((s) => s.settlementId)));
    for (const g of got) {
      expect(g.postable).toBe(true);
      expect(g.net).toBe(g.msg.payload.header.statedTotal.amount);
      expect(g.msg.topic).toBe(`settlement/amazon/${g.msg.payload.header.settlementId}`);
    }
    expect(got.some((g) => g.lines > 20)).toBe(true);
    // A second poll (done when the node reports the message complete) lists them again and opens none.
    const [polls, documents] = [sim.stats.getReports.requests, sim.stats.getReportDocument.requests];
    const secondPoll = collect(helper.getNode('finished'), 1);
    helper.getNode('n1').receive({ payload: 'poll' });
    await secondPoll;
    expect(sim.stats.getReports.requests).toBeGreaterThan(polls);
    expect(sim.stats.getReportDocument.requests).toBe(documents);
    expect(got.length).toBe(expected.length);
  });

  it('reads a file (msg.filename, gzip) and a Buffer; a bad row goes to the dead-letter store and the settlement is not postable', async () => {
    await helper.load(nodes, flow(), credentials());
    const got = consume(helper.getNode('out'));
    const [first] = sim.settlements();
    const text = sim.settlementText(first.reportId).split('\n');
    const bad = text[3].split('\t');
    bad[SETTLEMENT_COLUMNS.indexOf('amount')] = 'ten';
    text[3] = bad.join('\t');
    const file = 'settlement.txt.gz';
    fs.writeFileSync(path.join(userDir, file), gzipSync(Buffer.from(text.join('\n'))));
    helper.getNode('n1').receive({ filename: file });
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ postable: false, msg: { filename: file, payload: { header: { settlementId: first.settlementId } } } });
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.listDeadLetters({})).length === 1);
    const [entry] = await store.listDeadLetters({});
    expect(entry.error).toMatchObject({ code: 'amount', message: expect.stringMatching(/^row 4: amount: 'ten' is not a decimal amount/) });
    expect(entry.message.payload).toMatchObject({ settlementId: first.settlementId, row: 4, cells: { amount: 'ten' } });

    helper.getNode('n1').receive({ payload: Buffer.from(sim.settlementText(first.reportId)) });
    await until(() => got.length === 2);
    expect(got[1].postable).toBe(true);
    expect(got[1].net).toBe(got[1].msg.payload.header.statedTotal.amount);
  });

  it('a file that is not a settlement report, and a missing file, reach Catch', async () => {
    await helper.load(nodes, flow(), credentials());
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('n1').receive({ payload: Buffer.from('sku\tquantity\nA\t1\n') });
    helper.getNode('n1').receive({ filename: 'tw-no-such-settlement.txt' });
    const errs = (await caught).map((m) => m.error.message).sort();
    expect(errs[0]).toMatch(/ENOENT/);
    expect(errs[1]).toMatch(/not a V2 settlement report/);
  });

  it('reads only files inside the user directory: ../, an absolute path elsewhere and a link pointing out are refused, nothing is emitted', async () => {
    await helper.load(nodes, flow(), credentials());
    const got = consume(helper.getNode('out'));
    const [first] = sim.settlements();
    // A real settlement file, outside the user directory, and a link to it from inside.
    const outside = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tw-amzs-outside-')), 'settlement.txt');
    fs.writeFileSync(outside, sim.settlementText(first.reportId));
    fs.symlinkSync(outside, path.join(userDir, 'link.txt'));
    const caught = collect(helper.getNode('caught'), 3);
    helper.getNode('n1').receive({ filename: path.relative(userDir, outside) });
    helper.getNode('n1').receive({ filename: outside });
    helper.getNode('n1').receive({ filename: 'link.txt' });
    for (const m of await caught) expect(m.error.message).toMatch(/is outside .*: only files inside that folder can be read/);
    expect(got).toEqual([]);
  });

  it('a poll without working credentials reaches Catch and shows a red ring', async () => {
    await helper.load(nodes, flow(), { c1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: 'revoked' } });
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive({ payload: 'poll' });
    const [err] = await caught;
    expect(err.error.message).toMatch(/invalid_grant/);
    const n1 = helper.getNode('n1') as any;
    const statuses = n1.status
      .getCalls()
      .filter((c: any) => c.thisValue === n1)
      .map((c: any) => c.args[0]);
    expect(statuses.at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringMatching(/^amazon lwa-token: HTTP 400/) });
  });
});
