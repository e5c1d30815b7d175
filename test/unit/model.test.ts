import fs from 'node:fs';
import path from 'node:path';
import { businessKey, DOCUMENT_TYPES, DocumentType, validateDocument, readablePath } from '../../nodes/model/validate';
import { schemaValidator } from '../../nodes/model/validate';
import { ensureEnvelope } from '../../nodes/model/envelope';
import { spawnSync } from 'node:child_process';

const fixtures = path.join(__dirname, '..', 'fixtures', 'canonical');
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

const fixtureFor: Record<DocumentType, string[]> = {
  order: ['order.json', 'order-jpy.json'],
  sale: ['sale.json', 'sale-kwd.json'],
  return: ['return.json'],
  'inventory-position': ['inventory-position.json'],
  'inventory-adjustment': ['inventory-adjustment.json'],
  'available-to-sell': ['available-to-sell.json'],
  settlement: ['settlement.json'],
  'journal-entry': ['journal-entry.json'],
  'till-close': ['till-close.json'],
  shipment: ['shipment.json'],
};

describe('canonical model v1', () => {
  it('the TypeScript types are generated from the schemas and up to date', () => {
    // Run outside jest's VM: the generator formats with prettier, which imports dynamically.
    const run = spawnSync(process.execPath, [path.join(__dirname, '../../scripts/gen-types.js'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(Object.entries(fixtureFor).flatMap(([type, files]) => files.map((f) => [type, f])))('the %s example %s is valid', (type, file) => {
    const result = validateDocument(type as DocumentType, load(file));
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('every document type has a kind the business key understands', () => {
    for (const [type, files] of Object.entries(fixtureFor)) {
      const doc = load(files[0]);
      expect(doc.kind).toBe(DOCUMENT_TYPES[type as DocumentType].kind);
      expect(businessKey(doc)).toEqual(expect.stringMatching(new RegExp(`^${doc.kind.replace('.', '\\.')}:`)));
    }
  });

  it('the envelope example is valid against its schema', () => {
    expect(schemaValidator('envelope.schema.json')(load('envelope.json'))).toBe(true);
  });

  it('names the problem in words a person understands', () => {
    const order = load('order.json');
    order.lines[0].quantity = 0;
    delete order.lines[0].sku;
    order.lines[0].colour = 'red';
    order.status = 'shipped';
    const { valid, errors } = validateDocument('order', order);
    expect(valid).toBe(false);
    expect(errors).toEqual(
      expect.arrayContaining([
        'lines[0].quantity must be > 0',
        'lines[0].sku is required',
        "lines[0] has an unknown property 'colour'",
        expect.stringMatching(/^status must be one of "pending", "accepted"/),
      ]),
    );
  });

  it('rejects a payload that is not an object', () => {
    expect(validateDocument('sale', 'hello').errors).toEqual(['payload must be a sale object, got string']);
    expect(validateDocument('sale', null).errors).toEqual(['payload must be a sale object, got null']);
    expect(validateDocument('sale', [1]).errors).toEqual(['payload must be a sale object, got an array']);
  });

  it('rejects an unknown currency, a float amount and mixed currencies', () => {
    const sale = load('sale.json');
    sale.currency = 'XYZ';
    expect(validateDocument('sale', sale).errors).toContain("currency 'XYZ' is not a known ISO 4217 currency");

    const order = load('order.json');
    order.lines[0].unitPrice.amount = 12.5;
    expect(validateDocument('order', order).errors).toContain('lines[0].unitPrice.amount must be a whole number');

    const mixed = load('order.json');
    mixed.lines[0].lineTotal.currency = mixed.currency === 'EUR' ? 'USD' : 'EUR';
    expect(validateDocument('order', mixed).errors).toEqual([
      `lines[0].lineTotal is in ${mixed.lines[0].lineTotal.currency} but the document is in ${mixed.currency}`,
    ]);
  });

  it('rejects an unbalanced journal, naming both totals', () => {
    const journal = load('journal-entry.json');
    const line = journal.lines.find((l: any) => l.debit);
    line.debit.amount += 1;
    const { errors } = validateDocument('journal-entry', journal);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^journal does not balance: debits [\d.]+ \w{3} ≠ credits [\d.]+ \w{3}$/);
  });

  it('a sale line may be negative (a return) but never zero', () => {
    const sale = load('sale.json');
    const neg = clone(sale);
    neg.lines[0].quantity = -1;
    expect(validateDocument('sale', neg).errors).not.toContain('lines[0].quantity has a value that is not allowed');
    sale.lines[0].quantity = 0;
    expect(validateDocument('sale', sale).errors).toContain('lines[0].quantity has a value that is not allowed');
  });

  it('reads ajv paths the way people write them', () => {
    expect(readablePath('/lines/2/quantity')).toBe('lines[2].quantity');
    expect(readablePath('/a~1b/0')).toBe('a/b[0]');
    expect(readablePath('')).toBe('');
  });

  it('completes the envelope with the business key and keeps what the connector set', () => {
    const order = load('order.json');
    const msg: any = { payload: order, tillwire: { source: { system: 'shopify', eventId: 'evt-9' } } };
    const env = ensureEnvelope(msg, order, 'fallback', new Date('2026-11-01T00:00:00Z'));
    expect(env.schemaVersion).toBe(1);
    expect(env.idempotencyKey).toBe(businessKey(order));
    expect(env.source).toEqual({ system: 'shopify', eventId: 'evt-9', receivedAt: '2026-11-01T00:00:00.000Z' });
    expect(env.attempts).toBe(0);
    expect(schemaValidator('envelope.schema.json')(env)).toBe(true);
  });
});
