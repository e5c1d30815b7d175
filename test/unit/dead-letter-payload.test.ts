/**
 * How a dead-letter entry stores a payload: bytes once, as base64 (not a JSON array of numbers),
 * entries written by earlier versions still readable, and never more than the payload cap.
 */
import { createStore } from '../../nodes/runtime/create-store';
import { DEAD_LETTER_PAYLOAD_LIMIT, recordFailure, replayMessage, reviveMessage, serializeMessage } from '../../nodes/runtime/dead-letter';

it('stores bytes as base64 and revives them as a Buffer', () => {
  const bytes = Buffer.from([0x7b, 0x00, 0xff, 0xfe]);
  const stored = serializeMessage({ payload: bytes, topic: 't', nested: { b: Buffer.from('hi') } });
  expect(stored).toEqual({ payload: { type: 'Buffer', base64: 'ewD//g==' }, topic: 't', nested: { b: { type: 'Buffer', base64: 'aGk=' } } });
  expect(reviveMessage(stored)).toEqual({ payload: bytes, topic: 't', nested: { b: Buffer.from('hi') } });
});

it('still reads entries stored as number arrays by earlier versions', () => {
  expect(reviveMessage({ payload: { type: 'Buffer', data: [1, 2, 3] } }).payload).toEqual(Buffer.from([1, 2, 3]));
});

it('keeps a payload over the cap as its size, digest and first bytes, whatever its type', () => {
  const big = Buffer.alloc(DEAD_LETTER_PAYLOAD_LIMIT, 0x61);
  const asBytes = serializeMessage({ payload: big }).payload as any;
  expect(asBytes).toMatchObject({ truncated: true, bytes: big.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(Buffer.from(asBytes.prefixBase64, 'base64').length).toBe(1024);
  const asObject = serializeMessage({ payload: { lines: Array.from({ length: 20_000 }, (_, i) => ({ i, sku: 'SKU-' + i })) } }).payload as any;
  expect(asObject.truncated).toBe(true);
  expect(asObject.bytes).toBeGreaterThan(DEAD_LETTER_PAYLOAD_LIMIT);
  // a small object payload is kept as it is
  expect(serializeMessage({ payload: { a: 1 } }).payload).toEqual({ a: 1 });
});

it('a 20 MB payload grows the store by less than the cap', async () => {
  const store = createStore({ backend: 'memory' });
  await store.open();
  const entry = await recordFailure(store, { payload: Buffer.alloc(20 * 1024 * 1024, 0x20), topic: 'x' }, { error: { message: 'too big' } });
  expect(JSON.stringify(entry.message).length).toBeLessThan(4096);
  expect(replayMessage(entry).payload).toMatchObject({ truncated: true, bytes: 20 * 1024 * 1024 });
  await store.close();
});

it('a message holding a BigInt (a settlement check carries its sums as BigInt) is parked with the BigInt as its digits', () => {
  const stored = serializeMessage({ payload: { kind: 'settlement' }, settlement: { reconciliation: { variance: -1234n, lines: [5n] } } });
  expect(stored.settlement).toEqual({ reconciliation: { variance: '-1234', lines: ['5'] } });
});
