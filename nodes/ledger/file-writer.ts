/**
 * Journal files written once (docs/ledger.md, "Idempotent files"). A journal's file name is
 * derived from its id and layout only, so the same journal always lands in the same file and
 * never adds a second one; the content is written to a temporary file in the same directory,
 * flushed, and renamed over the target, so a reader (or an import job polling the directory)
 * sees either the old file or the new one, never half a file.
 *
 * What was written is recorded beside it (`.tillwire-written/<file name>.json`: journal id,
 * layout, SHA-256): the same journal with the same content again writes nothing, not even when
 * an import job has moved the file away after importing it, so it is never imported twice. A
 * journal whose content changed under the same id (a store day re-run after a late sale)
 * replaces the file and its record.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyedLock } from '../runtime/keyed-lock';
import type { JournalLayout } from './journal-csv';

export interface WrittenFile {
  /** Absolute path of the file. */
  path: string;
  /** sha256 of the bytes written, lower-case hex. */
  sha256: string;
  /** True when a file of that name (or, for a journal file, an earlier version of the journal) was there and has been replaced. */
  rewritten: boolean;
  bytes: number;
}

export interface JournalFileResult extends WrittenFile {
  /** True when this very content had been written before: nothing was written now. */
  unchanged: boolean;
}

/** The record of one journal file: what was written last under that name. */
export interface JournalFileRecord {
  journalId: string;
  layout: JournalLayout;
  file: string;
  sha256: string;
  bytes: number;
  writtenAt: string;
}

export const RECORD_DIR = '.tillwire-written';

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

// One write at a time per target file in this process, so the same journal arriving twice at once
// is compared with what the first copy wrote rather than racing it.
const writes = new KeyedLock();

async function readRecord(dir: string, name: string): Promise<JournalFileRecord | undefined> {
  try {
    const record = JSON.parse(await fs.promises.readFile(path.join(dir, RECORD_DIR, `${name}.json`), 'utf8')) as JournalFileRecord;
    return typeof record?.sha256 === 'string' ? record : undefined;
  } catch {
    return undefined; // none yet (or unreadable: the file itself is compared then)
  }
}

async function sha256OfFile(file: string): Promise<string | undefined> {
  try {
    return crypto
      .createHash('sha256')
      .update(await fs.promises.readFile(file))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Writes a journal's CSV to `<dir>/<journal file name>` once: the same journal id and layout
 * always hit the same file, and content already written (by the record, or, without one, by the
 * file's own bytes) is not written again.
 */
export function writeJournalFile(dir: string, journalId: string, layout: JournalLayout, content: string): Promise<JournalFileResult> {
  const name = journalFileName(journalId, layout);
  const absDir = path.resolve(dir);
  const target = path.join(absDir, name);
  return writes.run(target, async () => {
    const data = Buffer.from(content, 'utf8');
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    const record = await readRecord(absDir, name);
    const unchanged: JournalFileResult = { path: target, sha256, rewritten: false, unchanged: true, bytes: data.length };
    if (record?.sha256 === sha256) return unchanged;
    const remember = () => {
      const next: JournalFileRecord = { journalId, layout, file: name, sha256, bytes: data.length, writtenAt: new Date().toISOString() };
      return writeFileAtomic(path.join(absDir, RECORD_DIR), `${name}.json`, `${JSON.stringify(next)}\n`);
    };
    // Written before the record existed (or its record was lost): the file's own bytes tell.
    if (!record && (await sha256OfFile(target)) === sha256) {
      await remember();
      return unchanged;
    }
    const file = await writeFileAtomic(absDir, name, data);
    await remember();
    return { ...file, rewritten: file.rewritten || record !== undefined, unchanged: false };
  });
}
