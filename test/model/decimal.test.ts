/**
 * model/decimal.ts: parsing, formatting, rounding, division and allocation, checked against a
 * reference written independently with plain BigInt arithmetic on the digits (property tests), plus
 * the values that trip float code.
 */
import fc from 'fast-check';
import {
  allocate,
  addDecimals,
  DecimalError,
  divRound,
  formatDecimal,
  divideRound,
  includedTax,
  parseDecimal,
  rescale,
  shareRound,
  toSafeNumber,
  trimDecimal,
  type Rounding,
} from '../../nodes/model/decimal';
import { toMinor } from '../../nodes/model/money';

const ROUNDINGS: Rounding[] = ['half-away-from-zero', 'half-even', 'ceiling', 'floor'];

/**
 * Reference rounding of n/d: compare the exact remainder with half of d using rationals (no
 * shared code with divRound). floor first, then decide by the fractional part frac = n/d − floor.
 */
function referenceDivRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  const floorDiv = (a: bigint, b: bigint) => {
    const q = a / b;
    return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
  };
  const fl = floorDiv(n, d);
  // fractional part as fracN / |d| with 0 ≤ fracN < |d|
  const ad = d < 0n ? -d : d;
  const fracN = n * (d < 0n ? -1n : 1n) - fl * ad;
  if (fracN === 0n) return fl;
  const ce = fl + 1n;
  switch (rounding) {
    case 'floor':
      return fl;
    case 'ceiling':
      return ce;
    default: {
      const cmp = 2n * fracN - ad; // <0: nearer floor; >0: nearer ceiling; 0: tie
      if (cmp < 0n) return fl;
      if (cmp > 0n) return ce;
      if (rounding === 'half-even') return fl % 2n === 0n ? fl : ce;
      // away from zero: the one with the larger magnitude
      return fl < 0n ? fl : ce;
    }
  }
}

const bigints = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });
const divisors = fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }).filter((d) => d !== 0n);

/** Decimal text written by hand from a bigint and a scale (reference formatter). */
function text(units: bigint, scale: number, sep = '.'): string {
  const neg = units < 0n;
  const digits = (neg ? -units : units).toString().padStart(scale + 1, '0');
  return (neg ? '-' : '') + (scale ? digits.slice(0, -scale) + sep + digits.slice(-scale) : digits);
}

describe('model/decimal: parse and format', () => {
  it('property: format then parse is the identity, with a point or a decimal comma', () => {
    fc.assert(
      fc.property(bigints, fc.integer({ min: 0, max: 12 }), fc.constantFrom('.' as const, ',' as const), (units, scale, sep) => {
        const written = formatDecimal({ units, scale }, { decimalSeparator: sep });
        expect(written).toBe(text(units, scale, sep));
        expect(parseDecimal(written, { decimalSeparator: sep })).toEqual({ units, scale });
      }),
    );
  });

  it('property: parse then format gives back the text (signs, leading zeros in the fraction kept)', () => {
    const decimalText = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^(0|[1-9]\d{0,15})$/), fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: undefined }))
      .map(([sign, whole, frac]) => ({ written: `${sign}${whole}${frac === undefined ? '' : `.${frac}`}`, sign, whole, frac }));
    fc.assert(
      fc.property(decimalText, ({ written, sign, whole, frac }) => {
        const d = parseDecimal(written);
        const expected = `${sign === '-' && /[1-9]/.test(whole + (frac ?? '')) ? '-' : ''}${whole}${frac === undefined ? '' : `.${frac}`}`;
        expect(formatDecimal(d)).toBe(expected);
      }),
    );
  });

  it('property: a JSON number is read as its shortest text, so a double round-trips exactly', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }), (x) => {
        const d = parseDecimal(x);
        expect(Number(formatDecimal(d))).toBe(x === 0 ? 0 : x);
      }),
    );
  });

  it('reads signs, exponents (only where allowed), percentages and a decimal comma', () => {
    expect(parseDecimal('+12.30')).toEqual({ units: 1230n, scale: 2 });
    expect(parseDecimal(' -0.05 ')).toEqual({ units: -5n, scale: 2 });
    expect(parseDecimal('95,00', { decimalSeparator: ',' })).toEqual({ units: 9500n, scale: 2 });
    expect(parseDecimal('-1234,5', { decimalSeparator: ',' })).toEqual({ units: -12345n, scale: 1 });
    expect(parseDecimal('20%', { percent: true })).toEqual({ units: 20n, scale: 2 });
    expect(parseDecimal('1.5e3', { exponent: true })).toEqual({ units: 1500n, scale: 0 });
    expect(parseDecimal('25E-4', { exponent: true })).toEqual({ units: 25n, scale: 4 });
    // JSON numbers may carry an exponent in their shortest text: read exactly.
    expect(parseDecimal(1e-7)).toEqual({ units: 1n, scale: 7 });
    expect(parseDecimal(1e21)).toEqual({ units: 10n ** 21n, scale: 0 });
  });

  it('refuses what is not a plain decimal in the chosen form, naming the text', () => {
    expect(() => parseDecimal('1.5e3')).toThrow("'1.5e3' is not a decimal number");
    expect(() => parseDecimal('95,00')).toThrow("'95,00' is not a decimal number");
    expect(() => parseDecimal('95.00', { decimalSeparator: ',' })).toThrow("'95.00' is not a decimal-comma number");
    expect(() => parseDecimal('1.234,56', { decimalSeparator: ',' })).toThrow(DecimalError); // grouping marks are ambiguous
    expect(() => parseDecimal('1,000.00')).toThrow(DecimalError);
    expect(() => parseDecimal('20%')).toThrow(DecimalError);
    expect(() => parseDecimal('-0.5', { negative: false, what: 'tax rate' })).toThrow("tax rate '-0.5' must not be negative");
    for (const bad of ['', '.5', '5.', '--1', '0x10', 'NaN', 'Infinity', '1 000', '١٢']) expect(() => parseDecimal(bad)).toThrow(DecimalError);
    expect(() => parseDecimal(Number.NaN)).toThrow('not a finite number');
    expect(() => parseDecimal('1e999', { exponent: true })).toThrow(/out of range/);
    expect(() => parseDecimal('9'.repeat(65))).toThrow(/too long/);
    expect(() => parseDecimal(null as unknown as string)).toThrow('got null');
  });

  it('trims trailing zeros without changing the value', () => {
    expect(trimDecimal(parseDecimal('0.2000'))).toEqual({ units: 2n, scale: 1 });
    expect(trimDecimal(parseDecimal('20.00'))).toEqual({ units: 20n, scale: 0 });
    expect(trimDecimal(parseDecimal('0.20'))).toEqual(trimDecimal(parseDecimal('20%', { percent: true })));
  });
});

describe('model/decimal: rounding and division', () => {
  it('property: divRound agrees with the BigInt reference for every rule', () => {
    fc.assert(
      fc.property(bigints, divisors, fc.constantFrom(...ROUNDINGS), (n, d, rounding) => {
        expect(divRound(n, d, rounding)).toBe(referenceDivRound(n, d, rounding));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: exact ties are where the rules differ, and each rule settles them its own way', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (k) => {
        const n = 2n * k + 1n; // n/2 is always a tie
        expect(divRound(n, 2n, 'half-away-from-zero')).toBe(n > 0n ? k + 1n : k);
        const hev = divRound(n, 2n, 'half-even');
        expect(hev % 2n).toBe(0n);
        expect(hev === k || hev === k + 1n).toBe(true);
      }),
    );
  });

  it('property: rescale rounds like divRound by the power of ten, and widening loses nothing', () => {
    fc.assert(
      fc.property(bigints, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.constantFrom(...ROUNDINGS), (units, from, to, rounding) => {
        const r = rescale({ units, scale: from }, to, rounding);
        expect(r.scale).toBe(to);
        if (to >= from) expect(r.units).toBe(units * 10n ** BigInt(to - from));
        else expect(r.units).toBe(referenceDivRound(units, 10n ** BigInt(from - to), rounding));
      }),
    );
  });

  it('property: divideRound spreads a safe-integer amount over units exactly like the BigInt reference, for every rule and sign', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom(...ROUNDINGS),
        (amount, by, rounding) => {
          expect(BigInt(divideRound(amount, by, rounding))).toBe(referenceDivRound(BigInt(amount), BigInt(by), rounding));
        },
      ),
    );
    expect(divideRound(Number.MAX_SAFE_INTEGER, 3, 'floor')).toBe(3002399751580330);
    expect(divideRound(-7, 2, 'floor')).toBe(-4);
    expect(divideRound(-7, 2, 'ceiling')).toBe(-3);
    expect(() => divideRound(1, 0, 'floor')).toThrow('division by zero');
    expect(() => divideRound(0.5, 1, 'floor')).toThrow(/safe integer/);
  });

  it('names the rule: 2.5 and −2.5 at zero decimals', () => {
    const two5 = parseDecimal('2.5');
    const minus = parseDecimal('-2.5');
    expect([rescale(two5, 0, 'half-away-from-zero').units, rescale(minus, 0, 'half-away-from-zero').units]).toEqual([3n, -3n]);
    expect([rescale(two5, 0, 'half-even').units, rescale(minus, 0, 'half-even').units]).toEqual([2n, -2n]);
    expect([rescale(two5, 0, 'ceiling').units, rescale(minus, 0, 'ceiling').units]).toEqual([3n, -2n]);
    expect([rescale(two5, 0, 'floor').units, rescale(minus, 0, 'floor').units]).toEqual([2n, -3n]);
    expect(() => divRound(1n, 0n, 'half-even')).toThrow('division by zero');
  });

  it('property: the tax inside a tax-inclusive amount matches the reference and never exceeds the amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.bigInt({ min: 0n, max: 300000n }), (amount, rateUnits) => {
        const rate = { units: rateUnits, scale: 5 }; // 0 to 3.00000
        const tax = includedTax(amount, rate, 'half-away-from-zero');
        expect(BigInt(tax)).toBe(referenceDivRound(BigInt(amount) * rateUnits, 100000n + rateUnits, 'half-away-from-zero'));
        expect(Math.abs(tax)).toBeLessThanOrEqual(Math.abs(amount));
      }),
    );
  });
});

describe('model/decimal: allocation', () => {
  it('property: allocated parts add up to the whole, each within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 20 }).filter((w) => w.some((x) => x > 0n)),
        (total, weights) => {
          const parts = allocate(total, weights);
          expect(parts.reduce((a, p) => a + p, 0n)).toBe(total);
          const sum = weights.reduce((a, w) => a + w, 0n);
          parts.forEach((p, i) => {
            // |p·sum − total·w| < sum  ⇔  p is the floor or the ceiling of the exact share
            const diff = p * sum - total * weights[i];
            expect(diff < 0n ? -diff : diff).toBeLessThan(sum);
            if (weights[i] === 0n) expect(p).toBe(0n);
          });
        },
      ),
    );
  });

  it('property: shareRound of the parts of a whole stays within rounding of the whole', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (amount, whole, partRaw) => {
        const part = partRaw % (whole + 1);
        const a = shareRound(amount, part, whole, 'half-away-from-zero');
        const b = shareRound(amount, whole - part, whole, 'half-away-from-zero');
        expect(Math.abs(a + b - amount)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('refuses allocations that have no answer', () => {
    expect(() => allocate(10n, [])).toThrow(DecimalError);
    expect(() => allocate(10n, [0n, 0n])).toThrow('add up to 0');
    expect(() => allocate(10n, [1n, -1n])).toThrow('must not be negative');
    expect(allocate(10n, [1n, 1n, 1n])).toEqual([4n, 3n, 3n]);
    expect(allocate(-10n, [1n, 1n, 1n])).toEqual([-4n, -3n, -3n]);
  });
});

describe('model/decimal: the values that break float code', () => {
  it('0.1 + 0.2 is exactly 0.3 when added as decimals; the float sum is refused as money, not rounded silently', () => {
    expect(formatDecimal(addDecimals([parseDecimal('0.1'), parseDecimal('0.2')]))).toBe('0.3');
    expect(() => toMinor(0.1 + 0.2, 'USD')).toThrow('0.30000000000000004 has 17 decimals but USD allows 2');
    expect(toMinor(0.1 + 0.2, 'USD', { rounding: 'half-even' })).toBe(30);
  });

  it('1.005 and 2.675 round on their decimal digits (toFixed gives 1.00 and 2.67 from the binary value)', () => {
    expect((1.005).toFixed(2)).toBe('1.00'); // the float trap this module avoids
    expect((2.675).toFixed(2)).toBe('2.67');
    expect(toMinor(1.005, 'USD', { rounding: 'half-away-from-zero' })).toBe(101);
    expect(toMinor(2.675, 'USD', { rounding: 'half-away-from-zero' })).toBe(268);
    expect(toMinor('1.005', 'USD', { rounding: 'half-even' })).toBe(100);
    expect(toMinor('2.675', 'USD', { rounding: 'half-even' })).toBe(268);
    expect(() => toMinor(1.005, 'USD')).toThrow('1.005 has 3 decimals but USD allows 2');
  });

  it('amounts near 2^53 minor units: exact to the last safe integer, a clear error beyond, exact in BigInt throughout', () => {
    const max = Number.MAX_SAFE_INTEGER; // 9007199254740991
    expect(toMinor('90071992547409.91', 'USD')).toBe(max);
    expect(toMinor('-90071992547409.91', 'USD')).toBe(-max);
    expect(() => toMinor('90071992547409.92', 'USD')).toThrow(/too large to represent exactly/);
    expect(parseDecimal('90071992547409.93')).toEqual({ units: 9007199254740993n, scale: 2 });
    expect(() => toSafeNumber(9007199254740993n)).toThrow('too large to represent exactly');
    expect(() => includedTax(max, parseDecimal('0.2'), 'half-away-from-zero')).not.toThrow();
    expect(() => includedTax(max + 2, parseDecimal('0.2'), 'half-away-from-zero')).toThrow(/safe integer/);
  });

  it('reads a decimal-comma settlement amount into minor units', () => {
    expect(toMinor('95,00', 'EUR', { decimalSeparator: ',' })).toBe(9500);
    expect(toMinor('-1,5', 'EUR', { decimalSeparator: ',' })).toBe(-150);
    expect(() => toMinor('95,001', 'EUR', { decimalSeparator: ',' })).toThrow('95,001 has 3 decimals but EUR allows 2');
  });
});
