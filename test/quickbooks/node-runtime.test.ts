/**
 * The QuickBooks nodes in a real Node-RED process started with the product's settings: a journal
 * arrives over Node-RED's HTTP input, `tillwire-quickbooks` posts it to the simulator once and
 * answers the posting status; a refusal reaches a plain Catch node with the Fault's code and
 * element; the rotated refresh token keeps the company connected after the access token expires
 * and, kept in the store, after a restart (the credential's own token is retired by then).
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { QboSimulator } from '../../simulators/quickbooks/simulator';
import { journal, startSimulator } from './support';
import { qboConfigNode } from '../support/config-nodes';

jest.setTimeout(120_000);

let red: RunningNodeRed;
let sim: QboSimulator;
let firstRefreshToken: string;

function flows(s: QboSimulator) {
  return [
    { id: 'tab', type: 'tab', label: 'quickbooks' },
    { id: 'st1', type: 'tillwire-store', name: 'tokens', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    qboConfigNode(s),
    { id: 'in', type: 'http in', z: 'tab', url: '/qbo/post', method: 'post', wires: [['n1']] },
    { id: 'n1', type: 'tillwire-quickbooks', z: 'tab', name: 'to QuickBooks', quickbooks: 'q1', wires: [['ok']] },
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = msg.posting;\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'k1', type: 'catch', z: 'tab', scope: ['n1'], uncaught: false, wires: [['failed']] },
    { id: 'failed', type: 'function', z: 'tab', func: 'msg.statusCode = 500;\nmsg.payload = { error: msg.error };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

beforeAll(async () => {
  sim = await startSimulator();
  firstRefreshToken = sim.currentRefreshToken;
  red = await startNodeRed({ flows: flows(sim), via: 'red' });
  await deployCredentialsAndWait(red, { q1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: firstRefreshToken } });
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
});

async function post(body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}/qbo/post`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`answered ${res.status} with no JSON: ${text.slice(0, 200)}\n${red.output().slice(-2000)}`);
  }
}

it('posts a journal once and answers the posting status; the same journal again is found, not posted', async () => {
  const first = await post(journal('NR-1'));
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ journalId: 'NR-1', status: 'posted', total: { amount: 10_234, currency: 'USD' } });
  const again = await post(journal('NR-1'));
  expect(again.body).toMatchObject({ status: 'already-posted', entryId: first.body.entryId });
  expect(sim.journalEntries()).toHaveLength(1);
  expect(sim.currentRefreshToken).not.toBe(firstRefreshToken);
});

it('hands a QuickBooks refusal to Catch with the Fault code and element', async () => {
  const unknownAccount = journal('NR-2', {
    lines: [
      { account: '9999', debit: { amount: 100, currency: 'USD' } },
      { account: '4000', credit: { amount: 100, currency: 'USD' } },
    ],
  });
  const { status, body } = await post(unknownAccount);
  expect(status).toBe(500);
  expect(body.error.source).toMatchObject({ id: 'n1', type: 'tillwire-quickbooks' });
  expect(body.error.code).toBe('missing-reference');
  expect(body.error.cause).toMatchObject({
    system: 'quickbooks',
    kind: 'missing-reference',
    retryable: false,
    status: 400,
    providerCode: '2500',
    providerElement: 'AccountRef',
  });
});

it('stays connected after the access token expires, on the rotated refresh token', async () => {
  sim.expireAccessTokens();
  const { status, body } = await post(journal('NR-3'));
  expect(status).toBe(200);
  expect(body.status).toBe('posted');
  expect(sim.stats.tokenRefreshes).toBe(2);
});

it('after a restart continues with the refresh token kept in the store, not the retired one in the credentials', async () => {
  const latest = sim.currentRefreshToken;
  expect(latest).not.toBe(firstRefreshToken);
  expect(await red.terminate('SIGTERM')).toBe(0);
  red = await startNodeRed({ via: 'red', userDir: red.userDir });
  sim.expireAccessTokens();
  const { status, body } = await post(journal('NR-4'));
  expect(status).toBe(200);
  expect(body.status).toBe('posted');
  expect(sim.stats.tokenRefreshes).toBe(3);
  expect(sim.journalEntries()).toHaveLength(3);
});
