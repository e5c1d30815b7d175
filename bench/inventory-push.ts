/**
 * The real push path of the inventory scenario (bench/inventory.ts runs it after the in-memory rows):
 * `tillwire-available-to-sell` in a real Node-RED process (red.js with the product's settings, as
 * users run it) over a SQLite ledger of SKUS SKUs at two locations, its pushes routed to the Shopify,
 * Amazon, Square and bol.com inventory nodes and over HTTP to the four simulators, which run in this
 * process so their own state can be read (the flow is test/inventory/channel-push-flow.test.ts's).
 * Every change enters as an ERP stock reading posted to the reserve node (it books the reading in the
 * ledger and names the SKU that changed); the time runs from just before the POST until the poll
 * (every millisecond, timestamps, no sleeps) sees every simulator hold the SKU's new figure.
 *
 * - full sync: the same reading through a second reserve node whose output asks the engine for
 *   "recompute" (every figure), on a ledger no channel has figures of yet, so every figure of every
 *   SKU is pushed: the work the full-sync pattern does on each change. Timed until the changed SKU is at
 *   every channel and until every figure is. One per run: a second recompute on the same ledger would
 *   push only what differs.
 * - Tillwire: CHANGES single changes after it, one at a time, each to a random SKU and location.
 *
 * The simulators' rate limits are lifted far above what the engine sends (its own limit: `rate`
 * pushes per second per channel, the node's maximum), so the figures measure Tillwire, not a throttle.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { catalogItem } from '../simulators/kit/catalog';
import { ShopifySimulator } from '../simulators/shopify/simulator';
import { AmazonSimulator } from '../simulators/amazon/simulator';
import { SquareSimulator } from '../simulators/square/simulator';
import { BolSimulator } from '../simulators/bol/simulator';
import { createStore } from '../nodes/runtime/create-store';
import { deployCredentialsAndWait, startNodeRed, type RunningNodeRed } from '../test/support/node-red-process';
import { percentile, peakRssMiB } from './common';

const UK = 'A1F83G8C2ARO7P';
const CHANGES = Number(process.env.BENCH_INVENTORY_PUSH_CHANGES ?? 200);
/** The engine's limits: pushes per second per channel (the node's maximum) and in flight per channel. */
const RATE = 1000;
const IN_FLIGHT = 50;
/** The longest the full sync is watched (BENCH_INVENTORY_SWEEP_S). */
const SWEEP_MS = Number(process.env.BENCH_INVENTORY_SWEEP_S ?? 90) * 1000;
const CHANNELS = ['shopify', 'amazon', 'square', 'bol'] as const;
type Channel = (typeof CHANNELS)[number];

export interface PushBenchResult {
  skus: number;
  channels: number;
  figures: number;
  engine: { ratePerChannel: number; inFlightPerChannel: number };
  /** everyFigureMs: measured when `complete`, else figures / figuresPerSecond over the measured window. */
  fullSync: {
    changes: number;
    changedSkuMs?: number;
    everyFigureMs: number;
    measuredMs: number;
    complete: boolean;
    figuresAtChannels: number;
    figuresPerSecond: number;
  };
  tillwire: { changes: number; p50Ms: number; p99Ms: number; maxMs: number };
  ratios: { everyFigureToP50: number; everyFigureToP99: number; changedSkuToP50?: number };
  nodeRedPeakRssMiB: number;
  benchProcessPeakRssMiB: number;
}

/** What each channel is offered of a SKU with `wh` units at WH1 and `store` at STORE-1 (the rules in flows()). */
const expected = (wh: number, store: number): Record<Channel, number> => ({
  shopify: wh + store,
  amazon: Math.floor(wh / 2),
  square: store,
  bol: Math.min(999, Math.max(0, wh - 2)),
});

function flows(file: string, skus: string[], sim: { shopify: ShopifySimulator; amazon: AmazonSimulator; square: SquareSimulator; bol: BolSimulator }) {
  const z = 'tab';
  const reserve = (id: string, to: string) => ({ id, type: 'tillwire-inventory-reserve', z, store: 'st', locations: 'WH1', wires: [[to, 'ack'], ['ack'], []] });
  const asOdoo = (id: string, to: string) => ({
    id,
    type: 'function',
    z,
    func: "msg.erp = { system: 'odoo', account: '' };\nreturn msg;",
    outputs: 1,
    wires: [[to]],
  });
  return [
    { id: z, type: 'tab', label: 'inventory bench' },
    { id: 'st', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file },
    {
      id: 'rules',
      type: 'tillwire-inventory',
      name: 'bench rules',
      locations: 'WH1, STORE-1',
      channels: [
        { system: 'shopify', locations: 'WH1, STORE-1' },
        { system: 'amazon', locations: 'WH1', allocationPercent: 50 },
        { system: 'square', locations: 'STORE-1' },
        { system: 'bol', locations: 'WH1', buffer: 2, maxListed: 999 },
      ],
      bundles: [],
    },
    { id: 'shc', type: 'tillwire-shopify-config', shop: sim.shopify.shop, apiVersion: '2026-04', baseUrl: sim.shopify.url, timeout: '10' },
    {
      id: 'amc',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: sim.amazon.url,
      tokenUrl: sim.amazon.tokenUrl,
      sellerId: sim.amazon.sellerId,
      marketplaceIds: UK,
      timeout: '10',
    },
    {
      id: 'sqc',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: sim.square.url,
      locationIds: 'L-LDN',
      ratePerSecond: 0,
      // The SKU map a large catalogue is configured with (catalog object id → SKU).
      skuMap: JSON.stringify(Object.fromEntries(skus.map((s) => [SquareSimulator.catalogObjectId(s), s]))),
    },
    { id: 'boc', type: 'tillwire-bol-config', endpoint: sim.bol.url, tokenUrl: sim.bol.tokenUrl, retailerId: '1234567', timeout: '10' },
    // Tillwire: a reading's changed SKUs go to the engine (msg.skus).
    { id: 'reading', type: 'http in', z, url: '/reading', method: 'post', wires: [['asOdoo']] },
    asOdoo('asOdoo', 'guard'),
    reserve('guard', 'ats'),
    // The full-sync pattern: any reading recomputes and pushes everything.
    { id: 'readingAll', type: 'http in', z, url: '/reading-full-sync', method: 'post', wires: [['asOdooAll']] },
    asOdoo('asOdooAll', 'guardAll'),
    reserve('guardAll', 'everything'),
    { id: 'everything', type: 'function', z, func: "return { topic: 'recompute' };", outputs: 1, wires: [['ats']] },
    { id: 'ack', type: 'function', z, func: 'msg.payload = { ok: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'kg', type: 'catch', z, scope: ['guard', 'guardAll'], uncaught: false, wires: [['refused']] },
    {
      id: 'refused',
      type: 'function',
      z,
      func: 'msg.statusCode = 422;\nmsg.payload = { error: msg.error.message };\nreturn msg;',
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z, statusCode: '', headers: {} },
    {
      id: 'ats',
      type: 'tillwire-available-to-sell',
      z,
      store: 'st',
      rules: 'rules',
      rate: RATE,
      inFlight: IN_FLIGHT,
      confirm: 60,
      recomputeOnStart: false,
      wires: [['route']],
    },
    {
      id: 'route',
      type: 'switch',
      z,
      property: 'channel',
      propertyType: 'msg',
      rules: CHANNELS.map((c) => ({ t: 'eq', v: c, vt: 'str' })),
      checkall: 'false',
      outputs: 4,
      wires: [['inv-shopify'], ['inv-amazon'], ['inv-square'], ['inv-bol']],
    },
    // Each write node's output and a Catch on them go back to the engine (its confirmation).
    { id: 'inv-shopify', type: 'tillwire-shopify-inventory', z, shopify: 'shc', store: 'st', location: '1', wires: [['ats']] },
    { id: 'inv-amazon', type: 'tillwire-amazon-inventory', z, amazon: 'amc', store: 'st', marketplaceIds: UK, wires: [['ats']] },
    { id: 'inv-square', type: 'tillwire-square-inventory', z, square: 'sqc', store: 'st', location: 'L-LDN', wires: [['ats']] },
    {
      id: 'inv-bol',
      type: 'tillwire-bol-inventory',
      z,
      bol: 'boc',
      store: 'st',
      offers: JSON.stringify(Object.fromEntries(skus.map((s) => [s, BolSimulator.offerIdOf(s)]))),
      wires: [['ats']],
    },
    { id: 'kc', type: 'catch', z, scope: ['inv-shopify', 'inv-amazon', 'inv-square', 'inv-bol'], uncaught: false, wires: [['failures']] },
    { id: 'failures', type: 'function', z, func: "flow.set('failed', (flow.get('failed') || 0) + 1);\nreturn msg;", outputs: 1, wires: [['ats']] },
  ];
}

/** Square keeps a list of changes: its latest PHYSICAL_COUNT per catalog object at L-LDN, read incrementally. */
function squareCounts(square: SquareSimulator): () => Map<string, number> {
  const counts = new Map<string, number>();
  let read = 0;
  return () => {
    const list = square.inventoryChanges;
    for (; read < list.length; read++) {
      const c = list[read];
      if (c.type === 'PHYSICAL_COUNT' && c.physical_count.location_id === 'L-LDN' && c.physical_count.state === 'IN_STOCK')
        counts.set(c.physical_count.catalog_object_id, Number(c.physical_count.quantity));
    }
    return counts;
  };
}

const tick = () => new Promise((r) => setTimeout(r, 1));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function inventoryPushBench(skuCount: number, random: (n: number) => number): Promise<PushBenchResult> {
  const skus = Array.from({ length: skuCount }, (_, i) => catalogItem(i).sku);
  const wh = Int32Array.from(skus, () => random(200));
  const store = Int32Array.from(skus, () => random(50));
  // Limits far above the engine's own (RATE per channel): the simulators never throttle this run.
  const shopify = new ShopifySimulator({ orders: 0, maximumAvailable: 1e9, restoreRate: 1e9 });
  const amazon = new AmazonSimulator({
    orders: 0,
    marketplaceIds: [UK],
    usagePlans: { patchListingsItem: { rate: 1e6, burst: 1e6 }, getListingsItem: { rate: 1e6, burst: 1e6 } },
  });
  const square = new SquareSimulator({});
  const bol = new BolSimulator({ orders: 0, offers: skuCount, rateMultiplier: 1e6 });
  const itemIds = skus.map((s) => shopify.addInventoryItem(s));
  const objectIds = skus.map((s) => SquareSimulator.catalogObjectId(s));
  const offerIds = skus.map((s) => BolSimulator.offerIdOf(s));
  for (const s of skus) {
    amazon.addListing(s);
    square.addCatalogVariation(s);
  }
  await Promise.all([shopify.start(), amazon.start(), square.start(), bol.start()]);
  const squareNow = squareCounts(square);
  const held = (i: number): Record<Channel, number | undefined> => ({
    shopify: shopify.inventory.get(`${itemIds[i]}|gid://shopify/Location/1|available`),
    amazon: amazon.listing(skus[i], UK),
    square: squareNow().get(objectIds[i]),
    bol: bol.offer(offerIds[i])?.amount,
  });
  const holds = (i: number) => {
    const want = expected(wh[i], store[i]);
    const h = held(i);
    return CHANNELS.every((c) => h[c] === want[c]);
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-inventory-'));
  const file = path.join(dir, 'ledger.db');
  const ledger = createStore({ backend: 'sqlite', file }, dir, { heartbeatMs: 0 });
  await ledger.open();
  const lines = skus.flatMap((sku, i) => [
    { sku, locationId: 'WH1', onHand: wh[i] },
    { sku, locationId: 'STORE-1', onHand: store[i] },
  ]);
  // The ledger takes at most 500 lines per snapshot.
  for (let at = 0; at < lines.length; at += 500)
    await ledger.inventory.snapshot({ system: 'odoo', documentId: `bench-opening-${at}` }, lines.slice(at, at + 500));
  await ledger.close();

  let red: RunningNodeRed | undefined;
  try {
    red = await startNodeRed({
      via: 'red',
      userDir: dir,
      flows: flows(file, skus, { shopify, amazon, square, bol }),
      env: { TILLWIRE_LOG_LEVEL: 'warn' },
      // The SKU and offer maps of 100,000 SKUs are bigger than the admin API takes by default (5 MB).
      settings: { apiMaxLength: '64mb' },
    });
    await deployCredentialsAndWait(red, {
      st: {},
      shc: { accessToken: shopify.accessToken },
      amc: { clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken },
      sqc: { accessToken: square.accessToken },
      boc: { clientId: bol.clientId, clientSecret: bol.clientSecret },
    });
    const base = Date.now();
    let readings = 0;
    const post = async (route: string, i: number, locationId: 'WH1' | 'STORE-1', onHand: number) => {
      const asOf = new Date(base + ++readings * 1000).toISOString();
      const res = await fetch(`${red!.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ kind: 'inventory.position', sku: skus[i], locationId, onHand, reserved: 0, inTransit: 0, safetyStock: 0, asOf }]),
      });
      if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}\n${red!.output().slice(-2000)}`);
    };
    /** One change: posted, and polled until every channel holds the SKU's new figure; ms from the POST. */
    const change = async (route: string, limitMs: number) => {
      const i = random(skuCount);
      const atWh = random(2) === 0;
      const old = atWh ? wh[i] : store[i];
      const onHand = (old + 1 + random(199)) % 200;
      (atWh ? wh : store)[i] = onHand;
      const start = performance.now();
      let failure: unknown;
      const sent = post(route, i, atWh ? 'WH1' : 'STORE-1', onHand).catch((err) => (failure = err));
      while (!holds(i)) {
        if (failure) throw failure;
        if (performance.now() - start > limitMs)
          throw new Error(
            `${skus[i]} not at every channel within ${limitMs} ms: ${JSON.stringify(held(i))}; Amazon: ${amazon.log.filter((l) => l.operation === 'patchListingsItem').length} patches, ${JSON.stringify(amazon.log.slice(-2))}; bol ${bol.stockUpdates.length}\n${red!.output().slice(-1500)}`,
          );
        await tick();
      }
      const ms = performance.now() - start;
      await sent;
      if (failure) throw failure;
      return { ms, start };
    };

    // (1) Tillwire: single changes, one at a time. No channel has figures yet, so each pushes all four of its SKU.
    console.log(`[bench] inventory push: ${CHANGES} single changes`);
    const tillwireMs: number[] = [];
    for (let n = 0; n < CHANGES; n++) tillwireMs.push((await change('/reading', 30_000)).ms);

    // (2) the full-sync pattern: one change, every figure of every SKU pushed, for SWEEP_MS at most
    // (a sweep through this path takes far longer than a bench run at 100,000 SKUs): timed to the end
    // when it ends within the window, else its rate over the window gives the time for every figure.
    console.log(`[bench] inventory push: full sync of ${skuCount} SKUs × 4 channels through Node-RED (at most ${SWEEP_MS / 1000} s)`);
    const heldFigures = () => {
      let n = 0;
      for (let i = 0; i < skuCount; i++) {
        const want = expected(wh[i], store[i]);
        const h = held(i);
        for (const c of CHANNELS) if (h[c] === want[c]) n++;
      }
      return n;
    };
    const before = heldFigures();
    const sync = await change('/reading-full-sync', SWEEP_MS).catch(() => undefined);
    const syncStart = performance.now() - (sync?.ms ?? SWEEP_MS);
    let checked = 0;
    while (performance.now() - syncStart < SWEEP_MS) {
      while (checked < skuCount && holds(checked)) checked++;
      if (checked === skuCount) break;
      await tick();
    }
    const sweptMs = performance.now() - syncStart;
    const pushed = heldFigures() - before;
    const complete = checked === skuCount;
    const perSecond = pushed / (sweptMs / 1000);
    const everyFigureMs = complete ? sweptMs : ((skuCount * CHANNELS.length - before) / perSecond) * 1000;

    const p50 = percentile(tillwireMs, 50);
    const p99 = percentile(tillwireMs, 99);
    return {
      skus: skuCount,
      channels: CHANNELS.length,
      figures: skuCount * CHANNELS.length,
      engine: { ratePerChannel: RATE, inFlightPerChannel: IN_FLIGHT },
      fullSync: {
        changes: 1,
        changedSkuMs: sync ? round(sync.ms) : undefined,
        everyFigureMs: round(everyFigureMs),
        measuredMs: round(sweptMs),
        complete,
        figuresAtChannels: pushed,
        figuresPerSecond: Math.round(perSecond),
      },
      tillwire: { changes: CHANGES, p50Ms: round(p50), p99Ms: round(p99), maxMs: round(Math.max(...tillwireMs)) },
      ratios: {
        everyFigureToP50: Math.round(everyFigureMs / p50),
        everyFigureToP99: Math.round(everyFigureMs / p99),
        changedSkuToP50: sync ? Math.round(sync.ms / p50) : undefined,
      },
      nodeRedPeakRssMiB: peakRssMiB(red.pid),
      benchProcessPeakRssMiB: peakRssMiB(process.pid),
    };
  } finally {
    // Killed, not stopped: a graceful stop waits for the rest of the full sync's backlog.
    await red?.kill();
    await Promise.all([shopify.stop(), amazon.stop(), square.stop(), bol.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
