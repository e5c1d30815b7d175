import { FAULT_FLAGS, COMMON_FLAGS, helpText, parseFlags } from '../../simulators/kit/cli';
import { FaultInjector } from '../../simulators/kit/faults';
import { SeededRandom, seededRandom } from '../../simulators/kit/random';
import { Routes } from '../../simulators/kit/routes';
import * as amazon from '../../simulators/amazon/simulator';
import * as bol from '../../simulators/bol/simulator';
import * as quickbooks from '../../simulators/quickbooks/simulator';
import * as businessCentral from '../../simulators/business-central/simulator';
import * as odoo from '../../simulators/odoo/simulator';
import * as shopify from '../../simulators/shopify/simulator';
import * as square from '../../simulators/square/simulator';
import * as tills from '../../simulators/pos-mqtt/device-simulator';

describe('simulator kit: command line', () => {
  const flags = {
    port: { kind: 'number', help: 'p' },
    name: { help: 'n' },
    ids: { kind: 'list', help: 'i' },
    quiet: { kind: 'switch', help: 'q' },
  } as const;

  it('parses numbers, text, lists and switches, with or without =', () => {
    expect(parseFlags(['--port=8080', '--name', 'x', '--ids', 'a, b,,c', '--quiet'], flags)).toEqual({
      port: 8080,
      name: 'x',
      ids: ['a', 'b', 'c'],
      quiet: true,
    });
    expect(parseFlags([], flags)).toEqual({});
    expect(parseFlags(['-h'], flags)).toBe('help');
  });

  it('refuses what it does not know, naming it', () => {
    expect(() => parseFlags(['--bogus'], flags)).toThrow('unknown option --bogus');
    expect(() => parseFlags(['--name'], flags)).toThrow('--name needs a value');
    expect(() => parseFlags(['--port', 'eighty'], flags)).toThrow('--port needs a number, not "eighty"');
    expect(() => parseFlags(['--port', ''], flags)).toThrow('--port needs a number');
    expect(() => parseFlags(['stray'], flags)).toThrow('unexpected argument stray');
  });

  it('every simulator takes the shared flags under the same names; --help lists them', () => {
    const all = { amazon, bol, businessCentral, odoo, shopify, square, quickbooks };
    for (const [name, sim] of Object.entries(all)) {
      expect([name, Object.keys(sim.CLI_FLAGS)]).toEqual([name, expect.arrayContaining(Object.keys(COMMON_FLAGS))]);
    }
    for (const sim of [odoo, businessCentral, quickbooks]) expect(Object.keys(sim.CLI_FLAGS)).toEqual(expect.arrayContaining(Object.keys(FAULT_FLAGS)));
    expect(helpText('T', 'cmd', odoo.CLI_FLAGS)).toMatch(/--lost-response-rate <0\.\.1>/);
    expect(Object.keys(tills.CLI_FLAGS)).toContain('seed');
  });

  it('the ERP simulators read the same fault flags into their fault settings', () => {
    const argv = ['--error-rate', '0.1', '--timeout-rate=0.02', '--lost-response-rate', '0.05', '--seed', '9'];
    const want = { errorRate: 0.1, timeoutRate: 0.02, lostResponseRate: 0.05, seed: 9 };
    expect(odoo.parseCliArgs(argv)).toMatchObject({ faults: want });
    expect(businessCentral.parseCliArgs(argv)).toMatchObject({ faults: want });
    expect(quickbooks.parseCliArgs(argv)).toMatchObject({ faults: want });
    expect(() => businessCentral.parseCliArgs(['--lost-rate', '0.1'])).toThrow('unknown option --lost-rate');
  });

  it('each simulator maps its own flags onto its options', () => {
    expect(amazon.parseCliArgs(['--port', '0', '--orders', '5', '--speed', '3', '--epoch', '2025-01-01T00:00:00Z'])).toEqual({
      port: 0,
      orders: 5,
      rateMultiplier: 3,
      seed: 7,
      epoch: '2025-01-01T00:00:00Z',
      settlements: { periodDays: 1, gzip: false, decimalComma: false, dayFirstDates: false },
    });
    expect(bol.parseCliArgs(['--currencies', 'EUR,JPY', '--days', '2', '--orders', '10'])).toMatchObject({
      port: 18444,
      currencies: ['EUR', 'JPY'],
      orders: 10,
    });
    expect(shopify.parseCliArgs(['--restore-rate', '50', '--shop', 's.myshopify.com'])).toEqual({
      port: 18080,
      orders: 200,
      restoreRate: 50,
      shop: 's.myshopify.com',
    });
    expect(square.parseCliArgs(['--webhook-url', 'http://x/h', '--out-of-order', '--rate', '2.5'])).toMatchObject({
      port: 18091,
      webhook: { url: 'http://x/h', autoDeliver: true, outOfOrder: true },
      rateLimit: { ratePerSecond: 2.5, burst: 3 },
    });
  });
});

describe('simulator kit: routes', () => {
  const routes = new Routes<string>().add('GET', '/a/:id', 'get-a').add('PATCH', '/a/:id', 'patch-a').add('GET', '/a/:id/b.json', 'get-b');

  it('matches method and path, decoding parameters', () => {
    expect(routes.match('GET', '/a/x%2Fy')).toEqual({ value: 'get-a', params: ['x/y'] });
    expect(routes.match('patch', '/a/1')).toEqual({ value: 'patch-a', params: ['1'] });
    expect(routes.match('GET', '/a/1/b.json')).toEqual({ value: 'get-b', params: ['1'] });
  });

  it('matches nothing for another method, a longer path, a literal dot elsewhere or a parameter that cannot be decoded', () => {
    expect(routes.match('POST', '/a/1')).toBeUndefined();
    expect(routes.match('GET', '/a/1/c')).toBeUndefined();
    expect(routes.match('GET', '/a/1/bxjson')).toBeUndefined();
    expect(routes.match('GET', '/a/%E0%A4%A')).toBeUndefined();
    expect(routes.match('GET', '/a/')).toBeUndefined();
  });
});

describe('simulator kit: seeded generator and faults', () => {
  it('one generator: the same seed gives the same sequence, as an object or a function; text seeds too', () => {
    const a = new SeededRandom(42);
    const f = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => f())).toEqual(xs);
    expect(new Set(xs).size).toBe(5);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new SeededRandom('till-1').next()).toBe(new SeededRandom('till-1').next());
    expect(new SeededRandom('till-1').next()).not.toBe(new SeededRandom('till-2').next());
  });

  it('faults: decided by the rates in a fixed order, reproducible from the seed; an ineligible request draws nothing', () => {
    expect(new FaultInjector({ errorRate: 1 }).draw()).toBe('error');
    expect(new FaultInjector({ timeoutRate: 1 }).draw()).toBe('timeout');
    expect(new FaultInjector({ lostResponseRate: 1 }).draw()).toBe('lost');
    expect(new FaultInjector({ slowRate: 1 }).draw()).toBe('slow');
    expect(new FaultInjector({ errorRate: 5 }).settings.errorRate).toBe(1);
    const rates = { errorRate: 0.2, timeoutRate: 0.2, lostResponseRate: 0.2, slowRate: 0.2, seed: 3 };
    const run = (skipEvery: number) => {
      const f = new FaultInjector(rates);
      return Array.from({ length: 40 }, (_, i) => (skipEvery && i % skipEvery === 0 ? f.draw(false) : f.draw())).filter(
        (_, i) => !skipEvery || i % skipEvery !== 0,
      );
    };
    const all = run(0);
    expect(new Set(all)).toEqual(new Set(['error', 'timeout', 'lost', 'slow', undefined]));
    expect(run(0)).toEqual(all);
    expect(run(2)).toEqual(all.slice(0, 20));
    const reseeded = new FaultInjector(rates);
    reseeded.draw();
    reseeded.set(rates);
    expect(reseeded.draw()).toBe(all[0]);
  });
});

describe('simulators/cli.ts: the one entry point', () => {
  it('lists every simulator, refuses an unknown one with exit code 2, and runs the device simulator dry', async () => {
    const { main, usage } = await import('../../simulators/cli');
    for (const name of ['odoo', 'business-central', 'shopify', 'square', 'amazon', 'bol', 'quickbooks', 'tills']) expect(usage()).toContain(`  ${name} `);
    const out: string[] = [];
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation((c: any) => (out.push(String(c)), true)),
      jest.spyOn(process.stderr, 'write').mockImplementation((c: any) => (out.push(String(c)), true)),
    ];
    const before = process.exitCode;
    try {
      await main(['nope']);
      expect(process.exitCode).toBe(2);
      process.exitCode = undefined;
      await main(['tills', '--dry-run', '--count', '20']);
      expect(process.exitCode).toBe(0);
    } finally {
      spies.forEach((s) => s.mockRestore());
      process.exitCode = before;
    }
    expect(out.join('')).toMatch(/unknown simulator "nope"/);
    expect(out.join('')).toMatch(/transactions 20 \(sales \d+, returns \d+\)/);
  });
});
