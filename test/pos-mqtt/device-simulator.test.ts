/**
 * The store-device simulator: the documents it generates (valid, exact, deterministic), the
 * manifest (what a receiver must end with), and a real run through Mosquitto where a subscriber
 * receives exactly what the manifest says, with every fault switched on.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Sale } from '../../nodes/model/types.generated';
import { schemaValidator, validateDocument } from '../../nodes/model/validate';
import { catalogItem } from '../../simulators/kit/catalog';
import {
  main,
  manifestJson,
  parseCliArgs,
  planSimulation,
  runSimulation,
  type DeviceSimulatorOptions,
  type ManifestTransaction,
  type SimulationManifest,
  type TillCloseDocument,
} from '../../simulators/pos-mqtt/device-simulator';
import { includedTax, isReturn, ratePercent } from '../../simulators/pos-mqtt/device-sales';
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto';

const doc = (t: { payload?: Buffer }): Sale => JSON.parse(t.payload!.toString('utf8'));
const tillOf = (t: { storeId: string; terminalId: string }) => `${t.storeId}/${t.terminalId}`;

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(i);
  }
  return m;
}

/** Checks the arithmetic of a tax-inclusive sale to the minor unit; returns problems found. */
function arithmeticProblems(s: Sale): string[] {
  const p: string[] = [];
  let subtotal = 0;
  let discounts = 0;
  let taxes = 0;
  for (const l of s.lines) {
    const d = (l.discounts ?? []).reduce((a, x) => a + x.amount.amount, 0);
    if (l.lineTotal.amount !== l.quantity * l.unitPrice.amount - d) p.push(`${s.saleId} line ${l.lineId}: lineTotal`);
    for (const t of l.taxes ?? []) {
      // the tax inside a tax-inclusive amount, correctly rounded: |tax·(1+r) − lineTotal·r| ≤ ½ minor unit·(1+r)
      const [w, f = ''] = t.rate.split('.');
      const num = BigInt(w + f);
      const den = 10n ** BigInt(f.length);
      const err = BigInt(t.amount.amount) * (den + num) - BigInt(l.lineTotal.amount) * num;
      if (2n * (err < 0n ? -err : err) > den + num) p.push(`${s.saleId} line ${l.lineId}: tax ${t.amount.amount} for ${l.lineTotal.amount} at ${t.rate}`);
      if (Math.sign(t.amount.amount) !== Math.sign(l.quantity) && t.amount.amount !== 0) p.push(`${s.saleId} line ${l.lineId}: tax sign`);
      taxes += t.amount.amount;
    }
    subtotal += l.quantity * l.unitPrice.amount;
    discounts += d;
  }
  const tot = s.totals;
  if (tot.subtotal.amount !== subtotal) p.push(`${s.saleId}: subtotal`);
  if (tot.discountTotal.amount !== discounts) p.push(`${s.saleId}: discountTotal`);
  if (tot.taxTotal.amount !== taxes) p.push(`${s.saleId}: taxTotal`);
  if (!s.taxesIncluded || tot.grandTotal.amount !== subtotal - discounts) p.push(`${s.saleId}: grandTotal`);
  if (s.tenders.reduce((a, t) => a + t.amount.amount, 0) !== tot.grandTotal.amount) p.push(`${s.saleId}: tenders ≠ grandTotal`);
  return p;
}

/** What a till's close must say, computed from every transaction it made (published or dropped). */
function expectedClose(txs: ManifestTransaction[]) {
  const sales = txs.filter((t) => t.type === 'sale');
  const returns = txs.filter((t) => t.type === 'return');
  const sum = (xs: ManifestTransaction[]) => xs.reduce((a, t) => a + t.grandTotal, 0);
  const tenders = new Map<string, { count: number; amount: number }>();
  for (const t of txs) {
    for (const x of t.tenders) {
      const e = tenders.get(x.type) ?? { count: 0, amount: 0 };
      e.count++;
      e.amount += x.amount;
      tenders.set(x.type, e);
    }
  }
  const seqs = txs.map((t) => t.sequence);
  return {
    firstSequence: Math.min(...seqs),
    lastSequence: Math.max(...seqs),
    sales: { count: sales.length, total: sum(sales) },
    returns: { count: returns.length, total: sum(returns) },
    net: sum(txs),
    tenders: Object.fromEntries([...tenders].map(([k, v]) => [k, v])),
  };
}

function closeSummary(c: TillCloseDocument) {
  return {
    firstSequence: c.firstSequence,
    lastSequence: c.lastSequence,
    sales: { count: c.sales.count, total: c.sales.total.amount },
    returns: { count: c.returns.count, total: c.returns.total.amount },
    net: c.net.amount,
    tenders: Object.fromEntries((c.tenders ?? []).map((t) => [t.type, { count: t.count, amount: t.amount.amount }])),
  };
}

const ALL_FAULTS: DeviceSimulatorOptions = {
  stores: 3,
  tills: 2,
  count: 3000,
  seed: 42,
  returnRate: 0.1,
  duplicateRate: 0.03,
  malformedRate: 0.02,
  dropRate: 0.01,
  offline: { stores: 1, start: 0.3, duration: 0.3 },
};

describe('device simulator: generated documents', () => {
  const plan = planSimulation(ALL_FAULTS);
  const m = plan.manifest;
  const made = [...m.valid, ...m.dropped];

  it('counts add up and every switch produced something', () => {
    const c = m.counts;
    expect(c.transactions).toBe(3000);
    expect(c.valid + c.dropped).toBe(c.transactions);
    expect(c.sales + c.returns).toBe(c.transactions);
    expect(c.messages).toBe(c.valid + c.duplicates + c.malformed + c.closes);
    expect(plan.actions.filter((a) => a.type === 'publish')).toHaveLength(c.messages);
    expect(c.returns).toBeGreaterThan(0);
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.malformedNotJson).toBeGreaterThan(0);
    expect(c.malformedSchema).toBeGreaterThan(0);
    expect(m.duplicates.some((d) => d.reason === 'retry')).toBe(true);
    expect(m.duplicates.some((d) => d.reason === 'reconnect')).toBe(true);
    expect(c.closes).toBe(6);
    expect(m.outages).toHaveLength(1);
    expect(m.valid.some((v) => v.viaBacklog)).toBe(true);
    expect(new Set(m.valid.map((v) => v.key)).size).toBe(m.valid.length);
  });

  it('every sale and return (sent or dropped) is a valid canonical Sale whose figures add up exactly', () => {
    const problems: string[] = [];
    for (const t of made) {
      const s = doc(t);
      const r = validateDocument('sale', s);
      if (!r.valid) problems.push(`${t.key}: ${r.errors.join('; ')}`);
      problems.push(...arithmeticProblems(s));
      expect(`sale:${s.storeId}:${s.terminalId}:${s.saleId}`).toBe(t.key);
      expect(s.sequence).toBe(t.sequence);
      expect(s.terminalId).toBe(t.terminalId);
      expect(s.businessDate).toBe('2025-03-14');
    }
    expect(problems).toEqual([]);
  });

  it('prices come from the catalogue, tax-inclusive, with its rate', () => {
    const byName = new Map(Array.from({ length: 500 }, (_, i) => catalogItem(i)).map((c) => [c.sku, c]));
    for (const t of made.slice(0, 300)) {
      for (const l of doc(t).lines) {
        const item = byName.get(l.sku)!;
        expect(l.unitPrice.amount).toBe(item.unitPrice);
        expect(l.taxes![0].rate).toBe(item.taxRate);
        expect(l.taxes![0].amount.amount).toBe(includedTax(l.lineTotal.amount, item.taxRate));
      }
    }
    expect(ratePercent('0.2000')).toBe('20');
    expect(ratePercent('0.08875')).toBe('8.875');
    // 1,199 at 20% included: 1199 / 6 = 199.83 → 200; a full return mirrors it.
    expect(includedTax(1199, '0.2000')).toBe(200);
    expect(includedTax(-1199, '0.2000')).toBe(-200);
    expect(includedTax(105, '0.0500')).toBe(5);
  });

  it('returns go to …/returns with every line negative; linked ones never return more than was sold', () => {
    const sold = new Map<string, Map<string, number>>(); // saleKey → lineId → quantity left
    for (const t of [...made].sort((a, b) => a.sequence - b.sequence || a.key.localeCompare(b.key))) {
      const s = doc(t);
      if (t.type === 'sale') {
        expect(t.topic).toMatch(/\/sales$/);
        expect(s.lines.every((l) => l.quantity > 0)).toBe(true);
        sold.set(t.key, new Map(s.lines.map((l) => [l.lineId, l.quantity])));
        continue;
      }
      expect(t.topic).toMatch(/\/returns$/);
      expect(isReturn(s)).toBe(true);
      expect(s.totals.grandTotal.amount).toBeLessThan(0);
      if (!s.returnOf) continue;
      const orig = sold.get(`sale:${s.storeId}:${s.returnOf.terminalId}:${s.returnOf.saleId}`);
      expect(orig).toBeDefined();
      for (const l of s.lines) {
        const lineId = l.attributes!.originalLineId as string;
        const left = orig!.get(lineId)!;
        expect(-l.quantity).toBeLessThanOrEqual(left);
        orig!.set(lineId, left + l.quantity);
      }
    }
    expect(made.some((t) => t.type === 'return' && doc(t).returnOf)).toBe(true);
  });

  it('each till numbers its transactions 1, 2, 3 … without holes; dropped ones are the gaps', () => {
    for (const [till, txs] of groupBy(made, tillOf)) {
      const seqs = txs.map((t) => t.sequence).sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const sent = new Set(m.valid.filter((v) => tillOf(v) === till).map((v) => v.sequence));
      for (const d of m.dropped.filter((x) => tillOf(x) === till)) expect(sent.has(d.sequence)).toBe(false);
    }
  });

  it('duplicates repeat a sent sale byte for byte', () => {
    const byKey = new Map(m.valid.map((v) => [v.key, v]));
    for (const d of m.duplicates) {
      const orig = byKey.get(d.key)!;
      expect(orig).toBeDefined();
      expect(d.payload!.equals(orig.payload!)).toBe(true);
      expect(d.topic).toBe(orig.topic);
      expect(d.sequence).toBe(orig.sequence);
    }
  });

  it('malformed messages are really broken, for the reason recorded', () => {
    for (const bad of m.malformed) {
      const text = bad.payload.toString('utf8');
      if (bad.reason === 'not-json') {
        expect(() => JSON.parse(text)).toThrow();
      } else {
        const r = validateDocument('sale', JSON.parse(text));
        expect(r.valid).toBe(false);
      }
      expect(bad.topic).toMatch(/\/sales$/);
    }
  });

  it("each close is a valid TillClose with the till's own counts and totals, dropped sales included", () => {
    const validateClose = schemaValidator('till-close.schema.json');
    const byTill = groupBy(made, tillOf);
    for (const c of m.closes) {
      const parsed = JSON.parse(c.payload!.toString('utf8'));
      expect(validateClose(parsed)).toBe(true);
      expect(parsed).toEqual(c.doc);
      expect(c.key).toBe(`till.close:${c.storeId}:${c.terminalId}:2025-03-14`);
      expect(c.topic).toMatch(/\/close$/);
      expect(closeSummary(c.doc)).toEqual(expectedClose(byTill.get(`${c.storeId}/${c.terminalId}`)!));
      expect(c.doc.lastSequence! - c.doc.firstSequence! + 1).toBe(c.doc.sales.count + c.doc.returns.count);
      expect((c.doc.tenders ?? []).reduce((a, t) => a + t.amount.amount, 0)).toBe(c.doc.net.amount);
      expect(c.doc.returns.total.amount).toBeLessThan(0);
    }
    // Closes come last in the plan: after every sale of the day, backlog included.
    const firstClose = plan.actions.findIndex((a) => a.type === 'publish' && a.what === 'close');
    expect(plan.actions.slice(firstClose).every((a) => a.type === 'publish' && a.what === 'close')).toBe(true);
  });

  it('an offline store replays its backlog oldest first, after reconnecting, as a burst', () => {
    const storeIdx = plan.options.offline!.stores[0];
    const i0 = plan.actions.findIndex((a) => a.type === 'disconnect' && a.store === storeIdx);
    const i1 = plan.actions.findIndex((a) => a.type === 'reconnect' && a.store === storeIdx);
    expect(i0).toBeGreaterThanOrEqual(0);
    expect(i1).toBeGreaterThan(i0);
    const tillsOfStore = new Set(plan.tills.filter((t) => t.store === storeIdx).map((t) => t.index));
    const between = plan.actions.slice(i0, i1).filter((a) => a.type === 'publish' && tillsOfStore.has(a.till));
    expect(between).toHaveLength(0);
    const burst = plan.actions.slice(i1 + 1).filter((a) => a.type === 'publish' && a.burst);
    expect(burst.length).toBe(m.outages[0].backlogMessages);
    // per till, first sendings keep ascending sequence order across the outage
    for (const t of tillsOfStore) {
      const seqs = plan.actions
        .filter((a) => a.type === 'publish' && a.till === t && (a.what === 'sale' || a.what === 'return'))
        .map((a) => (a.type === 'publish' ? JSON.parse(a.payload.toString()).sequence : 0));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });

  it('is deterministic for a seed, and the faults do not change the sales themselves', () => {
    const again = planSimulation(ALL_FAULTS).manifest;
    expect(manifestJson(again, true)).toBe(manifestJson(m, true));
    const other = planSimulation({ ...ALL_FAULTS, seed: 43 }).manifest;
    expect(other.valid[0].payload!.equals(m.valid[0].payload!)).toBe(false);
    const clean = planSimulation({ ...ALL_FAULTS, duplicateRate: 0, malformedRate: 0, dropRate: 0, offline: false }).manifest;
    const sortKey = (a: ManifestTransaction, b: ManifestTransaction) => a.key.localeCompare(b.key);
    const texts = (xs: ManifestTransaction[]) => [...xs].sort(sortKey).map((x) => x.payload!.toString());
    expect(texts(clean.valid)).toEqual(texts(made));
    expect(clean.dropped).toHaveLength(0);
    expect(clean.closes.map((c) => c.doc)).toEqual(m.closes.map((c) => c.doc));
  });

  it('any currency: JPY (0 decimals) and KWD (3) sales validate', () => {
    for (const currency of ['JPY', 'KWD', 'USD']) {
      const p = planSimulation({ count: 50, currency, seed: 5, returnRate: 0.2, utcOffset: '+03:00' }).manifest;
      for (const t of [...p.valid, ...p.dropped]) {
        const s = doc(t);
        expect(validateDocument('sale', s).errors).toEqual([]);
        expect(s.currency).toBe(currency);
        expect(s.occurredAt).toMatch(/\+03:00$/);
      }
      expect(schemaValidator('till-close.schema.json')(p.closes[0].doc)).toBe(true);
    }
  });

  it('rejects options it cannot honour', () => {
    expect(() => planSimulation({ currency: 'XXX' })).toThrow(/unknown currency/);
    expect(() => planSimulation({ storeIds: ['LDN/1'] })).toThrow(/cannot be used in an MQTT topic/);
    expect(() => planSimulation({ duplicateRate: 2 })).toThrow(/duplicateRate/);
    expect(() => planSimulation({ businessDate: '14/03/2025' })).toThrow(/businessDate/);
  });
});

describe('device simulator: command line', () => {
  it('parses its flags', () => {
    const a = parseCliArgs(
      [
        '--url',
        'mqtt://127.0.0.1:1999',
        '--stores=4',
        '--tills',
        '3',
        '--count',
        '50000',
        '--rate',
        '2000',
        '--duplicate-rate',
        '0.01',
        '--drop-rate=0.001',
        '--offline',
        '2',
        '--username',
        '{store}',
        '--seed',
        'abc',
        '--manifest',
        '/tmp/m.json',
      ],
      { TILLWIRE_MQTT_PASSWORD: 'pw' },
    );
    expect(a.options).toMatchObject({
      brokerUrl: 'mqtt://127.0.0.1:1999',
      stores: 4,
      tills: 3,
      count: 50000,
      rate: 2000,
      duplicateRate: 0.01,
      dropRate: 0.001,
      offline: { stores: 2 },
      username: '{store}',
      password: 'pw',
      seed: 'abc',
    });
    expect(a.manifestFile).toBe('/tmp/m.json');
    expect(() => parseCliArgs(['--nope'])).toThrow(/unknown option/);
  });

  it('--help lists the flags; --dry-run prints a summary', async () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (writes.push(String(chunk)), true));
    try {
      expect(await main(['--help'])).toBe(0);
      expect(await main(['--dry-run', '--count', '200', '--malformed-rate', '0.1'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = writes.join('');
    for (const flag of [
      '--url',
      '--count',
      '--rate',
      '--duplicate-rate',
      '--malformed-rate',
      '--drop-rate',
      '--offline',
      '--username',
      '--client-id-prefix',
      '--brand',
      '--currency',
      '--seed',
    ]) {
      expect(text).toContain(flag);
    }
    expect(text).toMatch(/transactions 200 \(sales \d+, returns \d+\)/);
  });
});

describe('device simulator: through a real Mosquitto', () => {
  let broker: RunningMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** A subscriber whose handler is in place before CONNACK, so no early message is missed. */
  function subscriber(filter: string, opts: IClientOptions = {}) {
    const received: Array<{ topic: string; payload: Buffer }> = [];
    const client: MqttClient = mqtt.connect(broker.url, { clientId: `sub-${process.pid}-${Date.now()}`, protocolVersion: 5, reconnectPeriod: 0, ...opts });
    client.on('message', (topic, payload) => received.push({ topic, payload }));
    const ready = new Promise<void>((resolve, reject) => {
      client.once('connect', () => client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      client.once('error', reject);
    });
    return { client, received, ready };
  }

  async function settle(received: unknown[], expected: number, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (received.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // anything extra would arrive now
  }

  function expectedDeliveries(m: SimulationManifest): Map<string, number> {
    const out = new Map<string, number>();
    const add = (topic: string, payload: Buffer) => {
      const k = `${topic}\n${payload.toString('base64')}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    };
    for (const v of m.valid) add(v.topic, v.payload!);
    for (const d of m.duplicates) add(d.topic, d.payload!);
    for (const b of m.malformed) add(b.topic, b.payload);
    for (const c of m.closes) add(c.topic, c.payload!);
    return out;
  }

  it('a subscriber receives exactly what the manifest says, with every fault on', async () => {
    const brand = `t${process.pid}`;
    const sub = subscriber(`tillwire/${brand}/stores/+/tills/+/+`);
    await sub.ready;
    try {
      const m = await runSimulation({
        ...ALL_FAULTS,
        count: 600,
        brand,
        brokerUrl: broker.url,
        maxInflight: 50,
        duplicateRate: 0.05,
        malformedRate: 0.03,
        dropRate: 0.03,
      });
      expect(m.run!.failed).toBe(0);
      expect(m.run!.errors).toEqual([]);
      expect(m.run!.published).toBe(m.counts.messages);
      expect(m.run!.acked).toBe(m.counts.messages);
      expect(m.run!.reconnects).toBe(1);
      expect(m.counts.dropped).toBeGreaterThan(0);
      expect(m.counts.malformed).toBeGreaterThan(0);

      await settle(sub.received, m.counts.messages);
      const got = new Map<string, number>();
      for (const r of sub.received) {
        const k = `${r.topic}\n${r.payload.toString('base64')}`;
        got.set(k, (got.get(k) ?? 0) + 1);
      }
      expect(sub.received).toHaveLength(m.counts.messages);
      expect(got).toEqual(expectedDeliveries(m));

      // The unique valid sales a receiver keeps after dedupe are exactly manifest.valid.
      const unique = new Set<string>();
      for (const r of sub.received) {
        if (r.topic.endsWith('/close')) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(r.payload.toString('utf8'));
        } catch {
          continue;
        }
        if (!validateDocument('sale', parsed).valid) continue;
        const s = parsed as Sale;
        unique.add(`sale:${s.storeId}:${s.terminalId}:${s.saleId}`);
      }
      expect([...unique].sort()).toEqual(m.valid.map((v) => v.key).sort());

      // Per till, first arrivals come in ascending sequence order, the offline store's backlog included.
      const firstSeen = new Map<string, number[]>();
      const seen = new Set<string>();
      for (const r of sub.received) {
        if (!/\/(sales|returns)$/.test(r.topic)) continue;
        let s: Sale;
        try {
          s = JSON.parse(r.payload.toString('utf8'));
        } catch {
          continue;
        }
        if (!validateDocument('sale', s).valid) continue;
        const k = `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;
        if (seen.has(k)) continue;
        seen.add(k);
        const till = `${s.storeId}/${s.terminalId}`;
        if (!firstSeen.has(till)) firstSeen.set(till, []);
        firstSeen.get(till)!.push(s.sequence);
      }
      for (const seqs of firstSeen.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

      // Closes arrive with totals that include the dropped sales the receiver never saw.
      const closes = sub.received.filter((r) => r.topic.endsWith('/close')).map((r) => JSON.parse(r.payload.toString('utf8')) as TillCloseDocument);
      expect(closes).toHaveLength(6);
      const made = groupBy([...m.valid, ...m.dropped], tillOf);
      for (const c of closes) expect(closeSummary(c)).toEqual(expectedClose(made.get(`${c.storeId}/${c.terminalId}`)!));
    } finally {
      await sub.client.endAsync();
    }
  }, 60_000);

  it('keeps to the requested rate', async () => {
    const brand = `r${process.pid}`;
    const m = await runSimulation({ brokerUrl: broker.url, brand, count: 300, stores: 1, tills: 2, rate: 1000, close: false });
    expect(m.run!.failed).toBe(0);
    // 300 messages at 1,000/s take at least ~0.3 s; without pacing this run takes a few ms.
    expect(m.run!.elapsedMs).toBeGreaterThanOrEqual(280);
  });
});
