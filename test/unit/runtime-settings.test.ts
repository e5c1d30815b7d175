import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminAuth, credentialSecret } from '../../nodes/runtime/runtime-settings';
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
