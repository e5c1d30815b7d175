/**
 * Files that hold payloads or credentials are readable by their owner only (0600), and folders
 * Tillwire creates for them are 0700. New files get these modes when they are created; files
 * left from an earlier version are narrowed when Tillwire next opens them.
 */
import fs from 'node:fs';
import path from 'node:path';

export const OWNER_ONLY_FILE = 0o600;
export const OWNER_ONLY_DIR = 0o700;

/**
 * Narrows an existing file to owner-only access. Returns the mode it had when that was wider,
 * undefined when it was already private or does not exist. Throws when the mode cannot be changed
 * (the file belongs to another user).
 */
export function makeOwnerOnly(file: string): number | undefined {
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((mode & 0o077) === 0) return undefined;
  fs.chmodSync(file, mode & 0o700);
  return mode;
}

/** Creates a folder (and missing parents) owner-only; an existing folder keeps its mode. */
export function createPrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIR });
}

/** Every file under a folder, for narrowing a tree of context files. */
export function filesUnder(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(full);
    return e.isFile() ? [full] : [];
  });
}

export const octal = (mode: number) => '0' + mode.toString(8).padStart(3, '0');
