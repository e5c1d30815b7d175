/**
 * The inventory rules as staff type them in the dialog: good rules read into the engine's form,
 * and every kind of mistake named (and the rules not used at all).
 */
import fs from 'node:fs';
import path from 'node:path';
import { compileRules, RULE_LIMITS } from '../../nodes/inventory/rules';

const channel = (over: Record<string, unknown> = {}) => ({ system: 'shopify', locations: 'wh', ...over });
const problemsOf = (config: Parameters<typeof compileRules>[0]) => compileRules(config).problems;

describe('inventory rules', () => {
  it('reads what the dialog saves: text lists, numbers as text, blanks as the defaults', () => {
    const { rules, problems } = compileRules({
      locations: ' wh , store-berlin ',
      channels: [
        {
          system: 'amazon',
          account: 'A1B2',
          locations: 'wh',
          allocationPercent: '60',
          buffer: '2',
          maxListed: '',
          zeroBelow: 3,
          unsellableStates: 'damaged, quality_control',
          countInTransit: true,
        },
        { system: 'shopify', locations: ['wh', 'store-berlin'], allocationPercent: '', buffer: '' },
      ],
      bundles: [{ sku: 'GIFTSET', components: 'MUG*2, SAUCER' }],
    });
    expect(problems).toEqual([]);
    expect(rules!.locations).toEqual(['wh', 'store-berlin']);
    expect(rules!.channels).toEqual([
      {
        system: 'amazon',
        account: 'A1B2',
        locations: ['wh'],
        allocationPercent: 60,
        buffer: 2,
        zeroBelow: 3,
        unsellableStates: ['damaged', 'quality_control'],
        countInTransit: true,
      },
      { system: 'shopify', locations: ['wh', 'store-berlin'], allocationPercent: 100, buffer: 0, zeroBelow: 0, unsellableStates: [], countInTransit: false },
    ]);
    expect(rules!.bundles.get('GIFTSET')).toEqual([
      { sku: 'MUG', quantity: 2 },
      { sku: 'SAUCER', quantity: 1 },
    ]);
    expect(rules!.partOf.get('MUG')).toEqual(['GIFTSET']);
  });

  it('knows every bundle a SKU is part of, through nested bundles too', () => {
    const { rules } = compileRules({
      bundles: [
        { sku: 'PAIR', components: 'MUG, SAUCER' },
        { sku: 'HAMPER', components: 'PAIR*2, BOX' },
        { sku: 'TRIO', components: 'MUG*3' },
      ],
    });
    expect(rules!.partOf.get('MUG')).toEqual(['HAMPER', 'PAIR', 'TRIO']);
    expect(rules!.partOf.get('BOX')).toEqual(['HAMPER']);
    expect(rules!.partOf.get('HAMPER')).toBeUndefined();
  });

  it('names an unknown location, a percentage outside 0–100 and negative or non-whole figures', () => {
    expect(
      problemsOf({
        locations: 'wh',
        channels: [
          channel({ locations: 'wh, whs' }),
          channel({ system: 'amazon', allocationPercent: 150 }),
          channel({ system: 'bol', allocationPercent: -5 }),
          channel({ system: 'square', buffer: -1, maxListed: 'ten', zeroBelow: 2.5 }),
        ],
      }),
    ).toEqual([
      'channel 1 (shopify): unknown location "whs" (not in "All locations")',
      'channel 2 (amazon): allocation 150% is outside 0–100%',
      'channel 3 (bol): allocation -5% is outside 0–100%',
      'channel 4 (square): buffer must not be negative (got -1)',
      'channel 4 (square): maximum listed must be a whole number (got "ten")',
      'channel 4 (square): threshold must be a whole number (got 2.5)',
    ]);
  });

  it('names a missing or malformed system, a channel without locations and a channel set twice', () => {
    expect(
      problemsOf({
        locations: 'wh',
        channels: [channel({ system: 'Shopify' }), channel({ system: 'amazon', locations: '' }), channel({ account: 'x' }), channel({ account: 'x' })],
      }),
    ).toEqual([
      'channel 1: the system must be a lower-case name such as shopify or amazon (got "Shopify")',
      'channel 2 (amazon): no location to sell from',
      'channel 4: shopify/x is already set by channel 3',
    ]);
  });

  it('names a bundle of itself, a cycle, a bad quantity, an empty bundle and a duplicate', () => {
    expect(
      problemsOf({
        bundles: [
          { sku: 'SELF', components: 'SELF*2' },
          { sku: 'A', components: 'B' },
          { sku: 'B', components: 'C*2' },
          { sku: 'C', components: 'A' },
          { sku: 'Q', components: 'MUG*0, CUP*x, PLATE*-1' },
          { sku: 'E', components: '' },
          { sku: 'A', components: 'MUG' },
          { sku: 'D', components: 'MUG, MUG*2' },
          { sku: '', components: 'MUG' },
        ],
      }),
    ).toEqual([
      'bundle 1 (SELF) contains itself',
      'bundle 5 (Q): quantity of MUG must be at least 1',
      'bundle 5 (Q): quantity of CUP must be a whole number (got "x")',
      'bundle 5 (Q): quantity of PLATE must not be negative (got -1)',
      'bundle 6 (E): no components',
      'bundle 7: A is already defined as a bundle',
      'bundle 8 (D): component MUG is listed twice (give one quantity)',
      'bundle 9: the bundle SKU is missing',
      'bundles form a cycle: A → B → C → A',
    ]);
  });

  it('names absurd sizes instead of reading them as rules', () => {
    const many = Array.from({ length: RULE_LIMITS.channels + 1 }, (_, i) => channel({ account: `a${i}` }));
    expect(problemsOf({ locations: 'wh', channels: many })).toEqual([`channels: ${RULE_LIMITS.channels + 1} entries, more than ${RULE_LIMITS.channels}`]);
    expect(problemsOf({ locations: 'wh', channels: [channel({ buffer: 5e9, maxListed: 1e10 })] })).toEqual([
      'channel 1 (shopify): buffer of 5000000000 is more than 1000000000',
      'channel 1 (shopify): maximum listed of 10000000000 is more than 1000000000',
    ]);
    expect(problemsOf({ bundles: [{ sku: 'BIG', components: 'MUG*20000' }] })).toEqual(['bundle 1 (BIG): quantity of MUG of 20000 is more than 10000']);
    const deep = Array.from({ length: 7 }, (_, i) => ({ sku: `L${i}`, components: i === 6 ? 'MUG' : `L${i + 1}` }));
    expect(problemsOf({ bundles: deep })).toEqual(['bundle L0 nests 7 levels deep, more than 5', 'bundle L1 nests 6 levels deep, more than 5']);
    expect(problemsOf({ bundles: [{ sku: 'LONG', components: 'y'.repeat(129) }] })).toEqual([
      `bundle 1 (LONG): component "${'y'.repeat(40)}…" is longer than 128 characters`,
    ]);
    expect(problemsOf({ locations: 'x'.repeat(300) })).toEqual([`locations: "${'x'.repeat(40)}…" is longer than 255 characters`]);
  });

  it('names a chain and a cycle as long as the bundle limit allows instead of overflowing the stack', () => {
    const n = RULE_LIMITS.bundles;
    const chain = Array.from({ length: n }, (_, i) => ({ sku: `L${i}`, components: i === n - 1 ? 'MUG' : `L${i + 1}` }));
    const chainProblems = problemsOf({ bundles: chain });
    expect(chainProblems).toHaveLength(n - RULE_LIMITS.bundleDepth);
    expect(chainProblems[0]).toBe(`bundle L0 nests ${n} levels deep, more than 5`);
    const ring = Array.from({ length: n }, (_, i) => ({ sku: `R${i}`, components: `R${(i + 1) % n}` }));
    const ringProblems = problemsOf({ bundles: ring });
    expect(ringProblems).toHaveLength(1);
    expect(ringProblems[0]).toMatch(/^bundles form a cycle: R0 → R1 → R2 → .* → R19999 → R0$/);
  });

  it('names settings of the wrong shape', () => {
    expect(problemsOf({ channels: { system: 'shopify' } as unknown, bundles: ['GIFTSET'] })).toEqual([
      'channels must be a list',
      'bundles entry 1 is not an object',
    ]);
  });

  it('the rules of the shipped template have no problem', () => {
    const file = path.join(__dirname, '../../examples/Inventory - available-to-sell rules.json');
    const config = (JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>).find((n) => n.type === 'tillwire-inventory')!;
    const { rules, problems } = compileRules(config);
    expect(problems).toEqual([]);
    expect(rules!.channels.map((c) => `${c.system}/${c.account ?? '*'} ${c.allocationPercent}%`)).toEqual([
      'shopify/demo.myshopify.com 100%',
      'amazon/A2TILLWIRESELLER 60%',
      'bol/* 100%',
    ]);
  });

  it('offers no rules while any problem remains', () => {
    const { rules, problems } = compileRules({ locations: 'wh', channels: [channel(), channel({ system: 'amazon', locations: 'nowhere' })] });
    expect(rules).toBeUndefined();
    expect(problems).toHaveLength(1);
  });
});
