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
import { delay } from '../nodes/runtime/http';
import { deployCredentialsAndWait, ROOT, startNodeRed, type RunningNodeRed } from '../test/support/node-red-process';
import { percentile, peakRssMiB } from './common';
import { hotFunctions, readCpuProfile, startProfile, type HotFunction } from './cpu-profile';

const UK = 'A1F83G8C2ARO7P';
const CHANGES = Number(process.env.BENCH_INVENTORY_PUSH_CHANGES ?? 200);
/** The engine's limits: pushes per second per channel (the node's maximum) and in flight per channel. */
const RATE = 1000;
const IN_FLIGHT = 50;
/** The longest the full sync is watched (BENCH_INVENTORY_SWEEP_S). */
const SWEEP_MS = Number(process.env.BENCH_INVENTORY_SWEEP_S ?? 90) * 1000;
/** How long a profiled Node-RED gets to stop (and write its profile) before it is killed. */
const STOP_MS = 60_000;
const CHANNELS = ['shopify', 'amazon', 'square', 'bol'] as const;
type Channel = (typeof CHANNELS)[number];

export interface PushBenchResult {
  skus: number;
  channels: number;
  figures: number;
  engine: { ratePerChannel: number; inFlightPerChannel: number };
  /**
   * firstPushMs: from the POST until the first figure reached a simulator (the engine reading and computing
   * everything). figuresPerSecond: figures at their channel over the rest of the window. everyFigureMs:
   * measured when `complete`, else the window plus the figures left at that rate (extrapolated).
   */
  fullSync: {
    changes: number;
    changedSkuMs?: number;
    firstPushMs?: number;
    everyFigureMs: number;
    measuredMs: number;
    complete: boolean;
    /** Figures the channels held already (the single changes'). */
    figuresBefore: number;
    figuresAtChannels: number;
    figuresPerSecond: number;
  };
  tillwire: { changes: number; p50Ms: number; p99Ms: number; maxMs: number };
  ratios: { everyFigureToP50: number; everyFigureToP99: number; changedSkuToP50?: number };
  nodeRedPeakRssMiB: number;
  benchProcessPeakRssMiB: number;
  /** Profiled: each step's median over the single changes, ms after the POST. */
  path?: ChangePath;
  /** Profiled: the Node-RED process's functions with the most self time over its life. */
  nodeRedHot?: HotFunction[];
  /** Profiled: the bench process's (the four simulators') over the full sync's window. */
  benchProcessHot?: HotFunction[];
}

/** What each channel is offered of a SKU with `wh` units at WH1 and `store` at STORE-1 (the rules in flows()). */
const expected = (wh: number, store: number): Record<Channel, number> => ({
  shopify: wh + store,
  amazon: Math.floor(wh / 2),
  square: store,
  bol: Math.min(999, Math.max(0, wh - 2)),
});

/**
 * Timestamps inside Node-RED along a change's path (the profiled run only): function nodes wired beside
 * the flow's own wires record Date.now() when the reading arrives, when the reserve node has booked it,
 * when the engine emits each push and when each write node has written it; GET /trace hands them over
 * and starts a new list (GET /trace?stop=1 ends the recording: the full sync is not traced).
 */
function traceNodes(z: string) {
  const mark = (id: string, what: string, extra = 'undefined') => ({
    id,
    type: 'function',
    z,
    func: `const t = global.get('trace'); if (t) t.push({ what: '${what}', at: Date.now(), channel: ${extra} }); return null;`,
    outputs: 1,
    wires: [[]],
  });
  return [
    mark('trReceived', 'received'),
    mark('trBooked', 'booked'),
    mark('trEmitted', 'emitted', 'msg.channel'),
    mark('trWritten', 'written', 'msg.push && msg.push.channel'),
    { id: 'trGet', type: 'http in', z, url: '/trace', method: 'get', wires: [['trTake']] },
    // Hands over the marks so far and starts a new list (?stop: no list, nothing recorded).
    {
      id: 'trTake',
      type: 'function',
      z,
      func: "msg.payload = global.get('trace') || [];\nglobal.set('trace', msg.req.query.stop ? undefined : []);\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

function flows(
  file: string,
  skus: string[],
  sim: { shopify: ShopifySimulator; amazon: AmazonSimulator; square: SquareSimulator; bol: BolSimulator },
  trace = false,
) {
  const z = 'tab';
  /** A node's wires with the trace node added to output 0 when tracing. */
  const also = (wires: string[], node: string) => (trace ? [...wires, node] : wires);
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
    { id: 'reading', type: 'http in', z, url: '/reading', method: 'post', wires: [also(['asOdoo'], 'trReceived')] },
    asOdoo('asOdoo', 'guard'),
    { ...reserve('guard', 'ats'), wires: [also(['ats', 'ack'], 'trBooked'), ['ack'], []] },
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
      wires: [also(['route'], 'trEmitted')],
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
    { id: 'inv-shopify', type: 'tillwire-shopify-inventory', z, shopify: 'shc', store: 'st', location: '1', wires: [also(['ats'], 'trWritten')] },
    { id: 'inv-amazon', type: 'tillwire-amazon-inventory', z, amazon: 'amc', store: 'st', marketplaceIds: UK, wires: [also(['ats'], 'trWritten')] },
    { id: 'inv-square', type: 'tillwire-square-inventory', z, square: 'sqc', store: 'st', location: 'L-LDN', wires: [also(['ats'], 'trWritten')] },
    {
      id: 'inv-bol',
      type: 'tillwire-bol-inventory',
      z,
      bol: 'boc',
      store: 'st',
      offers: JSON.stringify(Object.fromEntries(skus.map((s) => [s, BolSimulator.offerIdOf(s)]))),
      wires: [also(['ats'], 'trWritten')],
    },
    { id: 'kc', type: 'catch', z, scope: ['inv-shopify', 'inv-amazon', 'inv-square', 'inv-bol'], uncaught: false, wires: [['failures']] },
    { id: 'failures', type: 'function', z, func: "flow.set('failed', (flow.get('failed') || 0) + 1);\nreturn msg;", outputs: 1, wires: [['ats']] },
    ...(trace ? traceNodes(z) : []),
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

/** Each step's median over the changes (a channel's over the changes that pushed to it). */
function medianPath(paths: ChangePath[]): ChangePath {
  const med = (values: number[]) => round(percentile(values.filter(Number.isFinite), 50));
  const perChannel = (pick: (p: ChangePath) => Partial<Record<Channel, number>>) =>
    Object.fromEntries(CHANNELS.map((c) => [c, med(paths.map((p) => pick(p)[c] ?? NaN))]));
  return {
    received: med(paths.map((p) => p.received)),
    booked: med(paths.map((p) => p.booked)),
    emitted: perChannel((p) => p.emitted),
    atSimulator: perChannel((p) => p.atSimulator),
    written: perChannel((p) => p.written),
    everywhere: med(paths.map((p) => p.everywhere)),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 1));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Where a change's time went, ms after its POST: per step, and per channel for the pushes. */
export interface ChangePath {
  received: number;
  booked: number;
  emitted: Partial<Record<Channel, number>>;
  atSimulator: Partial<Record<Channel, number>>;
  written: Partial<Record<Channel, number>>;
  everywhere: number;
}

interface TraceMark {
  what: 'received' | 'booked' | 'emitted' | 'written';
  at: number;
  channel?: Channel;
}

/**
 * `profile`: the Node-RED process runs under V8's profiler (its hot functions in the result), the bench
 * process (the four simulators) is profiled over the full sync's window, and the single changes are
 * traced (`path`: timestamps along the flow, from function nodes beside its wires).
 */
export async function inventoryPushBench(skuCount: number, random: (n: number) => number, opts: { profile?: boolean } = {}): Promise<PushBenchResult> {
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
  let result: PushBenchResult;
  // --profile: V8's profiler in the Node-RED process for its whole life (written when it stops).
  const profileDir = opts.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-inventory-profile-')) : undefined;
  try {
    red = await startNodeRed({
      via: 'red',
      userDir: dir,
      flows: flows(file, skus, { shopify, amazon, square, bol }, opts.profile),
      env: { TILLWIRE_LOG_LEVEL: 'warn' },
      nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
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
    /** The trace marks of the change just made, once every push it emitted has been written (outside the clock). */
    const pathOf = async (c: { startWall: number; ms: number; seen: Partial<Record<Channel, number>> }): Promise<ChangePath> => {
      const marks: TraceMark[] = [];
      const deadline = Date.now() + 10_000;
      for (;;) {
        marks.push(...((await (await fetch(`${red!.url}/trace`)).json()) as TraceMark[]));
        const emitted = marks.filter((m) => m.what === 'emitted').length;
        if (emitted && marks.filter((m) => m.what === 'written').length >= emitted) break;
        if (Date.now() > deadline) throw new Error(`trace: the pushes were not all written: ${JSON.stringify(marks)}`);
        await tick();
      }
      const at = (what: TraceMark['what']) => (marks.find((m) => m.what === what)?.at ?? NaN) - c.startWall;
      const per = (what: TraceMark['what']) => Object.fromEntries(marks.filter((m) => m.what === what).map((m) => [m.channel, m.at - c.startWall]));
      return {
        received: at('received'),
        booked: at('booked'),
        emitted: per('emitted'),
        atSimulator: c.seen,
        written: per('written'),
        everywhere: Math.round(c.ms),
      };
    };
    /** One change: posted, and polled until every channel holds the SKU's new figure; ms from the POST. */
    const change = async (route: string, limitMs: number) => {
      const i = random(skuCount);
      const atWh = random(2) === 0;
      const old = atWh ? wh[i] : store[i];
      const onHand = (old + 1 + random(199)) % 200;
      (atWh ? wh : store)[i] = onHand;
      const start = performance.now();
      const startWall = Date.now();
      const seen: Partial<Record<Channel, number>> = {};
      let failure: unknown;
      const sent = post(route, i, atWh ? 'WH1' : 'STORE-1', onHand).catch((err) => (failure = err));
      const want = expected(wh[i], store[i]);
      for (;;) {
        const h = held(i);
        for (const c of CHANNELS) if (seen[c] === undefined && h[c] === want[c]) seen[c] = Date.now() - startWall;
        if (CHANNELS.every((c) => seen[c] !== undefined)) break;
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
      return { ms, start, startWall, seen };
    };

    // (1) Tillwire: single changes, one at a time. No channel has figures yet, so each pushes all four of its SKU.
    console.log(`[bench] inventory push: ${CHANGES} single changes`);
    const tillwireMs: number[] = [];
    const paths: ChangePath[] = [];
    if (opts.profile) await fetch(`${red.url}/trace`); // starts the recording
    for (let n = 0; n < CHANGES; n++) {
      const c = await change('/reading', 30_000);
      tillwireMs.push(c.ms);
      if (opts.profile) paths.push(await pathOf(c));
    }

    if (opts.profile) await fetch(`${red.url}/trace?stop=1`);

    // (2) the full-sync pattern: one change, every figure of every SKU pushed, watched for SWEEP_MS at
    // most: timed to the end when it ends within the window, else stopped there (Node-RED is killed
    // below) with its measured rate. The engine first reads every position from the ledger and computes
    // every figure (until the first push reaches a simulator), then the figures go out; the rate is
    // that of the pushes, after the first.
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
    /** Requests that changed a simulator's stock (Square's changes and bol's updates: cheap to count). */
    const arrived = () => square.inventoryChanges.length + bol.stockUpdates.length;
    const before = heldFigures();
    const arrivedBefore = arrived();
    const stopProfile = opts.profile ? await startProfile() : undefined;
    const syncStart = performance.now();
    let firstPushMs: number | undefined;
    let checked = 0;
    let watching = true;
    const sync = change('/reading-full-sync', SWEEP_MS).then(
      (c) => c,
      () => undefined,
    );
    while (watching && performance.now() - syncStart < SWEEP_MS) {
      if (firstPushMs === undefined && arrived() > arrivedBefore) firstPushMs = performance.now() - syncStart;
      while (checked < skuCount && holds(checked)) checked++;
      if (checked === skuCount) watching = false;
      else await tick();
    }
    const sweptMs = performance.now() - syncStart;
    const changedSku = await sync;
    const benchProfile = stopProfile ? await stopProfile() : undefined;
    const pushed = heldFigures() - before;
    const complete = checked === skuCount;
    const pushingMs = sweptMs - (firstPushMs ?? sweptMs);
    const perSecond = pushingMs > 0 ? pushed / (pushingMs / 1000) : 0;
    const remaining = skuCount * CHANNELS.length - before - pushed;
    const everyFigureMs = complete ? sweptMs : sweptMs + (perSecond > 0 ? (remaining / perSecond) * 1000 : Infinity);

    const p50 = percentile(tillwireMs, 50);
    const p99 = percentile(tillwireMs, 99);
    result = {
      skus: skuCount,
      channels: CHANNELS.length,
      figures: skuCount * CHANNELS.length,
      engine: { ratePerChannel: RATE, inFlightPerChannel: IN_FLIGHT },
      fullSync: {
        changes: 1,
        changedSkuMs: changedSku ? round(changedSku.ms) : undefined,
        firstPushMs: firstPushMs === undefined ? undefined : round(firstPushMs),
        everyFigureMs: round(everyFigureMs),
        measuredMs: round(sweptMs),
        complete,
        figuresBefore: before,
        figuresAtChannels: pushed,
        figuresPerSecond: Math.round(perSecond),
      },
      tillwire: { changes: CHANGES, p50Ms: round(p50), p99Ms: round(p99), maxMs: round(Math.max(...tillwireMs)) },
      path: paths.length ? medianPath(paths) : undefined,
      ratios: {
        everyFigureToP50: Math.round(everyFigureMs / p50),
        everyFigureToP99: Math.round(everyFigureMs / p99),
        changedSkuToP50: changedSku ? Math.round(changedSku.ms / p50) : undefined,
      },
      nodeRedPeakRssMiB: peakRssMiB(red.pid),
      benchProcessPeakRssMiB: peakRssMiB(process.pid),
      benchProcessHot: benchProfile ? hotFunctions(benchProfile, 12, ROOT + '/') : undefined,
    };
  } finally {
    // The full sync's backlog ends with the process. Profiled: stopped as Node-RED stops on Ctrl-C, so
    // that V8 writes the profile (killed if that takes longer than STOP_MS); else killed at once.
    if (red && profileDir) {
      const stopped = await Promise.race([red.terminate('SIGINT').then(() => true), delay(STOP_MS).then(() => false)]);
      if (!stopped) await red.kill();
    } else await red?.kill();
    await Promise.all([shopify.stop(), amazon.stop(), square.stop(), bol.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (profileDir) {
    try {
      result.nodeRedHot = hotFunctions(readCpuProfile(profileDir), 20, ROOT + '/');
    } catch (err) {
      // No profile written (the process did not stop gracefully): the report goes without it.
      if (!/expected one main-thread \.cpuprofile/.test((err as Error).message)) throw err;
    }
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
  return result;
}
