import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { journalFileName, journalFileStem, RECORD_DIR, writeFileAtomic, writeJournalFile } from '../../nodes/ledger/file-writer';
import { buildStoreJournal } from '../../nodes/ledger/store-journal';
import { journalToCsv } from '../../nodes/ledger/journal-csv';
import { fixture } from './sales';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-ledger-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

describe('journal file names', () => {
  it('map store-day ids readably and one-to-one; anything else gets a hash of the id', () => {
    expect(journalFileStem('store-day:LDN-042:2025-03-14')).toBe('store-day_LDN-042_2025-03-14');
    expect(journalFileName('store-day:LDN-042:2025-03-14', 'xero')).toBe('store-day_LDN-042_2025-03-14.xero.csv');
    // "a:b" and "a_b" must not share a file
    expect(journalFileStem('a:b')).toBe('a_b');
    expect(journalFileStem('a_b')).toMatch(/^a_b-[0-9a-f]{12}$/);
    // no path tricks, no hidden files
    for (const id of ['../../etc/passwd', '..', 'x/y\\z', '.hidden', 'Kasse Nr. 3 / Köln']) {
      const stem = journalFileStem(id);
      expect(stem).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*-[0-9a-f]{12}$/);
      expect(path.basename(stem)).toBe(stem);
    }
    expect(journalFileStem('x'.repeat(400)).length).toBeLessThanOrEqual(150 + 13);
  });
});

describe('writeJournalFile', () => {
  it('re-running a day writes nothing when its content is the same, replaces the single file when it changed, atomically (no temp files left)', async () => {
    const journal = buildStoreJournal(
      [fixture('sale.json')],
      { defaultRevenueAccount: '4000', taxAccounts: { 'VAT-STD': '2200', 'VAT-ZERO': '2200' }, tenderAccounts: { card: '1020', gift_card: '2400' } },
      { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' },
    );
    const csv = journalToCsv(journal, 'neutral');
    const target = path.join(dir, 'out');
    const first = await writeJournalFile(target, journal.journalId, 'neutral', csv);
    expect(first).toEqual({
      path: path.join(target, 'store-day_LDN-042_2025-03-14.neutral.csv'),
      sha256: sha(csv),
      rewritten: false,
      unchanged: false,
      bytes: Buffer.byteLength(csv),
    });
    const record = JSON.parse(fs.readFileSync(path.join(target, RECORD_DIR, 'store-day_LDN-042_2025-03-14.neutral.csv.json'), 'utf8'));
    expect(record).toMatchObject({ journalId: journal.journalId, layout: 'neutral', file: 'store-day_LDN-042_2025-03-14.neutral.csv', sha256: sha(csv) });
    const inode = fs.statSync(first.path).ino;

    // the same day again (rebuilt from the same sales): nothing is written, the file is the very same file
    const again = buildStoreJournal(
      [fixture('sale.json')],
      { defaultRevenueAccount: '4000', taxAccounts: { 'VAT-STD': '2200', 'VAT-ZERO': '2200' }, tenderAccounts: { card: '1020', gift_card: '2400' } },
      { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' },
    );
    const second = await writeJournalFile(target, again.journalId, 'neutral', journalToCsv(again, 'neutral'));
    expect(second).toEqual({ ...first, unchanged: true });
    expect(fs.statSync(first.path).ino).toBe(inode); // an atomic replace would have given a new inode
    expect(fs.readdirSync(target)).toEqual([RECORD_DIR, 'store-day_LDN-042_2025-03-14.neutral.csv']);
    expect(fs.readFileSync(first.path, 'utf8')).toBe(csv);

    // the other layout is its own file; changed content replaces the file in place
    await writeJournalFile(target, journal.journalId, 'xero', 'x');
    const changed = await writeJournalFile(target, journal.journalId, 'neutral', csv + 'changed');
    expect(changed).toMatchObject({ path: first.path, sha256: sha(csv + 'changed'), rewritten: true, unchanged: false });
    expect(fs.readFileSync(first.path, 'utf8')).toBe(csv + 'changed');
    expect(fs.readdirSync(target).sort()).toEqual([RECORD_DIR, 'store-day_LDN-042_2025-03-14.neutral.csv', 'store-day_LDN-042_2025-03-14.xero.csv']);
    expect(fs.readdirSync(path.join(target, RECORD_DIR)).sort()).toEqual([
      'store-day_LDN-042_2025-03-14.neutral.csv.json',
      'store-day_LDN-042_2025-03-14.xero.csv.json',
    ]);
  });

  it('a journal already written is not written again after an import job moved its file away; a file written before records existed counts too', async () => {
    const target = path.join(dir, 'out');
    const first = await writeJournalFile(target, 'settlement:amazon:1:2026-03', 'xero', 'rows\r\n');
    fs.mkdirSync(path.join(dir, 'imported'));
    fs.renameSync(first.path, path.join(dir, 'imported', path.basename(first.path)));
    const replay = await writeJournalFile(target, 'settlement:amazon:1:2026-03', 'xero', 'rows\r\n');
    expect(replay).toMatchObject({ unchanged: true, rewritten: false });
    expect(fs.existsSync(first.path)).toBe(false);

    // a file from before records were kept: its own bytes tell that it is written
    fs.writeFileSync(path.join(target, 'old.neutral.csv'), 'old rows');
    const old = await writeJournalFile(target, 'old', 'neutral', 'old rows');
    expect(old).toMatchObject({ unchanged: true, rewritten: false });
    expect(fs.existsSync(path.join(target, RECORD_DIR, 'old.neutral.csv.json'))).toBe(true);
  });

  it('the same journal arriving twice at once is written once', async () => {
    const target = path.join(dir, 'out');
    const results = await Promise.all([1, 2, 3].map(() => writeJournalFile(target, 'j-1', 'neutral', 'a,b\r\n')));
    expect(results.map((r) => r.unchanged).sort()).toEqual([false, true, true]);
    expect(fs.readdirSync(target).filter((f) => !f.startsWith('.tillwire-written'))).toEqual(['j-1.neutral.csv']);
  });

  it('leaves the previous file intact when the write fails, and refuses names with a path in them', async () => {
    const ok = await writeFileAtomic(dir, 'a.csv', 'old');
    const blocker = path.join(dir, 'sub');
    fs.writeFileSync(blocker, 'a file where a directory should be');
    await expect(writeFileAtomic(blocker, 'a.csv', 'new')).rejects.toThrow();
    expect(fs.readFileSync(ok.path, 'utf8')).toBe('old');
    await expect(writeFileAtomic(dir, '../escape.csv', 'x')).rejects.toThrow('invalid file name');
    expect(fs.readdirSync(dir).sort()).toEqual(['a.csv', 'sub']);
  });
});
