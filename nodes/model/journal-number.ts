/**
 * A short, stable reference number for a journal, for ledgers that cap the length of a journal's
 * number: QuickBooks Online takes at most 21 characters as a journal entry's DocNumber (its
 * "Journal No." in the journal import). The number is "TW" and 19 Crockford base-32 characters of
 * the SHA-256 of the journal id, so the same journal always gets the same number wherever it is
 * written (a file for QuickBooks' import, or the QuickBooks connector's DocNumber), and a journal
 * imported twice shows up under the same number (QuickBooks can warn about a duplicate number).
 */
import { createHash } from 'node:crypto';

export const JOURNAL_NUMBER_LENGTH = 21;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function journalNumber(journalId: string): string {
  const digest = createHash('sha256').update(journalId, 'utf8').digest();
  let bits = 0n;
  for (const byte of digest.subarray(0, 12)) bits = (bits << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < JOURNAL_NUMBER_LENGTH - 2; i++) {
    out += CROCKFORD[Number(bits & 31n)];
    bits >>= 5n;
  }
  return `TW${out}`;
}
