/**
 * What the ERP stock reads of changes (Odoo's by `write_date`, Business Central's by item ledger
 * entry) share about their cursor's look-back: how far before the newest change seen a read looks
 * again, and when a cursor is too far in the future to trust.
 *
 * An ERP stamps a change when its transaction writes it, not when it commits, so a change can
 * appear after a read with a time (or number) below what that read saw. A read therefore looks
 * back up to 120 s before the newest change it saw, and that window closes as time passes on this
 * clock after the change was first seen: once 120 s have gone by, a later transaction would long
 * have committed, and an idle ERP is not read again and again for the same changes.
 */

/** The longest look-back, in seconds. */
export const CHANGES_LOOK_BACK_SECONDS = 120;

/** A cursor more than a day ahead of this clock counts as none (clocks differ; not by a day). */
export const CURSOR_FUTURE_SLACK_MS = 24 * 3600_000;

/**
 * Seconds to look back before the newest change, given when this clock first saw it (`seenAt`,
 * RFC 3339): the full look-back right after, none once it has gone by. A `seenAt` that cannot be
 * read, or lies ahead (this clock went back), gives the full look-back.
 */
export function lookBackSeconds(seenAt: unknown, now: Date): number {
  const seen = typeof seenAt === 'string' ? Date.parse(seenAt) : NaN;
  const elapsed = (now.getTime() - seen) / 1000;
  if (!Number.isFinite(elapsed) || elapsed < 0) return CHANGES_LOOK_BACK_SECONDS;
  return Math.max(0, Math.ceil(CHANGES_LOOK_BACK_SECONDS - elapsed));
}
