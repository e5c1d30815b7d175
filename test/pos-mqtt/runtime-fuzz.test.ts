/**
 * Property, on the real runtime (real Mosquitto, real Node-RED with the product's settings): a till
 * sends a stream of hostile and malformed messages mixed with valid sales. Every distinct bad
 * message ends in exactly one dead-letter entry with a reason; every valid sale arrives exactly
 * once and is registered once; Node-RED stays up, its memory bounded, its log not flooded.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { startTillRuntime, TillRuntime, saleDoc, salesTopic, ready, waitUntil } from './runtime-support';

jest.setTimeout(120_000);

const BRAND = 'fuzz';
const MAX_KIB = 16;
let rt: TillRuntime;

beforeAll(async () => {
  // The broker lets everything through, so the node's own limit (16 KiB here) is what is tested.
  rt = await startTillRuntime({ mosquitto: { settings: { message_size_limit: null } }, pos: { maxPayloadKiB: MAX_KIB } });
  await ready(rt, BRAND);
});
afterAll(async () => {
  await rt?.stop();
});

type Step =
  | { kind: 'valid' }
  | { kind: 'notJson'; text: string }
  | { kind: 'badUtf8'; at: number }
  | { kind: 'oversized'; extra: number }
  | { kind: 'deep'; depth: number; array: boolean }
  | { kind: 'otherStore' }
  | { kind: 'schema'; how: 'quantity' | 'missing' | 'currency' | 'type' }
  | { kind: 'corrected'; how: 'quantity' | 'missing' }
  | { kind: 'replay'; back: number }
  | { kind: 'reformatted'; back: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'valid' }),
  fc
    .string({ maxLength: 40 })
    .filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    })
    .map((text): Step => ({ kind: 'notJson', text })),
  fc.nat({ max: 400 }).map((at): Step => ({ kind: 'badUtf8', at })),
  fc.nat({ max: 4096 }).map((extra): Step => ({ kind: 'oversized', extra })),
  fc.record({ depth: fc.integer({ min: 40, max: 5000 }), array: fc.boolean() }).map((d): Step => ({ kind: 'deep', ...d })),
  fc.constant<Step>({ kind: 'otherStore' }),
  fc.constantFrom('quantity', 'missing', 'currency', 'type').map((how): Step => ({ kind: 'schema', how: how as 'quantity' })),
  fc.constantFrom('quantity', 'missing').map((how): Step => ({ kind: 'corrected', how: how as 'quantity' })),
  fc.nat({ max: 10 }).map((back): Step => ({ kind: 'replay', back })),
  fc.nat({ max: 10 }).map((back): Step => ({ kind: 'reformatted', back })),
);

function broken(doc: Record<string, any>, how: string): Record<string, any> {
  const d = JSON.parse(JSON.stringify(doc));
  if (how === 'quantity') d.lines[0].quantity = 0;
  if (how === 'missing') delete d.occurredAt;
  if (how === 'currency') d.currency = 'gbp';
  if (how === 'type') d.sequence = 'twelve';
  return d;
}

let run = 0;

it('every bad till message is dead-lettered with a reason, every valid sale arrives exactly once, Node-RED stays up', async () => {
  const rssAtStart = rss(rt.red.pid);
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 20 }), async (steps) => {
      const store = `F${++run}`;
      const topic = salesTopic(BRAND, store, 'T1');
      const sent: Array<{ bytes: Buffer; valid?: Record<string, any> }> = [];
      const validIds = new Set<string>();
      const bad = new Set<string>(); // distinct bad messages, by their bytes
      let seq = 0;
      const send = async (bytes: Buffer, valid?: Record<string, any>) => {
        sent.push({ bytes, valid });
        if (valid) validIds.add(valid.saleId);
        else bad.add(bytes.toString('base64'));
        await rt.publish(topic, bytes);
      };
      for (const s of steps) {
        const doc = saleDoc(store, 'T1', ++seq);
        const json = Buffer.from(JSON.stringify(doc));
        switch (s.kind) {
          case 'valid':
            await send(json, doc);
            break;
          case 'notJson':
            await send(Buffer.from(s.text + '{'));
            break;
          case 'badUtf8': {
            const at = s.at % json.length;
            await send(Buffer.concat([json.subarray(0, at), Buffer.from([0xc3, 0x28]), json.subarray(at)]));
            break;
          }
          case 'oversized':
            await send(Buffer.from(JSON.stringify({ ...doc, attributes: { pad: 'x'.repeat(MAX_KIB * 1024 + s.extra) } })));
            break;
          case 'deep': {
            const [open, close] = s.array ? ['[', ']'] : ['{"a":', '}'];
            await send(Buffer.from(open.repeat(s.depth) + '"\\"}]"' + close.repeat(s.depth)));
            break;
          }
          case 'otherStore':
            await send(Buffer.from(JSON.stringify({ ...doc, storeId: `${store}-OTHER` })));
            break;
          case 'schema':
            await send(Buffer.from(JSON.stringify(broken(doc, s.how))));
            break;
          case 'corrected':
            await send(Buffer.from(JSON.stringify(broken(doc, s.how))));
            await send(json, doc); // the same saleId and sequence, correctly built
            break;
          case 'replay':
          case 'reformatted': {
            const earlier = sent[sent.length - 1 - (s.back % Math.max(1, sent.length))];
            if (!earlier) break;
            const bytes = s.kind === 'reformatted' && earlier.valid ? Buffer.from(JSON.stringify(earlier.valid, null, 1)) : earlier.bytes;
            await rt.publish(topic, bytes); // a repeat: no new effect expected
            break;
          }
        }
      }
      // A marker on the same till: the node handles a till's messages in order, so once the marker
      // is out, everything before it was handled.
      const marker = saleDoc(store, 'T1', seq + 1, `${store}-marker`);
      await rt.publish(topic, JSON.stringify(marker));
      await waitUntil(async () => (await rt.received()).some((r) => r.saleId === marker.saleId), 30_000, `marker of ${store}`);

      const received = (await rt.received()).filter((r) => r.saleId !== marker.saleId && r.key.startsWith(`sale:${store}:`));
      const counts = new Map<string, number>();
      for (const r of received) counts.set(r.saleId!, (counts.get(r.saleId!) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...validIds].sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      const registered = rt.registered().filter((k) => k.startsWith(`sale:${store}:T1:`) && !k.endsWith('marker'));
      expect(registered.sort()).toEqual([...validIds].map((id) => `sale:${store}:T1:${id}`).sort());

      const letters = (await rt.deadLetters()).filter((d) => d.topic === topic);
      expect(letters).toHaveLength(bad.size);
      for (const l of letters) expect(l.error.message.length).toBeGreaterThan(10);
    }),
    { numRuns: 40 },
  );
  expect(run).toBeGreaterThanOrEqual(40);
  // still up and answering, memory bounded, log not flooded
  expect((await fetch(`${rt.red.url}/test/received`)).ok).toBe(true);
  expect(rss(rt.red.pid) - rssAtStart).toBeLessThan(150 * 1024 * 1024);
  // The last sale is seen as it leaves the node, a moment before the ack node completes its entry.
  await waitUntil(
    () => rt.pendingInbox() === 0,
    10_000,
    () => `${rt.pendingInbox()} inbox entries pending`,
  );
  const warnings = rt.red
    .output()
    .split('\n')
    .filter((l) => /rejected a till message|till messages rejected/.test(l));
  expect(warnings.length).toBeLessThanOrEqual(3);
});

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
