/**
 * Broken messages a faulty till (or a misconfigured gateway) might publish, for the simulator's
 * `malformedRate`. Each one says why it is broken: `not-json` (the bytes do not parse as JSON) or
 * `schema` (valid JSON that is not a valid canonical Sale).
 */
import type { Sale } from '../../nodes/model/types.generated';
import { SeededRandom } from '../kit/random';

export type MalformedReason = 'not-json' | 'schema';

export interface MalformedMessage {
  reason: MalformedReason;
  /** What exactly is wrong, e.g. "truncated JSON", "lines[0].quantity is 0". */
  detail: string;
  payload: Buffer;
}

type Mutation = [detail: string, apply: (doc: any) => void];

const SCHEMA_MUTATIONS: Mutation[] = [
  ['lines[0].unitPrice.amount is a float (19.99)', (d) => (d.lines[0].unitPrice.amount = 19.99)],
  ['lines[0].quantity is 0', (d) => (d.lines[0].quantity = 0)],
  ['saleId is missing', (d) => delete d.saleId],
  ["unknown property 'till'", (d) => (d.till = d.terminalId)],
  ['totals.grandTotal.amount is decimal text', (d) => (d.totals.grandTotal.amount = (d.totals.grandTotal.amount / 100).toFixed(2))],
  ['lines is empty', (d) => (d.lines = [])],
  ['occurredAt has no time-zone offset', (d) => (d.occurredAt = String(d.occurredAt).replace(/(Z|[+-]\d\d:\d\d)$/, ''))],
  ["kind is 'sales'", (d) => (d.kind = 'sales')],
  ['currency is lower case', (d) => (d.currency = String(d.currency).toLowerCase())],
  ['sequence is 0', (d) => (d.sequence = 0)],
];

/**
 * A broken message derived from a well-formed sale `base` (whose saleId should not be one the
 * till really uses). Half are not JSON at all, half are JSON that fails the Sale schema.
 */
export function malformedMessage(rng: SeededRandom, base: Sale): MalformedMessage {
  if (rng.chance(0.5)) {
    const kind = rng.int(0, 3);
    const text = JSON.stringify(base);
    switch (kind) {
      case 0: {
        const cut = Math.max(1, Math.floor(text.length * (0.2 + rng.next() * 0.6)));
        return { reason: 'not-json', detail: 'truncated JSON', payload: Buffer.from(text.slice(0, cut), 'utf8') };
      }
      case 1: {
        const bytes = Buffer.alloc(24 + rng.int(0, 40));
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
        bytes[0] = 0xff; // never valid UTF-8, never JSON
        return { reason: 'not-json', detail: 'binary bytes, not UTF-8', payload: bytes };
      }
      case 2: {
        const csv = `SALE,${base.storeId},${base.terminalId},${base.saleId},${base.totals.grandTotal.amount}\n`;
        return { reason: 'not-json', detail: 'CSV line instead of JSON', payload: Buffer.from(csv, 'utf8') };
      }
      default:
        return { reason: 'not-json', detail: 'empty payload', payload: Buffer.alloc(0) };
    }
  }
  const [detail, apply] = rng.pick(SCHEMA_MUTATIONS);
  const doc = JSON.parse(JSON.stringify(base));
  apply(doc);
  return { reason: 'schema', detail, payload: Buffer.from(JSON.stringify(doc), 'utf8') };
}
