/**
 * The one business-date rule (nodes/model/business-date.ts): an instant's calendar date in an IANA
 * time zone, across daylight-saving changes, checked against fixed-offset arithmetic.
 */
import fc from 'fast-check';
import { businessDate, BusinessDateError, isTimeZone } from '../../nodes/model/business-date';

describe('businessDate: the date on the store’s wall clock', () => {
  it('the zone decides the date, not the offset written in the timestamp', () => {
    const late = '2025-01-14T23:30:00-05:00'; // 04:30 UTC on the 15th
    expect(businessDate(late, 'America/New_York')).toBe('2025-01-14');
    expect(businessDate(late, 'Europe/London')).toBe('2025-01-15');
    expect(businessDate(late, 'UTC')).toBe('2025-01-15');
    expect(businessDate('2025-03-15T08:30:00+09:00', 'Asia/Tokyo')).toBe('2025-03-15');
    expect(businessDate('2025-03-15T08:30:00+09:00', 'America/Los_Angeles')).toBe('2025-03-14');
    expect(businessDate(new Date('2025-06-30T22:00:00Z'), 'Asia/Kuwait')).toBe('2025-07-01');
  });

  it('daylight saving: the hour around each change lands on the right day', () => {
    // London springs forward at 01:00 UTC on 30 March 2025 and falls back at 01:00 UTC on 26 October.
    expect(businessDate('2025-03-29T23:30:00Z', 'Europe/London')).toBe('2025-03-29'); // GMT
    expect(businessDate('2025-03-30T23:30:00Z', 'Europe/London')).toBe('2025-03-31'); // BST: 00:30 next day
    expect(businessDate('2025-10-25T23:30:00Z', 'Europe/London')).toBe('2025-10-26'); // still BST
    expect(businessDate('2025-10-26T23:30:00Z', 'Europe/London')).toBe('2025-10-26'); // GMT again
    // New York: 23:30 on the evening before each change, and the first minutes after.
    expect(businessDate('2025-03-09T04:30:00Z', 'America/New_York')).toBe('2025-03-08'); // 23:30 EST
    expect(businessDate('2025-03-10T03:59:00Z', 'America/New_York')).toBe('2025-03-09'); // 23:59 EDT
    expect(businessDate('2025-11-02T04:30:00Z', 'America/New_York')).toBe('2025-11-02'); // 00:30 EDT
    expect(businessDate('2025-11-03T04:30:00Z', 'America/New_York')).toBe('2025-11-02'); // 23:30 EST
    // Lord Howe Island moves by half an hour; Samoa skipped 30 December 2011 altogether.
    expect(businessDate('2025-04-05T13:15:00Z', 'Australia/Lord_Howe')).toBe('2025-04-06'); // 00:15 at +11
    expect(businessDate('2011-12-30T10:30:00Z', 'Pacific/Apia')).toBe('2011-12-31');
  });

  it('property: in a fixed-offset zone the date is the UTC date of the instant moved by the offset', () => {
    // Etc/GMT+h is UTC−h (POSIX sign), with no daylight saving: an independent reference.
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }), fc.integer({ min: -12, max: 14 }), (ms, hours) => {
        const zone = hours === 0 ? 'Etc/UTC' : `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
        const expected = new Date(ms + hours * 3_600_000).toISOString().slice(0, 10);
        expect(businessDate(new Date(ms).toISOString(), zone)).toBe(expected);
      }),
    );
  });

  it('property: the same instant written with any offset gives the same business date', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2060, 0, 1) }),
        fc.integer({ min: -12 * 4, max: 14 * 4 }),
        fc.constantFrom('Europe/London', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'),
        (ms, quarters, zone) => {
          const offsetMin = quarters * 15;
          const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const written = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(businessDate(written, zone)).toBe(businessDate(new Date(ms), zone));
        },
      ),
    );
  });

  it('refuses unknown zones and text that is not a timestamp with an offset', () => {
    expect(() => businessDate('2025-01-01T00:00:00Z', 'Mars/Olympus_Mons')).toThrow("unknown time zone 'Mars/Olympus_Mons'");
    expect(() => businessDate('2025-01-01T00:00:00', 'UTC')).toThrow(BusinessDateError); // no offset: which instant?
    expect(() => businessDate('2025-01-01', 'UTC')).toThrow(BusinessDateError);
    expect(() => businessDate('yesterday', 'UTC')).toThrow("'yesterday' is not a timestamp with a zone offset");
    expect(() => businessDate(new Date(Number.NaN), 'UTC')).toThrow(BusinessDateError);
    expect(isTimeZone('Europe/London')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Londres')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});
