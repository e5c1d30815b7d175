import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminAuth, credentialSecret, editorHost, isLoopbackHost, openEditorWarning } from '../../nodes/runtime/runtime-settings';
import { StoreManager } from '../../nodes/runtime/store-manager';
import { createStore } from '../../nodes/runtime/create-store';

describe('settings', () => {
  it('credential secret: the environment wins; otherwise one is generated once, owner-only, and reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-secret-'));
    expect(credentialSecret(dir, { TILLWIRE_CREDENTIAL_SECRET: 'from-env' })).toBe('from-env');
    const first = credentialSecret(dir, {});
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(credentialSecret(dir, {})).toBe(first);
    const mode = fs.statSync(path.join(dir, '.tillwire-credential-secret')).mode & 0o777;
    expect(mode).toBe(0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('admin auth only with a bcrypt hash, and a bad hash is refused rather than ignored', () => {
    expect(adminAuth({})).toBeUndefined();
    const hash = '$2b$08$' + 'a'.repeat(53);
    expect(adminAuth({ TILLWIRE_ADMIN_PASSWORD_HASH: hash })).toEqual({
      type: 'credentials',
      users: [{ username: 'admin', password: hash, permissions: '*' }],
    });
    expect(() => adminAuth({ TILLWIRE_ADMIN_PASSWORD_HASH: 'secret' })).toThrow(/not a bcrypt hash/);
  });

  it('an existing secret file others could read is narrowed to 0600 and reused, with a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-secret-'));
    const file = path.join(dir, '.tillwire-credential-secret');
    fs.writeFileSync(file, 'kept-secret\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(credentialSecret(dir, {}, (w) => warnings.push(w))).toBe('kept-secret');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([expect.stringMatching(/had mode 0644.*now 0600/)]);
    expect(credentialSecret(dir, {}, (w) => warnings.push(w))).toBe('kept-secret');
    expect(warnings).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a user directory the secret creates is owner-only', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-secret-'));
    const dir = path.join(parent, 'user-dir');
    credentialSecret(dir, {});
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('loopback is what is loopback by its spelling; every other host counts as a network address', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'vm', '127.1', 'localhost.example.com']) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
    expect(editorHost({})).toBe('127.0.0.1');
    expect(editorHost({ TILLWIRE_HOST: ' ' })).toBe('127.0.0.1');
    expect(editorHost({ TILLWIRE_HOST: '0.0.0.0' })).toBe('0.0.0.0');
  });

  it('an open editor: warned on loopback, refused elsewhere unless TILLWIRE_ALLOW_OPEN_EDITOR=1', () => {
    expect(openEditorWarning('0.0.0.0', true, {})).toBeUndefined();
    expect(openEditorWarning('127.0.0.1', false, {})).toMatch(/open to anyone who can reach them/);
    expect(() => openEditorWarning('0.0.0.0', false, {})).toThrow(/refuses to start.*TILLWIRE_ADMIN_PASSWORD_HASH.*TILLWIRE_ALLOW_OPEN_EDITOR=1/s);
    expect(() => openEditorWarning('0.0.0.0', false, { TILLWIRE_ALLOW_OPEN_EDITOR: 'true' })).toThrow(/is "true"; only 1 allows/);
    expect(openEditorWarning('0.0.0.0', false, { TILLWIRE_ALLOW_OPEN_EDITOR: '1' })).toMatch(/WITHOUT A LOGIN/);
  });
});

describe('store manager', () => {
  it('reports a store that cannot be opened, rejects at once while down, and recovers when it can be opened', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-manager-'));
    const blocker = path.join(dir, 'blocker');
    fs.writeFileSync(blocker, 'a file where a folder should be');
    const file = path.join(blocker, 'store.db');
    const manager = new StoreManager(() => createStore({ backend: 'sqlite', file }), { retryMinMs: 20, retryMaxMs: 40 });
    const states: boolean[] = [];
    manager.on('state', (s) => states.push(s.ok));
    await expect(manager.start()).rejects.toThrow(/store unavailable: cannot open SQLite store/);
    expect(manager.state).toMatchObject({ ok: false, opening: false, reason: expect.stringContaining('cannot open SQLite store') });
    await expect(manager.acquire()).rejects.toThrow(/store unavailable/);

    // the operator fixes the path; the retry opens it
    fs.rmSync(blocker);
    const recovered = new Promise<void>((resolve) => manager.on('state', (s) => s.ok && resolve()));
    await recovered;
    const store = await manager.acquire();
    expect((await store.claim('s', 'k')).outcome).toBe('claimed');
    expect(states).toContain(true);
    await manager.stop();
    await expect(manager.acquire()).rejects.toThrow(/closed/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
