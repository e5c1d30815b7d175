/**
 * Idempotent journal files (docs/ledger.md, "Idempotent files"). A journal's file name is derived
 * from its id and layout only, so re-running a day rewrites the same file instead of adding a
 * second one; the content is written to a temporary file in the same directory, flushed, and
 * renamed over the target, so a reader (or an import job polling the directory) sees either the
 * old file or the new one, never half a file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { JournalLayout } from './journal-csv';

export interface WrittenFile {
  /** Absolute path of the file. */
  path: string;
  /** sha256 of the bytes written, lower-case hex. */
  sha256: string;
  /** True when a file of that name was already there (a re-run) and has been replaced. */
  rewritten: boolean;
  bytes: number;
}

const PLAIN = /^[A-Za-z0-9.:-]+$/;
const MAX_STEM = 150;

/**
 * File-name stem for a journal id. Ids made of letters, digits, '.', '-' and ':' map one-to-one
 * (':' becomes '_', which such ids cannot contain: `store-day:LDN-042:2025-03-14` →
 * `store-day_LDN-042_2025-03-14`). Any other id is made safe (every other character becomes '_')
 * and gets the first 12 hex digits of the id's sha256 appended, so two ids never share a file.
 */
export function journalFileStem(journalId: string): string {
  if (typeof journalId !== 'string' || !journalId) throw new Error('a journal file needs a journalId');
  const simple = journalId.replace(/:/g, '_');
  if (PLAIN.test(journalId) && !journalId.startsWith('.') && simple.length <= MAX_STEM) return simple;
  const safe = journalId
    .replace(/[^A-Za-z0-9.-]+/g, '_')
    .replace(/^[.]+/, '_')
    .slice(0, MAX_STEM);
  const hash = crypto.createHash('sha256').update(journalId, 'utf8').digest('hex').slice(0, 12);
  return `${safe}-${hash}`;
}

/** `<stem>.<layout>.csv` */
export function journalFileName(journalId: string, layout: JournalLayout): string {
  return `${journalFileStem(journalId)}.${layout}.csv`;
}

/**
 * Writes `content` to `dir/name` atomically (temp file in the same directory, fsync, rename,
 * directory fsync where the platform allows it). Creates `dir` if needed.
 */
export async function writeFileAtomic(dir: string, name: string, content: string | Buffer): Promise<WrittenFile> {
  if (!name || name !== path.basename(name) || name === '.' || name === '..') throw new Error(`invalid file name ${JSON.stringify(name)}`);
  const absDir = path.resolve(dir);
  await fs.promises.mkdir(absDir, { recursive: true });
  const target = path.join(absDir, name);
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const temp = path.join(absDir, `.${name}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let existed: boolean;
  try {
    existed = (await fs.promises.stat(target)).isFile();
  } catch {
    existed = false;
  }
  const handle = await fs.promises.open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.promises.rename(temp, target);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  await syncDir(absDir);
  return { path: target, sha256, rewritten: existed, bytes: data.length };
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable on POSIX file systems; not supported on Windows, where it is skipped.
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    /* best effort */
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes a journal's CSV to `<dir>/<journal file name>`; the same journal id and layout always hit the same file. */
export function writeJournalFile(dir: string, journalId: string, layout: JournalLayout, content: string): Promise<WrittenFile> {
  return writeFileAtomic(dir, journalFileName(journalId, layout), content);
}
