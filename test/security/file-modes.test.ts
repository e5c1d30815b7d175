/**
 * Files that hold payloads or credentials are the owner's only (0600), on the real runtime: what
 * Node-RED writes itself after a deploy (credentials, context), the SQLite store with its -wal and
 * -shm files, the generated credential secret; and files an earlier version left readable are
 * narrowed on the next start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, RunningNodeRed, deployCredentialsAndWait } from '../support/node-red-process';

jest.setTimeout(180_000);

const flows = [
  { id: 'tab1', type: 'tab', label: 'files' },
  { id: 'store1', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db', synchronous: 'normal' },
  { id: 'odoo1', type: 'tillwire-odoo-config', name: 'Odoo', url: 'http://127.0.0.1:9', database: 'db', login: 'admin', api: 'jsonrpc', version: 17 },
  {
    id: 'inj1',
    z: 'tab1',
    type: 'inject',
    props: [{ p: 'payload' }],
    payload: 'a customer payload',
    payloadType: 'str',
    once: true,
    onceDelay: 0.1,
    repeat: '',
    wires: [['set1']],
  },
  { id: 'set1', z: 'tab1', type: 'change', rules: [{ t: 'set', p: 'last', pt: 'flow', to: 'payload', tot: 'msg' }], wires: [] },
  // reads the flow context back, so the test knows the inject has written it
  { id: 'get1', z: 'tab1', type: 'http in', url: '/last', method: 'get', wires: [['read1']] },
  { id: 'read1', z: 'tab1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'last', tot: 'flow' }], wires: [['res1']] },
  { id: 'res1', z: 'tab1', type: 'http response', wires: [] },
];

const mode = (file: string) => fs.statSync(file).mode & 0o777;

async function until<T>(what: string, probe: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops Node-RED with SIGINT (context is flushed on close) and keeps its user directory. */
async function stopKeepingFiles(red: RunningNodeRed): Promise<void> {
  process.kill(red.pid, 'SIGINT');
  await until('Node-RED to exit', () => {
    try {
      process.kill(red.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

function contextFiles(userDir: string): string[] {
  const dir = path.join(userDir, 'context');
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

it('credentials, context, store and secret files are 0600; files an earlier start left readable are narrowed', async () => {
  // the secret comes from its file, not from the environment
  const env = { TILLWIRE_CREDENTIAL_SECRET: '' };
  const first = await startNodeRed({ via: 'red', flows, env });
  const userDir = first.userDir;
  const at = (name: string) => path.join(userDir, name);
  try {
    expect(await deployCredentialsAndWait(first, { odoo1: { apiKey: 'an-api-key' } })).toBe(true);
    // the inject of the redeployed flow has put a customer payload into the flow context
    for (const deadline = Date.now() + 30_000; ;) {
      const last = await fetch(`${first.url}/last`).then(
        (r) => r.text(),
        () => '',
      );
      if (last === 'a customer payload') break;
      if (Date.now() > deadline) throw new Error(`the flow context never held the payload (GET /last: '${last}')`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await until('the credentials file', () => fs.existsSync(at('flows_cred.json')));
    // the -wal and -shm files exist while the store is open
    await until('the store to open in WAL mode', () => fs.existsSync(at('tillwire.db-wal')) && fs.existsSync(at('tillwire.db-shm')));
    const store = ['tillwire.db', 'tillwire.db-wal', 'tillwire.db-shm'].map((f) => [f, mode(at(f))]);
    expect(store).toEqual([
      ['tillwire.db', 0o600],
      ['tillwire.db-wal', 0o600],
      ['tillwire.db-shm', 0o600],
    ]);
    await stopKeepingFiles(first);

    const written = ['flows_cred.json', '.tillwire-credential-secret', 'flows.json', ...contextFiles(userDir).map((f) => path.relative(userDir, f))];
    expect(written.filter((f) => f.startsWith('context'))).not.toHaveLength(0);
    expect(written.map((f) => [f, mode(at(f))])).toEqual(written.map((f) => [f, 0o600]));
    expect(mode(at('context'))).toBe(0o700);

    // an earlier version left them readable by everyone
    const sensitive = ['flows_cred.json', '.tillwire-credential-secret', 'tillwire.db', ...contextFiles(userDir).map((f) => path.relative(userDir, f))];
    for (const f of sensitive) fs.chmodSync(at(f), 0o644);
    const second = await startNodeRed({ via: 'red', flows, env, userDir });
    try {
      await until('the store to open', () => fs.existsSync(at('tillwire.db-wal')));
      expect(sensitive.map((f) => [f, mode(at(f))])).toEqual(sensitive.map((f) => [f, 0o600]));
      expect(second.output()).toMatch(/credential secret .* had mode 0644/);
      expect(second.output()).toMatch(/made owner-only \(0600\).*flows_cred\.json.*context/);
      // the credentials still decrypt with the kept secret
      expect(second.output()).not.toMatch(/Error loading credentials|Encrypted credentials not found/);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
});
