/**
 * The admin release route when the reconcile node that held the settlement goes away (a redeploy)
 * between the route's checks and the delivery of the held message. A real redeploy cannot be made
 * to land in that gap every time, so the test makes it land there: the store's mark of the dead
 * letter as replayed (the step before delivery) first takes the node out of the runtime's view and
 * turns its receive into a spy. The release must answer 409 naming the problem, give nothing to the
 * stopped node, and leave the dead letter pending (still listed); once the node is back the same
 * release delivers it and it is posted. Fingerprints are accepted in upper case too.
 */
import storeNode from '../../nodes/core/store-config';
import journalNode from '../../nodes/ledger/journal';
import reconcileNode from '../../nodes/ledger/reconcile';
import accountsNode from '../../nodes/ledger/settlement-accounts';
import type { Store } from '../../nodes/runtime/store';
import { helper, startServer, stopAll, collect } from '../support/node-red';
import { makeSettlement } from './settlements';

let RED: any;
const capture = (r: any) => {
  RED = r;
};
const nodes = [storeNode, journalNode, reconcileNode, accountsNode, capture];

const ACCOUNTS = {
  bankAccount: '1210',
  payableAccount: '2110',
  reserveAccount: '1220',
  carriedForwardAccount: '1230',
  clearingAccount: '1240',
  suspenseAccount: '1299',
  accounts: [
    { key: 'principal', account: '4000' },
    { key: 'tax', account: '2200' },
    { key: 'fee', account: '6100' },
  ],
  trackChannel: 'amazon',
};

const flow = [
  { id: 'f1', type: 'tab' },
  { id: 's1', type: 'tillwire-store', backend: 'memory' },
  { id: 'a1', type: 'tillwire-settlement-accounts', ...ACCOUNTS },
  { id: 'r1', type: 'tillwire-reconcile', z: 'f1', store: 's1', mode: 'settlement', wires: [['j1'], ['held']] },
  { id: 'j1', type: 'tillwire-journal', z: 'f1', store: 's1', mode: 'settlement', accounts: 'a1', wires: [['out']] },
  { id: 'held', type: 'helper', z: 'f1' },
  { id: 'out', type: 'helper', z: 'f1' },
];

beforeEach(startServer);
afterEach(stopAll);

it('a reconcile node gone between the checks and the delivery: 409 naming it, nothing lost, still held; the same release later posts it', async () => {
  await helper.load(nodes, flow);
  const held = collect(helper.getNode('held'), 1);
  const s = makeSettlement({
    id: 'S-RACE',
    currency: 'EUR',
    statedTotal: 10_000,
    lines: [
      ['principal', 10_000, { order: 'o-1' }],
      ['tax', 1_900, { order: 'o-1' }],
      ['fee', -1_800, { category: 'commission' }],
    ],
  });
  helper.getNode('r1').receive({ payload: s });
  await held;
  const [listed] = (await helper.request().get('/tillwire/settlements/held').expect(200)).body.settlements;
  expect(listed).toMatchObject({ settlementId: 'S-RACE', releasable: true, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });

  // The redeploy lands while the entry is being marked replayed: the node found before is stopped.
  const store: Store = await (helper.getNode('s1') as any).manager.acquire();
  const old = helper.getNode('r1') as any;
  const stopped = jest.fn();
  const getNode = RED.nodes.getNode;
  const update = store.updateDeadLetter.bind(store);
  const spy = jest.spyOn(store, 'updateDeadLetter').mockImplementation(async (id, patch, version) => {
    if (patch.status === 'replayed') {
      old.receive = stopped;
      RED.nodes.getNode = (nid: string) => (nid === 'r1' ? null : getNode(nid));
    }
    return update(id, patch, version);
  });
  const body = { system: listed.system, account: listed.account, settlementId: 'S-RACE', fingerprint: listed.fingerprint.toUpperCase(), reason: 'reviewed' };
  const refused = await helper.request().post('/tillwire/settlements/release').send(body);
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatch(
    /^settlement S-RACE: the reconcile node r1 that held it is not deployed \(redeployed or removed while the release was delivered/,
  );
  expect(stopped).not.toHaveBeenCalled();
  expect((await store.getDeadLetter(listed.deadLetterId))!.status).toBe('pending');
  expect((await helper.request().get('/tillwire/settlements/held').expect(200)).body.settlements).toEqual([
    expect.objectContaining({ settlementId: 'S-RACE', releasable: true }),
  ]);

  // The node runs again: the same release (recorded already) delivers the held settlement, which posts.
  spy.mockRestore();
  RED.nodes.getNode = getNode;
  delete old.receive;
  const posted = collect(helper.getNode('out'), 1);
  const again = await helper.request().post('/tillwire/settlements/release').send(body);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ released: false, replayed: 1, release: { fingerprint: listed.fingerprint, reason: 'reviewed' } });
  const [journal] = await posted;
  expect(journal.payload.lines.some((l: any) => l.account === '1299')).toBe(true);
  expect((await helper.request().get('/tillwire/settlements/held').expect(200)).body.settlements).toEqual([]);
});
