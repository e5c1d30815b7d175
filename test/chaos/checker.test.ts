/**
 * The fault suite's checker must be able to fail: each kind of damage it exists to find is planted
 * here and must be reported, with its key, in the counts and in the readable summary.
 */
import { check, summarize, minorFromFloat, SentDocument, ErpRecord } from './checker';

const sent = (key: string, amount = 1000, source = 'till'): SentDocument => ({ key, amount, currency: 'GBP', source });
const rec = (key: string, name: string, amount = 1000, state = 'sale'): ErpRecord => ({ key, name, amount, currency: 'GBP', state });

describe('fault-suite checker', () => {
  it('passes when the ERP holds each sent document exactly once, re-sends included', () => {
    const r = check([sent('a'), sent('b'), sent('a')], [rec('a', 'S1'), rec('b', 'S2')], { expectedState: 'sale' });
    expect(r).toMatchObject({ ok: true, sent: 2, inErp: 2, lost: [], duplicated: [], unexpected: [], wrongAmount: [], wrongState: [] });
    expect(summarize(r)).toBe('2 sent, 2 records in the ERP: 0 lost, 0 duplicated, 0 unexpected, 0 with a wrong amount, 0 in a wrong state');
  });

  it('finds a lost document', () => {
    const r = check([sent('a'), sent('b', 250)], [rec('a', 'S1')]);
    expect(r.ok).toBe(false);
    expect(r.lost.map((d) => d.key)).toEqual(['b']);
    expect(summarize(r)).toContain('1 lost');
    expect(summarize(r)).toContain('b (till, 2.50 GBP)');
  });

  it('finds a duplicate, including a cancelled second copy', () => {
    const r = check([sent('a'), sent('b')], [rec('a', 'S1'), rec('a', 'S3', 1000, 'cancel'), rec('b', 'S2')]);
    expect(r.ok).toBe(false);
    expect(r.duplicated).toEqual([{ key: 'a', records: [rec('a', 'S1'), rec('a', 'S3', 1000, 'cancel')] }]);
    expect(summarize(r)).toContain('a: S1 [sale], S3 [cancel]');
  });

  it('finds a record that was never sent', () => {
    const r = check([sent('a')], [rec('a', 'S1'), rec('zz', 'S9')]);
    expect(r.ok).toBe(false);
    expect(r.unexpected.map((x) => x.name)).toEqual(['S9']);
    expect(summarize(r)).toContain('1 unexpected');
  });

  it('finds a wrong amount and a wrong state, and can leave amounts out', () => {
    const r = check([sent('a', 1000), sent('b')], [rec('a', 'S1', 999), rec('b', 'S2', 1000, 'draft')], { expectedState: 'sale' });
    expect(r.ok).toBe(false);
    expect(r.wrongAmount).toEqual([{ key: 'a', sent: 1000, erp: 999, currency: 'GBP' }]);
    expect(r.wrongState.map((x) => x.name)).toEqual(['S2']);
    expect(summarize(r)).toContain('a: sent 10.00 GBP, ERP 9.99 GBP');
    expect(check([sent('a', 1000)], [rec('a', 'S1', 999)], { amounts: false }).ok).toBe(true);
  });

  it('lists at most ten examples of each problem', () => {
    const many = Array.from({ length: 25 }, (_, i) => sent(`k${i}`));
    const text = summarize(check(many, []));
    expect(text).toContain('25 lost');
    expect(text).toContain('… and 15 more');
    expect(text.split('\n').filter((l) => l.startsWith('    k')).length).toBe(10);
  });

  it('refuses a sent list naming one key with two totals (the test is broken, not the product)', () => {
    expect(() => check([sent('a', 1), sent('a', 2)], [])).toThrow(/twice with different totals/);
  });

  it('reads an ERP float total as exact minor units', () => {
    expect(minorFromFloat(0.1 + 0.2, 'GBP')).toBe(30);
    expect(minorFromFloat(-12.345, 'KWD')).toBe(-12345);
    expect(minorFromFloat(1500, 'JPY')).toBe(1500);
  });
});
