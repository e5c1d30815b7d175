/**
 * Validation is bounded and total: whatever arrives (any JSON value, any nesting up to 100,000
 * levels, any length), validateDocument answers { valid: false, errors } in words and never throws.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_BOUNDS, DOCUMENT_TYPES, DocumentType, validateDocument } from '../../nodes/model/validate';
import { MAX_PROPERTIES, jsonText, nestedDeeperThan } from '../../nodes/model/bounds';

const TYPES = Object.keys(DOCUMENT_TYPES) as DocumentType[];
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));

/** A value nested `depth` levels deep (objects or arrays), built without recursion. */
function nested(depth: number, arrays: boolean): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

/** The answer for hostile input: a rejection with sentences, never a throw, never an internal failure. */
function expectRejected(type: DocumentType, doc: unknown): string[] {
  let result: ReturnType<typeof validateDocument> | undefined;
  expect(() => (result = validateDocument(type, doc))).not.toThrow();
  expect(result!.valid).toBe(false);
  expect(result!.errors.length).toBeGreaterThan(0);
  for (const e of result!.errors) {
    expect(typeof e).toBe('string');
    expect(e).not.toMatch(/could not be validated/);
  }
  return result!.errors;
}

describe('validation never recurses without a bound and never throws', () => {
  it('a sale nested 100,000 levels deep (objects or arrays) is refused with the depth rule before the schema runs', () => {
    for (const arrays of [false, true]) {
      const errors = expectRejected('sale', { kind: 'sale', attributes: nested(100_000, arrays) });
      expect(errors).toEqual([expect.stringMatching(/^payload is nested more than 32 levels deep \(at attributes(\.a|\[0\])+…?\)$/)]);
    }
  });

  it('property: any nesting depth up to 100,000, at any place of a valid sale, is refused above the bound and accepted below it', () => {
    const places = ['attributes', 'lines', 'tenders', 'totals', 'extra'] as const;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.boolean(), fc.constantFrom(...places), (depth, arrays, place) => {
        const sale = fixture('sale.json');
        sale[place] = nested(depth, arrays);
        // The document is level 1, so the deepest container sits at level depth + 1.
        if (depth + 1 > DEFAULT_BOUNDS.maxDepth) {
          expect(expectRejected('sale', sale)).toEqual([expect.stringMatching(/nested more than 32 levels deep/)]);
        } else {
          let errors: string[] = [];
          expect(() => (errors = validateDocument('sale', sale).errors)).not.toThrow();
          expect(errors.join(' ')).not.toMatch(/nested more than|could not be validated/);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('property: any JSON-like value, as any document type, is answered with sentences, never a throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TYPES),
        fc.anything({
          withNullPrototype: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withSparseArray: true,
          withDate: true,
          maxDepth: 6,
        }),
        (type, value) => {
          expectRejected(type, value);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: a valid document with any one field replaced by any value is answered, never a throw', () => {
    const docs: Array<[DocumentType, string]> = [
      ['sale', 'sale.json'],
      ['order', 'order.json'],
      ['till-close', 'till-close.json'],
      ['settlement', 'settlement.json'],
      ['return', 'return.json'],
      ['journal-entry', 'journal-entry.json'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...docs), fc.nat(), fc.nat(), fc.jsonValue({ maxDepth: 4 }), ([type, file], a, b, value) => {
        const doc = fixture(file);
        // Walk down to one field by the random indices, then replace it.
        let holder: any = doc;
        let key: string | number = Object.keys(doc)[a % Object.keys(doc).length];
        for (let step = 0; step < 3 && holder[key] && typeof holder[key] === 'object'; step++) {
          const next: any = holder[key];
          const keys = Object.keys(next);
          if (!keys.length) break;
          holder = next;
          key = Array.isArray(next) ? (a + b + step) % next.length : keys[(b + step) % keys.length];
        }
        holder[key] = value;
        let result: ReturnType<typeof validateDocument> | undefined;
        expect(() => (result = validateDocument(type, doc))).not.toThrow();
        for (const e of result!.errors) expect(e).not.toMatch(/could not be validated/);
      }),
      { numRuns: 1000 },
    );
  });

  it('a type that is not a canonical type is a rejection, not a throw', () => {
    expect(validateDocument('nonsense' as DocumentType, {})).toEqual({ valid: false, errors: ["'nonsense' is not a canonical document type"] });
  });
});

describe('size bounds are checked before the schema', () => {
  it('a 100,000-line sale is refused for its line count alone; the bound is an option', () => {
    const sale = fixture('sale.json');
    sale.lines = Array.from({ length: 100_000 }, (_, i) => ({ ...sale.lines[0], lineId: String(i) }));
    expect(validateDocument('sale', sale).errors).toEqual(['lines has 100000 items, more than the limit of 1000']);
    sale.lines.length = 1_500;
    expect(validateDocument('sale', sale).errors).toEqual(['lines has 1500 items, more than the limit of 1000']);
    expect(validateDocument('sale', sale, { maxLines: 2_000 }).errors.join(' ')).not.toMatch(/more than the limit/);
  });

  it('settlement and journal lines have their own, higher bound; every other list the line bound', () => {
    const s = fixture('settlement.json');
    expect(validateDocument('settlement', s, { maxLines: 2 }).errors).toEqual([]);
    expect(validateDocument('settlement', s, { maxStatementLines: 5 }).errors).toEqual([`lines has ${s.lines.length} items, more than the limit of 5`]);
    const order = fixture('order.json');
    order.lines[0].taxes = Array.from({ length: 1_001 }, () => order.lines[0].taxes[0]);
    expect(validateDocument('order', order).errors).toEqual(['lines[0].taxes has 1001 items, more than the limit of 1000']);
  });

  it('an object with too many properties, and a whole number beyond the exact range, are refused', () => {
    const sale = fixture('sale.json');
    sale.attributes = Object.fromEntries(Array.from({ length: MAX_PROPERTIES + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(validateDocument('sale', sale).errors).toEqual([`attributes has ${MAX_PROPERTIES + 1} properties, more than the limit of ${MAX_PROPERTIES}`]);
    const position = fixture('inventory-position.json');
    position.onHand = 2 ** 60;
    expect(validateDocument('inventory-position', position).errors).toEqual([`onHand ${2 ** 60} is beyond the exact integer range (±9007199254740991)`]);
  });

  it('quantities are bounded per line, in either sign, and the bound is an option', () => {
    const sale = fixture('sale-kwd.json');
    sale.lines[1].quantity = -10_001;
    sale.lines[1].lineTotal.amount = -10_001 * 24_500;
    expect(validateDocument('sale', sale).errors).toContain('lines[1].quantity -10001 is beyond the limit of 10000 units per line');
    expect(validateDocument('sale', sale, { maxQuantity: 20_000 }).errors).not.toContain(
      'lines[1].quantity -10001 is beyond the limit of 10000 units per line',
    );
  });
});

describe('a payload too deep to pass on is written as JSON text, without recursion', () => {
  it('property: jsonText writes what JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => expect(jsonText(v)).toBe(JSON.stringify(v))),
      { numRuns: 500 },
    );
    const odd = { a: undefined, f: () => 1, list: [undefined, () => 1, 2], when: new Date(0), n: null };
    expect(jsonText(odd)).toBe(JSON.stringify(odd));
  });

  it('a value 100,000 levels deep is measured and written without overflowing the stack', () => {
    const deep = nested(100_000, false);
    expect(nestedDeeperThan(deep, 32)).toBe(true);
    expect(nestedDeeperThan(nested(31, true), 32)).toBe(false);
    const text = jsonText(deep);
    expect(text.length).toBe('{"a":'.length * 100_000 + '"bottom"'.length + 100_000);
    expect(text.startsWith('{"a":{"a":')).toBe(true);
    const loop: any = { a: 1 };
    loop.self = loop;
    expect(jsonText(loop)).toBe('{"a":1,"self":"[circular]"}');
  });
});
