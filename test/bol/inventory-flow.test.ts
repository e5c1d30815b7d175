/**
 * tillwire-bol-inventory in a real Node-RED (red.js with the product's settings) against the bol
 * simulator, the figures posted over HTTP as a flow would receive them: each good figure reaches
 * its offer once, a 429 from bol's offer stock bucket is waited out, an amount above bol's 999 is
 * listed as 999 and marked capped, and an offer bol does not know and the position of a location
 * other than the node's (an offer holds one figure) end in the dead-letter store with their
 * reasons while the good figures beside them flow.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { BolSimulator } from '../../simulators/bol/simulator';
import { startSimulator } from './support';
import { flowCalls } from '../support/flow-calls';

jest.setTimeout(60_000);
const RETAILER = '1234567';
const UNKNOWN_OFFER = '00000000-0000-0000-0000-000000000000';
const offerOf = (sku: string) => BolSimulator.offerIdOf(sku);
let red: RunningNodeRed;
let sim: BolSimulator;

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  const offers = {
    'SKU-0001': offerOf('SKU-0001'),
    'SKU-0002': offerOf('SKU-0002'),
    'SKU-0003': offerOf('SKU-0003'),
    'SKU-0004': offerOf('SKU-0004'),
    'SKU-GONE': UNKNOWN_OFFER,
  };
  return [
    { id: 'tab', type: 'tab', label: 'bol stock' },
    { id: 'st', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    { id: 'bc', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: RETAILER, timeout: '5', attempts: '6' },
    // POST /stock with an array of canonical figures: answered at once, each figure sent on its own.
    { id: 'in', type: 'http in', z: 'tab', url: '/stock', method: 'post', wires: [['split', 'ack']] },
    { id: 'split', type: 'function', z: 'tab', func: 'return [msg.payload.map((payload) => ({ payload }))];', outputs: 1, wires: [['inv']] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'inv', type: 'tillwire-bol-inventory', z: 'tab', bol: 'bc', store: 'st', offers: JSON.stringify(offers), location: 'WH1', wires: [['sent']] },
    { id: 'sent', type: 'function', z: 'tab', func: 'msg.payload = msg.channelResult;\n' + record('sent'), outputs: 1, wires: [] },
    { id: 'k1', type: 'catch', z: 'tab', scope: ['inv'], uncaught: false, wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'tab', store: 'st', wires: [['dead']] },
    { id: 'dead', type: 'function', z: 'tab', func: 'msg.payload = { sku: msg.payload.sku, error: msg.error };\n' + record('dead'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = { sent: flow.get('sent') || [], dead: flow.get('dead') || [] };\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

const { call, until } = flowCalls(() => red, { callTimeoutMs: 10_000, untilTimeoutMs: 30_000 });

beforeAll(async () => {
  // bol's offer stock bucket at one request per 2 s here (the client paces by its default table),
  // so figures sent together meet bol's 429 and its Retry-After.
  sim = await startSimulator({ orders: 0, limits: { 'offers:stock': { limit: 1, windowSeconds: 2 } }, processDelayMs: 200 });
  red = await startNodeRed({ flows: flows(), via: 'red' });
  await deployCredentialsAndWait(red, { bc: { clientId: sim.clientId, clientSecret: sim.clientSecret } });
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
});

const ats = (sku: string, available: number, computedAt = '2026-12-05T01:00:00Z') => ({
  kind: 'inventory.ats',
  sku,
  channel: { system: 'bol', account: RETAILER },
  available,
  computedAt,
});

const position = (sku: string, locationId: string, onHand: number) => ({
  kind: 'inventory.position',
  sku,
  locationId,
  onHand,
  reserved: 0,
  inTransit: 0,
  safetyStock: 0,
  asOf: '2026-12-05T01:00:00Z',
});

it('good figures reach their offers once past a 429, above 999 capped; an unknown offer and another location are dead-lettered with their reasons', async () => {
  await call('/stock', [
    ats('SKU-0001', 12),
    ats('SKU-GONE', 3),
    ats('SKU-0002', 1500),
    ats('SKU-0003', 0),
    position('SKU-0004', 'WH1', 3),
    position('SKU-0004', 'WH2', 8),
  ]);
  await until('every figure settled', async () => {
    const seen = await call('/seen');
    return seen.sent.length + seen.dead.length === 6;
  });
  const seen = await call('/seen');
  expect(seen.sent.map((r: any) => [r.sku, r.quantity, r.outcome, r.status, r.capped ?? false, r.requested ?? null]).sort()).toEqual([
    ['SKU-0001', 12, 'sent', 'SUCCESS', false, null],
    ['SKU-0002', 999, 'sent', 'SUCCESS', true, 1500],
    ['SKU-0003', 0, 'sent', 'SUCCESS', false, null],
    ['SKU-0004', 3, 'sent', 'SUCCESS', false, null],
  ]);
  // Each good figure reached bol once, and bol's 429 was waited out rather than failing a figure.
  expect(sim.stockUpdates.map((u) => [u.offerId, u.amount]).sort()).toEqual(
    [
      [offerOf('SKU-0001'), 12],
      [offerOf('SKU-0002'), 999],
      [offerOf('SKU-0003'), 0],
      [offerOf('SKU-0004'), 3],
    ].sort(),
  );
  // WH2's stock never replaced WH1's on the offer.
  expect(sim.offer(offerOf('SKU-0004'))!.amount).toBe(3);
  expect(sim.stats['offers:stock'].throttled).toBeGreaterThanOrEqual(1);
  expect(sim.offer(offerOf('SKU-0001'))).toMatchObject({ amount: 12, managedByRetailer: true });

  const dead = Object.fromEntries(seen.dead.map((d: any) => [d.sku, d.error]));
  expect(Object.keys(dead).sort()).toEqual(['SKU-0004', 'SKU-GONE']);
  expect(dead['SKU-GONE'].message).toMatch(`offer ${UNKNOWN_OFFER} (SKU 'SKU-GONE'): bol refused the stock update`);
  expect(dead['SKU-GONE'].message).toMatch(`Offer with id ${UNKNOWN_OFFER} not found.`);
  expect(dead['SKU-GONE'].cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'ProcessFailure' });
  expect(dead['SKU-0004'].message).toMatch("position of SKU 'SKU-0004' at location 'WH2' refused: this node lists the stock of location 'WH1' only");
  expect(dead['SKU-0004'].cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'OtherLocation' });
  // The refused position never left Tillwire: five PUTs reached bol's handler (four offers and the unknown one).
  expect(sim.stats['offers:stock'].ok).toBe(5);
});
