/**
 * The business date of an instant: the calendar date on the store's (or company's) wall clock,
 * in its IANA time zone. One rule for every connector that derives a date from a timestamp
 * (Square's till sales, Business Central's order and credit-memo dates, Odoo's invoice dates).
 *
 * The zone's rules come from Intl (the ICU data Node ships), so daylight-saving changes and
 * historical offsets are handled by the platform, never by adding hours by hand. The offset
 * written in the timestamp only fixes the instant; the date is the zone's, so
 * "2025-01-14T23:30:00-05:00" is 2025-01-15 in Europe/London and 2025-01-14 in America/New_York.
 */

export class BusinessDateError extends Error {
  override name = 'BusinessDateError';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', calendar: 'iso8601', numberingSystem: 'latn' });
    } catch {
      throw new BusinessDateError(`unknown time zone '${timeZone}' (expected an IANA name such as Europe/London or UTC)`);
    }
    if (formatters.size > 500) formatters.clear(); // zones come from configuration: a handful, but never unbounded
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name the platform knows. */
export function isTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** YYYY-MM-DD of `instant` (an RFC 3339 timestamp, or a Date) on the wall clock of `timeZone`. */
export function businessDate(instant: string | Date, timeZone: string): string {
  const ms =
    instant instanceof Date ? instant.getTime() : typeof instant === 'string' && /(?:Z|[+-]\d{2}:?\d{2})$/i.test(instant.trim()) ? Date.parse(instant) : NaN;
  if (Number.isNaN(ms)) throw new BusinessDateError(`'${String(instant)}' is not a timestamp with a zone offset`);
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year').padStart(4, '0')}-${get('month')}-${get('day')}`;
}
