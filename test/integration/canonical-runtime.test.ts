/**
 * The canonical node in a real Node-RED process started with the product's settings: documents
 * arrive as JSON over Node-RED's own HTTP input, as a user's flow would feed them. Every bad
 * document is answered with the rule it broke; a good one beside them still passes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, RunningNodeRed } from '../support/node-red-process';

jest.setTimeout(120_000);

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));

/** The example sale, happening now. */
function saleNow(saleId = 'RT-1') {
  const sale = fixture('sale.json');
  const now = new Date();
  sale.saleId = saleId;
  sale.occurredAt = now.toISOString();
  sale.businessDate = now.toISOString().slice(0, 10);
  return sale;
}

/** JSON text of a value nested `depth` levels deep (JSON.stringify itself recurses). */
function nestedText(depth: number): string {
  return '{"a":'.repeat(depth) + '"bottom"' + '}'.repeat(depth);
}

const flows = [
  { id: 'tab', type: 'tab', label: 'validate' },
  { id: 'in', type: 'http in', z: 'tab', url: '/validate/sale', method: 'post', wires: [['canon']] },
  {
    id: 'canon',
    type: 'tillwire-canonical',
    z: 'tab',
    name: 'sale',
    docType: 'sale',
    invalid: 'output',
    outputs: 2,
    checkDates: true,
    pastDays: '30',
    futureDays: '1',
    wires: [['ok'], ['bad']],
  },
  { id: 'ok', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.saleId', tot: 'msg' }], wires: [['res']] },
  {
    id: 'bad',
    type: 'function',
    z: 'tab',
    func: 'msg.statusCode = 422;\nmsg.payload = { errors: msg.validationErrors };\nreturn msg;',
    outputs: 1,
    wires: [['res']],
  },
  { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  // The same check in dead-letter mode: the request is answered 202 at once, the document then
  // validated and, when invalid, stored in the dead-letter store.
  { id: 'st1', type: 'tillwire-store', name: 'dead letters', backend: 'memory' },
  { id: 'in2', type: 'http in', z: 'tab', url: '/dead-letter/sale', method: 'post', wires: [['accept']] },
  {
    id: 'accept',
    type: 'function',
    z: 'tab',
    func: 'msg.res._res.status(202).send("accepted");\ndelete msg.res;\ndelete msg.req;\nreturn msg;',
    outputs: 1,
    wires: [['canon2']],
  },
  {
    id: 'canon2',
    type: 'tillwire-canonical',
    z: 'tab',
    name: 'sale to dead letters',
    docType: 'sale',
    invalid: 'dead-letter',
    store: 'st1',
    outputs: 1,
    wires: [[]],
  },
];

let red: RunningNodeRed;

beforeAll(async () => {
  red = await startNodeRed({ flows, via: 'red' });
});

afterAll(async () => {
  await red?.stop();
});

/** POSTs JSON text; an answer must come within 10 s or the test fails with what happened. */
async function post(body: string, route = '/validate/sale'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

describe('tillwire-canonical in a real Node-RED', () => {
  it('answers a sale nested thousands of levels deep with the depth rule, and still takes a good sale', async () => {
    const sale = JSON.stringify({ ...saleNow('RT-deep'), attributes: 'DEEP' });
    const answer = await post(sale.replace('"DEEP"', nestedText(5_000)));
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toEqual([expect.stringMatching(/nested more than 32 levels deep/)]);
    expect(await post(JSON.stringify(saleNow('RT-after-deep')))).toEqual({ status: 200, body: 'RT-after-deep' });
  });

  it('rejects wrong figures, signs, line ids and dates with the rule and the figures in words', async () => {
    const offByOne = saleNow('RT-sum');
    offByOne.totals.grandTotal.amount += 1;
    const negative = saleNow('RT-sign');
    negative.lines[1].lineTotal.amount = -negative.lines[1].lineTotal.amount;
    const duplicate = saleNow('RT-dup');
    duplicate.lines[2].lineId = duplicate.lines[0].lineId;
    const decades = saleNow('RT-date');
    decades.businessDate = '1994-03-14';
    decades.occurredAt = '1994-03-14T17:42:10Z';
    const absurd = saleNow('RT-qty');
    absurd.lines[1].quantity = 5_000_000;

    const answers = await Promise.all([offByOne, negative, duplicate, decades, absurd].map((d) => post(JSON.stringify(d))));
    expect(answers.map((a) => a.status)).toEqual([422, 422, 422, 422, 422]);
    const [sum, sign, dup, date, qty] = answers.map((a) => a.body.errors.join(' | '));
    expect(sum).toContain('totals.grandTotal 69.98 GBP ≠ subtotal 79.97 GBP − discountTotal 10.00 GBP = 69.97 GBP');
    expect(sign).toContain('lines[1].lineTotal -17.98 GBP is negative but its quantity 2 is positive');
    expect(dup).toContain("lines[2].lineId '1' is used by lines[0] too");
    expect(date).toMatch(/businessDate 1994-03-14 is more than 30 days before now/);
    expect(qty).toContain('lines[1].quantity 5000000 is beyond the limit of 10000 units per line');
    expect(await post(JSON.stringify(saleNow('RT-good')))).toEqual({ status: 200, body: 'RT-good' });
  });

  it('stores a sale nested 5,000 levels deep in the dead-letter store as its JSON text, and stays up', async () => {
    const deadLetters = async () => (await (await fetch(`${red.url}/tillwire/dead-letters?store=st1`)).json()) as { total: number; entries: any[] };
    const text = JSON.stringify({ ...saleNow('RT-dl-deep'), attributes: 'DEEP' }).replace('"DEEP"', nestedText(5_000));
    expect((await post(text, '/dead-letter/sale')).status).toBe(202);
    const deadline = Date.now() + 10_000;
    let stored = await deadLetters();
    while (stored.total < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      stored = await deadLetters();
    }
    expect(stored).toMatchObject({ total: 1 });
    const [entry] = stored.entries;
    expect(entry.error.message).toMatch(/^sale failed validation: payload is nested more than 32 levels deep/);
    expect(typeof entry.message.payload).toBe('string');
    expect(JSON.parse(entry.message.payload).saleId).toBe('RT-dl-deep');
    expect(await post(JSON.stringify(saleNow('RT-after-dl')))).toEqual({ status: 200, body: 'RT-after-dl' });
  });
});
