/**
 * The operator's path for a short order, in a real Node-RED (red.js with the product's settings and
 * an editor login): the reserve node's "oversell risk" output goes through a Change node that sets
 * `msg.reconsider` into a dead-letter node, and a replay node sends an entry back into the reserve
 * node when the operator asks (the admin API, as the editor's button does). A channel re-sending the
 * order gets its first answer (short) and adds no entry; a replay before stock arrives is short
 * again, on the same entry; after a receipt the replay reserves it, once.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { type LedgerRuntime, observedReserve, record, shopifyOrder, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'LAST-MUG';
let red: RunningNodeRed;
let rt: LedgerRuntime;
let operator: string;
const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 20_000 });

function flows() {
  const base = observedReserve({
    label: 'short orders held for the operator',
    guard: { locations: 'WH1' },
    catchScope: ['guard', 'held', 'retry'],
    seenExtra: "msg.payload.held = flow.get('held') || [];\nmsg.payload.risk = flow.get('risk') || [];\n",
  });
  // The oversell output also goes to the hold (as a user wires it beside their alert).
  const guard = base.find((n) => n.id === 'guard')!;
  guard.wires = [['booked'], ['risk', 'first'], ['drift']];
  return [
    ...base,
    { id: 'risk', type: 'function', z: 'tab', func: `msg.payload = msg.inventory;\n${record('risk')}`, outputs: 1, wires: [] },
    // Only a first answer (or a retry's new one) is held: the channel re-sending the order adds no entry.
    {
      id: 'first',
      type: 'switch',
      z: 'tab',
      property: 'inventory.duplicate',
      propertyType: 'msg',
      rules: [{ t: 'false' }],
      checkall: 'false',
      outputs: 1,
      wires: [['hold']],
    },
    {
      id: 'hold',
      type: 'change',
      z: 'tab',
      name: 'decide again when replayed',
      rules: [
        { t: 'set', p: 'reconsider', pt: 'msg', to: 'true', tot: 'bool' },
        { t: 'set', p: 'error', pt: 'msg', to: 'oversell risk: replay it when stock has come', tot: 'str' },
      ],
      wires: [['held']],
    },
    { id: 'held', type: 'tillwire-dead-letter', z: 'tab', store: 'st', wires: [['heldRec']] },
    { id: 'heldRec', type: 'function', z: 'tab', func: `msg.payload = msg.deadLetter;\n${record('held')}`, outputs: 1, wires: [] },
    { id: 'retry', type: 'tillwire-replay', z: 'tab', store: 'st', wires: [['guard']] },
    // A retry flag set as text (a Change node's default type): not the operator's decision.
    { id: 'textIn', type: 'http in', z: 'tab', url: '/retry-as-text', method: 'post', wires: [['asText', 'ack']] },
    { id: 'asText', type: 'function', z: 'tab', func: "msg.reconsider = 'true';\nreturn msg;", outputs: 1, wires: [['guard']] },
    // The ERP's stock reading (msg.erp names the ERP, as the ERP nodes set it).
    { id: 'erpIn', type: 'http in', z: 'tab', url: '/erp', method: 'post', wires: [['asErp', 'ack']] },
    { id: 'asErp', type: 'function', z: 'tab', func: "msg.erp = { system: 'odoo' };\nreturn msg;", outputs: 1, wires: [['guard']] },
  ];
}

beforeAll(async () => {
  rt = await startLedgerRuntime(flows(), { moreUsers: [{ username: 'lead', permissions: '*' }] });
  red = rt.red;
  operator = await rt.token('lead', '*');
});

afterAll(async () => {
  await rt?.stop();
});

const reading = (onHand: number, asOf: string) => ({
  kind: 'inventory.position',
  sku: SKU,
  locationId: 'WH1',
  onHand,
  reserved: 0,
  inTransit: 0,
  safetyStock: 0,
  asOf,
});
const replay = async (id: string) => {
  const res = await fetch(`${red.url}/tillwire/replay/retry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ids: [id] }),
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(200);
  return (await res.json()).replayed;
};
const position = async () => (await rt.admin(`/tillwire/inventory/explain?sku=${SKU}&location=WH1`, rt.reader)).body.positions[0];

it('a short order held for the operator: re-sent it stays short, replayed before stock arrives it is short again on the same entry, replayed after a receipt it is reserved once', async () => {
  await call('/erp', reading(2, '2026-12-05T09:00:00Z'));
  await until('the reading booked', (s) => s.booked.length === 1);

  const order = shopifyOrder(SKU, '7001', 3);
  await call('/doc', order);
  let seen = await until('the order short and held', (s) => s.risk.length === 1 && s.held.length === 1);
  expect(seen.risk[0]).toMatchObject({ outcome: 'short', short: [{ sku: SKU, requested: 3, available: 2 }] });
  const entry = seen.held[0].id;

  expect((await rt.admin(`/tillwire/dead-letters/${entry}`, rt.reader)).body.error.message).toBe('oversell risk: replay it when stock has come');

  // The channel sends the order again: its first answer, nothing reserved, no second entry.
  await call('/doc', order);
  seen = await until('the re-sent order answered', (s) => s.risk.length === 2);
  expect(seen.risk[1]).toMatchObject({ outcome: 'short', duplicate: true });
  expect(seen.held).toHaveLength(1);

  // The operator retries before stock arrived: decided again, still short, back on the same entry.
  expect(await replay(entry)).toBe(1);
  seen = await until('the retry answered and held again', (s) => s.risk.length === 3 && s.held.length === 2);
  expect(seen.risk[2]).toMatchObject({ outcome: 'short', duplicate: false, reconsidered: true, short: [{ sku: SKU, requested: 3, available: 2 }] });
  expect(seen.held.at(-1)).toMatchObject({ id: entry, attempts: 2 });

  // A receipt: the ERP reads 5. The operator's retry now reserves the order.
  await call('/erp', reading(5, '2026-12-05T10:00:00Z'));
  await until('the receipt booked', (s) => s.booked.length === 2);
  expect(await replay(entry)).toBe(1);
  seen = await until('the order reserved', (s) => s.booked.length === 3);
  expect(seen.booked[2]).toMatchObject({ outcome: 'reserved', reconsidered: true, duplicate: false, allocations: [{ sku: SKU, locationId: 'WH1', qty: 3 }] });
  expect(await position()).toMatchObject({ onHand: 5, reserved: 3, free: 2 });

  // A second click replays nothing (the entry was replayed); the channel sending the order once
  // more gets its answer, nothing more reserved.
  expect(await replay(entry)).toBe(0);
  await call('/doc', order);
  seen = await until('the re-send answered', (s) => s.booked.length === 4);
  expect(seen.booked[3]).toMatchObject({ outcome: 'reserved', duplicate: true });
  expect(await position()).toMatchObject({ reserved: 3 });
  expect(seen.caught).toEqual([]);

  // Another order, short (2 free, 40 asked); a retry whose flag is the text "true" is not one: its
  // first answer, a warning naming the flag, nothing reserved.
  const big = shopifyOrder(SKU, '7002', 40);
  await call('/doc', big);
  seen = await until('the big order short', (s) => s.risk.length === 4);
  await call('/retry-as-text', big);
  seen = await until('the text flag answered', (s) => s.risk.length === 5);
  expect(seen.risk[4]).toMatchObject({ outcome: 'short', duplicate: true });
  expect(seen.risk[4].reconsidered).toBeUndefined();
  expect(red.output()).toContain('msg.reconsider is "true", not the boolean true');
  expect(await position()).toMatchObject({ reserved: 3 });
});
