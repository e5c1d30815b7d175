/** Pieces of settings.ts that are worth testing on their own. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { inspect } from 'node:util';
import { createPrivateDir, filesUnder, makeOwnerOnly, octal, OWNER_ONLY_FILE } from './private-files';
import { DEFAULT_BODY_BUDGET_KIB } from './byte-budget';

/**
 * A setting Tillwire cannot start with. Node-RED prints whatever the settings file throws and exits
 * with code 1; this error prints as its message alone, so the operator reads one paragraph, not a
 * stack trace.
 */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }

  [inspect.custom](): string {
    return `\n${this.message}\n`;
  }
}

/** The credential secret file, kept in the user directory. */
export const SECRET_FILE = '.tillwire-credential-secret';

/**
 * A credential secret that never changes silently: the environment's, or one generated on first
 * start and stored in the user directory with mode 0600, then reused. (A different key on each
 * start would make every stored credential unreadable.) An existing secret file that others could
 * read is narrowed to 0600 with a warning: refusing it would strand every stored credential, and
 * the warning tells the operator it may have been read.
 */
export function credentialSecret(dir: string, env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = console.warn): string {
  if (env.TILLWIRE_CREDENTIAL_SECRET) return env.TILLWIRE_CREDENTIAL_SECRET;
  const file = path.join(dir, SECRET_FILE);
  const existing = readSecret(file, warn);
  if (existing) return existing;
  createPrivateDir(dir);
  const secret = crypto.randomBytes(32).toString('hex');
  // 'wx': never overwrite a secret another process wrote first.
  try {
    fs.writeFileSync(file, secret + '\n', { mode: OWNER_ONLY_FILE, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
  return secret;
}

function readSecret(file: string, warn: (line: string) => void): string | undefined {
  let secret: string;
  try {
    secret = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let was: number | undefined;
  try {
    was = makeOwnerOnly(file);
  } catch (err) {
    throw new SettingsError(
      `The credential secret ${file} can be read by other users and its mode cannot be changed (${(err as Error).message}). ` +
        'Make it owned by the user running Node-RED with mode 0600, or set TILLWIRE_CREDENTIAL_SECRET instead.',
    );
  }
  if (was !== undefined) {
    warn(
      `[tillwire] WARNING: the credential secret ${file} had mode ${octal(was)}, readable by other users; it is now 0600. ` +
        'If anyone else could log in to this machine, treat the secret and the stored credentials as exposed.',
    );
  }
  return secret || undefined;
}

export function adminAuth(env: NodeJS.ProcessEnv = process.env) {
  const hash = env.TILLWIRE_ADMIN_PASSWORD_HASH;
  if (!hash) return undefined;
  if (!/^\$2[aby]\$\d\d\$.{53}$/.test(hash)) {
    throw new SettingsError('TILLWIRE_ADMIN_PASSWORD_HASH is not a bcrypt hash; create one with `npx node-red admin hash-pw`.');
  }
  return {
    type: 'credentials',
    users: [{ username: env.TILLWIRE_ADMIN_USER || 'admin', password: hash, permissions: '*' }],
  };
}

/** The address the editor listens on; unset or empty means loopback (an empty host would make Node-RED listen on every interface). */
export function editorHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.TILLWIRE_HOST?.trim() || '127.0.0.1';
}

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Only what is loopback by its spelling: localhost, 127.0.0.0/8, ::1 (also in brackets or
 * IPv4-mapped). Any other name counts as reachable from the network, whatever it resolves to now:
 * the settings cannot wait for DNS, and a name can change.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = net.isIP(h);
  return family !== 0 && loopback.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Decides whether the editor may start as configured. With a login it always may. Without one it
 * may on loopback (a first try stays friction-free), and on any other address only when the
 * operator sets TILLWIRE_ALLOW_OPEN_EDITOR=1; otherwise this throws, so Node-RED does not start.
 * Returns the warning to print for an open editor.
 */
export function openEditorWarning(host: string, login: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (login) return undefined;
  if (isLoopbackHost(host)) {
    return (
      `\n[tillwire] WARNING: the editor and admin API on ${host} are open to anyone who can reach them.\n` +
      '[tillwire] Set TILLWIRE_ADMIN_PASSWORD_HASH (bcrypt, `npx node-red admin hash-pw`) to require a login.\n'
    );
  }
  const allow = env.TILLWIRE_ALLOW_OPEN_EDITOR;
  if (allow === '1') {
    const bar = '[tillwire] ' + '!'.repeat(78);
    return [
      '',
      bar,
      `[tillwire] WARNING: the editor and admin API listen on ${host} WITHOUT A LOGIN`,
      '[tillwire] (TILLWIRE_ALLOW_OPEN_EDITOR=1). Anyone who can reach this address can change the',
      '[tillwire] flows and run any code on this machine with the rights of Node-RED. Keep it behind',
      '[tillwire] a proxy that authenticates, or set TILLWIRE_ADMIN_PASSWORD_HASH.',
      bar,
      '',
    ].join('\n');
  }
  const ignored = allow ? ` (TILLWIRE_ALLOW_OPEN_EDITOR is "${allow}"; only 1 allows an open editor.)` : '';
  throw new SettingsError(
    `Tillwire refuses to start: the editor and admin API would listen on ${host} without a login, so anyone who can ` +
      'reach that address could change the flows and run code on this machine. Set TILLWIRE_ADMIN_PASSWORD_HASH to a ' +
      'bcrypt hash (`npx node-red admin hash-pw`) to require a login, or listen on loopback only (TILLWIRE_HOST=127.0.0.1), ' +
      'or, if something in front of Node-RED already authenticates every request, set TILLWIRE_ALLOW_OPEN_EDITOR=1.' +
      ignored,
  );
}

/** Where Node-RED keeps the flows' credentials: `<flows name>_cred.json` in the user directory. */
export function credentialsFile(userDir: string, flowFile: string): string {
  const ext = path.extname(flowFile);
  return path.join(userDir, path.basename(flowFile, ext) + '_cred' + ext);
}

/**
 * Keeps what Node-RED writes in the user directory to its owner. Node-RED writes the credentials,
 * context and config files itself with default modes, so the process umask is narrowed to 077 before
 * it writes anything (every file it creates is 0600, every folder 0700); files an earlier start left
 * readable by others (the credentials file and its backup, context files) are narrowed now, said
 * once in the log. The user directory is created 0700; an existing one keeps its mode.
 */
export function keepUserDirPrivate(userDir: string, flowFile: string, log: (line: string) => void = console.warn): void {
  process.umask(0o077);
  createPrivateDir(userDir);
  const credentials = credentialsFile(userDir, flowFile);
  const candidates = [credentials, path.join(userDir, `.${path.basename(credentials)}.backup`), ...filesUnder(path.join(userDir, 'context'))];
  const narrowed: string[] = [];
  for (const file of candidates) {
    try {
      if (makeOwnerOnly(file) !== undefined) narrowed.push(path.relative(userDir, file));
    } catch (err) {
      log(`[tillwire] WARNING: ${file} can be read by other users and its mode cannot be changed: ${(err as Error).message}`);
    }
  }
  if (narrowed.length) log(`[tillwire] made owner-only (0600), as they hold credentials or payloads: ${narrowed.join(', ')}`);
}

/**
 * TILLWIRE_WEBHOOK_BODY_BUDGET_KIB: the KiB all webhook bodies being read may hold together
 * (byte-budget.ts); unset means the default. A value that is not a whole number ≥ 1 stops the start
 * with the reason, rather than running with a budget the operator did not mean.
 */
export function webhookBodyBudgetKiB(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TILLWIRE_WEBHOOK_BODY_BUDGET_KIB;
  if (raw === undefined || raw.trim() === '') return DEFAULT_BODY_BUDGET_KIB;
  const kib = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(kib) || kib < 1) {
    throw new SettingsError(
      `TILLWIRE_WEBHOOK_BODY_BUDGET_KIB='${raw}' is not a whole number of KiB of at least 1 (default ${DEFAULT_BODY_BUDGET_KIB}, i.e. 64 MiB).`,
    );
  }
  return kib;
}
