/**
 * Secure by default: an editor without a login is only started on a loopback address, unless the
 * operator says TILLWIRE_ALLOW_OPEN_EDITOR=1. Proven on the real runtime, started both ways users
 * start it. Nothing here listens beyond loopback: the refusals never bind, and the started cases
 * use "127.1", which the check treats like any host name (reachable from the network) while the
 * socket binds 127.0.0.1.
 */
import bcrypt from 'bcryptjs';
import { startNodeRed } from '../support/node-red-process';
import { runToExit } from './run-to-exit';

jest.setTimeout(120_000);

const refusal = /refuses to start.*0\.0\.0\.0.*TILLWIRE_ADMIN_PASSWORD_HASH.*TILLWIRE_ALLOW_OPEN_EDITOR=1/s;

describe('an open editor on a network address', () => {
  it.each(['red', 'npm-start'] as const)('is refused via %s: exits non-zero with one clear message and never serves', async (via) => {
    const run = await runToExit(via, { TILLWIRE_HOST: '0.0.0.0', TILLWIRE_ADMIN_PASSWORD_HASH: '', TILLWIRE_ALLOW_OPEN_EDITOR: '' });
    expect(run.served).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.output).toMatch(refusal);
    // a message, not a stack trace
    expect(run.output).not.toMatch(/^\s+at /m);
    // npm start refuses before it starts the demo services
    expect(run.output).not.toMatch(/demo MQTT broker/);
  });

  it('reads an empty TILLWIRE_HOST as unset (loopback), not as every interface', async () => {
    const run = await runToExit('red', { TILLWIRE_HOST: '', TILLWIRE_ADMIN_PASSWORD_HASH: '' });
    expect(run.served).toBe(true);
    expect(run.output).toMatch(/on 127\.0\.0\.1 are open to anyone who can reach them/);
    expect(run.output).not.toMatch(/refuses to start/);
  });

  it('says so when TILLWIRE_ALLOW_OPEN_EDITOR has a value other than 1', async () => {
    const run = await runToExit('red', { TILLWIRE_HOST: '0.0.0.0', TILLWIRE_ADMIN_PASSWORD_HASH: '', TILLWIRE_ALLOW_OPEN_EDITOR: 'yes' });
    expect(run.served).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/TILLWIRE_ALLOW_OPEN_EDITOR is "yes"/);
  });

  it('starts with a login: the admin API answers 401 without a token, webhook routes stay open', async () => {
    const hash = bcrypt.hashSync('correct horse', 8);
    const flows = [
      { id: 't1', type: 'tab', label: 'hooks' },
      { id: 'in1', z: 't1', type: 'http in', url: '/hook', method: 'post', wires: [['out1']] },
      { id: 'out1', z: 't1', type: 'http response', statusCode: '204', wires: [] },
    ];
    const red = await startNodeRed({
      via: 'npm-start',
      flows,
      env: { TILLWIRE_HOST: '127.1', TILLWIRE_ADMIN_PASSWORD_HASH: hash, TILLWIRE_ALLOW_OPEN_EDITOR: '', TILLWIRE_DEMO: '0' },
    });
    try {
      expect((await fetch(`${red.url}/flows`)).status).toBe(401);
      expect((await fetch(`${red.url}/settings`)).status).toBe(401);
      const login = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'correct horse' }),
      });
      expect(login.status).toBe(200);
      const { access_token: token } = (await login.json()) as { access_token: string };
      expect((await fetch(`${red.url}/flows`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // node routes (webhooks) need no editor login
      expect((await fetch(`${red.url}/hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(204);
      expect(red.output()).not.toMatch(/open to anyone|refuses to start/);
    } finally {
      await red.stop();
    }
  });

  it('starts without a login only when TILLWIRE_ALLOW_OPEN_EDITOR=1, with a loud warning', async () => {
    const red = await startNodeRed({
      via: 'red',
      flows: [],
      env: { TILLWIRE_HOST: '127.1', TILLWIRE_ADMIN_PASSWORD_HASH: '', TILLWIRE_ALLOW_OPEN_EDITOR: '1' },
    });
    try {
      expect((await fetch(`${red.url}/flows`)).status).toBe(200);
      expect(red.output()).toMatch(/WARNING.*127\.1.*WITHOUT A LOGIN.*TILLWIRE_ALLOW_OPEN_EDITOR=1/s);
    } finally {
      await red.stop();
    }
  });
});

describe('an open editor on loopback', () => {
  it('starts with no friction, warning that it has no login', async () => {
    const red = await startNodeRed({
      via: 'red',
      flows: [],
      env: { TILLWIRE_HOST: '127.0.0.1', TILLWIRE_ADMIN_PASSWORD_HASH: '', TILLWIRE_ALLOW_OPEN_EDITOR: '' },
    });
    try {
      expect((await fetch(`${red.url}/flows`)).status).toBe(200);
      expect(red.output()).toMatch(/open to anyone who can reach them/);
      expect(red.output()).not.toMatch(/refuses to start|WITHOUT A LOGIN/);
    } finally {
      await red.stop();
    }
  });
});
