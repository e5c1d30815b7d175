/**
 * The Xero nodes in a real Node-RED process started with the product's settings, against the Xero
 * simulator: a journal arriving over Node-RED's HTTP input is posted once and answered with the
 * posting status; Xero's refusal reaches a plain Catch node with the structured fields; the
 * refresh token Xero rotates is kept in the Tillwire store, so a restart long after the
 * configured token was used still reaches Xero.
 */
import { startNodeRed, RunningNodeRed, deployCredentialsAndWait } from '../support/node-red-process';
import { XeroSimulator } from '../../simulators/xero/simulator';
import { ManualClock } from '../support/simulators';
import { journal } from './support';

jest.setTimeout(120_000);

let red: RunningNodeRed;
let sim: XeroSimulator;
const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));

function flows(s: XeroSimulator) {
  return [
    { id: 'tab', type: 'tab', label: 'xero' },
    { id: 'st', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db' },
    {
      id: 'x1',
      type: 'tillwire-xero-config',
      tenantId: s.tenantId,
      clientId: s.clientId,
      store: 'st',
      apiUrl: s.apiUrl,
      tokenUrl: s.tokenUrl,
      timeoutSeconds: 5,
      maxAttempts: 3,
      retryBaseMs: 1,
    },
    { id: 'in', type: 'http in', z: 'tab', url: '/journal', method: 'post', wires: [['post']] },
    { id: 'post', type: 'tillwire-xero', z: 'tab', name: 'to Xero', xero: 'x1', wires: [['ok']] },
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = msg.xero;\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'k1', type: 'catch', z: 'tab', scope: ['post'], uncaught: false, wires: [['failed']] },
    { id: 'failed', type: 'function', z: 'tab', func: 'msg.statusCode = 500;\nmsg.payload = { error: msg.error };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

const credentials = () => ({ x1: { clientSecret: sim.clientSecret, refreshToken: 'tillwire-xero-refresh-0' } });

beforeAll(async () => {
  sim = new XeroSimulator({ port: 0, now: clock.now });
  await sim.start();
  red = await startNodeRed({ flows: flows(sim), via: 'red' });
  await deployCredentialsAndWait(red, credentials());
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
});

async function post(doc: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}/journal`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.json() };
}

it('posts a journal once and answers with the posting status Xero shows; the same journal again is found', async () => {
  const first = await post(journal('NR-1'));
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ journalId: 'NR-1', status: 'POSTED', outcome: 'created', debitTotal: 10_000, currency: 'GBP', lines: 3 });
  const again = await post(journal('NR-1'));
  expect(again.body).toMatchObject({ outcome: 'found', manualJournalId: first.body.manualJournalId });
  expect(sim.allJournals().filter((j) => j.Narration.endsWith('[tw:NR-1]'))).toHaveLength(1);
});

it("Xero's refusal reaches a Catch node as a value error with Xero's messages", async () => {
  const doc = journal('NR-2');
  doc.lines[0].account = '090';
  const { status, body } = await post(doc);
  expect(status).toBe(500);
  expect(body.error.code).toBe('value');
  expect(body.error.cause).toMatchObject({ system: 'xero', kind: 'value', retryable: false, status: 400, providerCode: 'ValidationException' });
  expect(body.error.cause.providerErrors).toHaveLength(1);
});

it('after a restart, past the grace of the configured refresh token, the kept one still reaches Xero', async () => {
  clock.advance(31 * 60_000); // the configured token was used at the first post; its grace is over
  // The same user directory (flows, encrypted credentials, the store's file), a new process.
  const userDir = red.userDir;
  await red.terminate('SIGTERM');
  red = await startNodeRed({ via: 'red', userDir });
  const { status, body } = await post(journal('NR-3'));
  expect(status).toBe(200);
  expect(body).toMatchObject({ journalId: 'NR-3', status: 'POSTED' });
  expect(sim.validRefreshTokens()).not.toContain('tillwire-xero-refresh-0');
});
