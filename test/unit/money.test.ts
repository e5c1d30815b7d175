import fc from 'fast-check';
import { fromMinor, MoneyError, sumMoney, toMinor, currencyExponent } from '../../nodes/model/money';

describe('money: decimal text <-> integer minor units', () => {
  it.each([
    ['12.30', 'GBP', 1230],
    ['12.3', 'USD', 1230],
    ['-0.01', 'EUR', -1],
    ['1500', 'JPY', 1500],
    ['1.250', 'KWD', 1250],
    ['0.005', 'KWD', 5],
    ['19.990', 'USD', 1999], // trailing zeros beyond the exponent carry no value
    [19.99, 'USD', 1999], // a JSON number is read by its digits, not multiplied as a float
    ['0.30', 'USD', 30],
  ])('%s %s -> %d', (text, currency, minor) => {
    expect(toMinor(text as string | number, currency)).toBe(minor);
  });

  it('refuses more decimals than the currency allows, naming both', () => {
    expect(() => toMinor('12.345', 'GBP')).toThrow('12.345 has 3 decimals but GBP allows 2');
    expect(() => toMinor('1.5', 'JPY')).toThrow('1.5 has 1 decimals but JPY allows 0');
    expect(() => toMinor(0.1 + 0.2, 'USD')).toThrow(/0\.30000000000000004 has 17 decimals but USD allows 2/);
  });

  it('refuses unknown currencies and text that is not a decimal', () => {
    expect(() => toMinor('1.00', 'XYZ')).toThrow("unknown currency 'XYZ'");
    expect(() => toMinor('1,000.00', 'USD')).toThrow("'1,000.00' is not a decimal amount");
    expect(() => toMinor('', 'USD')).toThrow(MoneyError);
    expect(() => toMinor(1e21, 'USD')).toThrow(/out of range/);
    expect(() => toMinor('99999999999999999', 'USD')).toThrow(/too large/);
  });

  it('formats minor units back to decimal text', () => {
    expect(fromMinor(1230, 'GBP')).toBe('12.30');
    expect(fromMinor(-5, 'GBP')).toBe('-0.05');
    expect(fromMinor(1500, 'JPY')).toBe('1500');
    expect(fromMinor(1250, 'KWD')).toBe('1.250');
    expect(fromMinor(0, 'KWD')).toBe('0.000');
    expect(() => fromMinor(1.5, 'GBP')).toThrow(/safe integer/);
  });

  it('sums only one currency, exactly', () => {
    expect(
      sumMoney([
        { amount: 10, currency: 'GBP' },
        { amount: 20, currency: 'GBP' },
      ]),
    ).toEqual({ amount: 30, currency: 'GBP' });
    expect(() =>
      sumMoney([
        { amount: 10, currency: 'GBP' },
        { amount: 20, currency: 'EUR' },
      ]),
    ).toThrow('cannot add EUR to GBP');
    expect(() =>
      sumMoney([
        { amount: Number.MAX_SAFE_INTEGER, currency: 'GBP' },
        { amount: 1, currency: 'GBP' },
      ]),
    ).toThrow(/overflows/);
    expect(sumMoney([], 'JPY')).toEqual({ amount: 0, currency: 'JPY' });
  });

  const currencies = fc.constantFrom('JPY', 'GBP', 'USD', 'KWD', 'BHD', 'CLF', 'KRW');

  it('property: fromMinor then toMinor is the identity for every amount and currency', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e15, max: 1e15 }), currencies, (amount, currency) => {
        expect(toMinor(fromMinor(amount, currency), currency)).toBe(amount);
      }),
    );
  });

  it('property: summing decimal texts in minor units equals summing their digits as big integers', () => {
    fc.assert(
      fc.property(currencies, fc.array(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), { maxLength: 50 }), (currency, raws) => {
        const exp = currencyExponent(currency);
        const texts = raws.map((r) => {
          const neg = r < 0n;
          const digits = (neg ? -r : r).toString().padStart(exp + 1, '0');
          return (neg ? '-' : '') + (exp ? `${digits.slice(0, -exp)}.${digits.slice(-exp)}` : digits);
        });
        const total = sumMoney(
          texts.map((t) => ({ amount: toMinor(t, currency), currency })),
          currency,
        );
        expect(BigInt(total.amount)).toBe(raws.reduce((a, b) => a + b, 0n));
      }),
    );
  });
});
