/** Pieces of settings.ts that are worth testing on their own. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A credential secret that never changes silently: the environment's, or one generated on first
 * start and stored beside the user directory with mode 0600, then reused. (A different key on each
 * start would make every stored credential unreadable.)
 */
export function credentialSecret(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.TILLWIRE_CREDENTIAL_SECRET) return env.TILLWIRE_CREDENTIAL_SECRET;
  const file = path.join(dir, '.tillwire-credential-secret');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('hex');
  // 'wx': never overwrite a secret another process wrote first.
  try {
    fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
  return secret;
}

export function adminAuth(env: NodeJS.ProcessEnv = process.env) {
  const hash = env.TILLWIRE_ADMIN_PASSWORD_HASH;
  if (!hash) return undefined;
  if (!/^\$2[aby]\$\d\d\$.{53}$/.test(hash)) {
    throw new Error('TILLWIRE_ADMIN_PASSWORD_HASH is not a bcrypt hash; create one with `npx node-red admin hash-pw`');
  }
  return {
    type: 'credentials',
    users: [{ username: env.TILLWIRE_ADMIN_USER || 'admin', password: hash, permissions: '*' }],
  };
}

