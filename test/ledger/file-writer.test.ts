import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { journalFileName, journalFileStem, writeFileAtomic, writeJournalFile } from '../../nodes/ledger/file-writer';
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
  it('re-running a day rewrites the same single file with the same hash, atomically (no temp files left)', async () => {
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
      bytes: Buffer.byteLength(csv),
    });
    // the same day again (rebuilt from the same sales): same file, same content, flagged as a rewrite
    const again = buildStoreJournal(
      [fixture('sale.json')],
      { defaultRevenueAccount: '4000', taxAccounts: { 'VAT-STD': '2200', 'VAT-ZERO': '2200' }, tenderAccounts: { card: '1020', gift_card: '2400' } },
      { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' },
    );
    const second = await writeJournalFile(target, again.journalId, 'neutral', journalToCsv(again, 'neutral'));
    expect(second).toEqual({ ...first, rewritten: true });
    expect(fs.readdirSync(target)).toEqual(['store-day_LDN-042_2025-03-14.neutral.csv']);
    expect(fs.readFileSync(first.path, 'utf8')).toBe(csv);

    // the other layout is its own file; changed content replaces the file in place
    await writeJournalFile(target, journal.journalId, 'xero', 'x');
    const changed = await writeJournalFile(target, journal.journalId, 'neutral', csv + 'changed');
    expect(changed.path).toBe(first.path);
    expect(changed.sha256).not.toBe(first.sha256);
    expect(fs.readdirSync(target).sort()).toEqual(['store-day_LDN-042_2025-03-14.neutral.csv', 'store-day_LDN-042_2025-03-14.xero.csv']);
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
