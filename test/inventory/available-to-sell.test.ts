/**
 * The available-to-sell rules and formula, each rule with figures worked out by hand, the
 * explanation a person reads, the canonical document checked against its schema, and the
 * properties that must hold for any positions and rules (fast-check).
 */
import fc from 'fast-check';
import { compileRules, type ChannelRule, type InventoryRules, type InventoryRulesConfig } from '../../nodes/inventory/rules';
import { allocate, AtsEngine, describeAts, PositionIndex } from '../../nodes/inventory/available-to-sell';
import type { InventoryPosition } from '../../nodes/inventory/position';
import { validateDocument } from '../../nodes/model/validate';

function rules(config: InventoryRulesConfig): InventoryRules {
  const { rules, problems } = compileRules(config);
  expect(problems).toEqual([]);
  return rules!;
}

function pos(sku: string, locationId: string, onHand: number, more: Partial<InventoryPosition> = {}): InventoryPosition {
  return { sku, locationId, onHand, reserved: 0, inTransit: 0, safetyStock: 0, states: {}, ...more };
}

const channelRow = (over: Record<string, unknown> = {}) => ({ system: 'shopify', locations: 'wh', ...over });

/** The figure one channel (the first) is offered of `sku`. */
function ats(over: Record<string, unknown>, positions: InventoryPosition[], sku = 'MUG', bundles: unknown[] = []): number {
  const r = rules({ locations: 'wh, shop', channels: [channelRow(over)], bundles });
  return new AtsEngine(r, new PositionIndex(positions)).figure(r.channels[0], sku);
}

describe('the formula, rule by rule', () => {
  const mug = pos('MUG', 'wh', 20, { reserved: 3, safetyStock: 2, inTransit: 10, states: { damaged: 1, quality_control: 4 } });

  it('sellable = on hand − reserved − safety stock; states count only when the channel names them unsellable', () => {
    expect(ats({}, [mug])).toBe(15); // 20 − 3 − 2
    expect(ats({ unsellableStates: 'damaged' }, [mug])).toBe(14); // − 1 damaged
    expect(ats({ unsellableStates: 'damaged, quality_control' }, [mug])).toBe(10); // − 1 − 4
  });

  it('in transit counts only when the channel says so (default: not)', () => {
    expect(ats({}, [mug])).toBe(15);
    expect(ats({ countInTransit: true }, [mug])).toBe(25); // 15 + 10 on their way
  });

  it('safety stock and unsellable states hold back only what a location has', () => {
    // the store keeps a safety stock of 5 but has none of the SKU: the warehouse's 3 are all sellable
    expect(ats({ locations: 'wh, shop' }, [pos('MUG', 'wh', 3), pos('MUG', 'shop', 0, { safetyStock: 5 })])).toBe(3);
    // 4 on hand, safety 3, damaged 5: 1 is left after the safety stock, the damaged hold takes that 1
    expect(ats({ unsellableStates: 'damaged' }, [pos('MUG', 'wh', 4, { safetyStock: 3, states: { damaged: 5 } })])).toBe(0);
  });

  it('a deficit (reserved beyond stock, negative on hand) is filled from the other locations', () => {
    const oversold = pos('MUG', 'wh', 2, { reserved: 5 }); // 3 orders the warehouse cannot fill
    const shop = pos('MUG', 'shop', 4);
    expect(ats({ locations: 'wh, shop' }, [oversold, shop])).toBe(1); // 4 − 3
    expect(ats({ locations: 'wh, shop' }, [pos('MUG', 'wh', -7), shop])).toBe(0); // sold ahead of receipt; never below 0
    // a deficit at a location the channel does not sell from is not its concern
    expect(ats({ locations: 'shop' }, [oversold, shop])).toBe(4);
  });

  it('sums only the locations the channel sells from; a location without a position counts 0', () => {
    const stock = [pos('MUG', 'wh', 6), pos('MUG', 'shop', 5)];
    expect(ats({ locations: 'wh' }, stock)).toBe(6);
    expect(ats({ locations: 'shop' }, stock)).toBe(5);
    expect(ats({ locations: 'wh, shop' }, stock)).toBe(11);
    expect(ats({ locations: 'wh, shop' }, [pos('MUG', 'wh', 6)])).toBe(6);
    expect(ats({}, stock, 'UNKNOWN-SKU')).toBe(0);
  });

  it('allocation takes a whole percent and rounds down', () => {
    const seven = [pos('MUG', 'wh', 7)];
    expect(ats({ allocationPercent: 50 }, seven)).toBe(3); // 3.5 → 3
    expect(ats({ allocationPercent: 33 }, [pos('MUG', 'wh', 100)])).toBe(33);
    expect(ats({ allocationPercent: 99 }, [pos('MUG', 'wh', 1)])).toBe(0); // 0.99 → 0
    expect(ats({ allocationPercent: 0 }, seven)).toBe(0);
    expect(ats({ allocationPercent: 100 }, seven)).toBe(7);
  });

  it('buffer is taken off after the allocation, never below 0', () => {
    expect(ats({ allocationPercent: 50, buffer: 2 }, [pos('MUG', 'wh', 10)])).toBe(3); // 5 − 2
    expect(ats({ buffer: 12 }, [pos('MUG', 'wh', 10)])).toBe(0);
  });

  it('maximum listed caps the figure; empty means no cap', () => {
    expect(ats({ maxListed: 10 }, [pos('MUG', 'wh', 500)])).toBe(10);
    expect(ats({ maxListed: '' }, [pos('MUG', 'wh', 500)])).toBe(500);
    expect(ats({ maxListed: 0 }, [pos('MUG', 'wh', 500)])).toBe(0);
  });

  it('below the threshold the channel is sent 0; at the threshold the figure itself', () => {
    expect(ats({ zeroBelow: 3 }, [pos('MUG', 'wh', 2)])).toBe(0);
    expect(ats({ zeroBelow: 3 }, [pos('MUG', 'wh', 3)])).toBe(3);
  });

  it('applies the steps in order: sellable, allocation, buffer, maximum, threshold (the help example)', () => {
    const row = { allocationPercent: 50, buffer: 2, maxListed: 10, unsellableStates: 'damaged' };
    // 20 − 3 − 2 − 1 = 14; 50 % → 7; − 2 → 5; ≤ 10 → 5
    expect(ats(row, [mug])).toBe(5);
    expect(ats({ ...row, zeroBelow: 6 }, [mug])).toBe(0);
    // the cap comes after the buffer: 100 − 2 = 98 → 10 (not 10 − 2)
    expect(ats({ buffer: 2, maxListed: 10 }, [pos('MUG', 'wh', 100)])).toBe(10);
  });

  it('a bundle is the least over its components of ⌊component figure / quantity⌋, then the threshold', () => {
    const stock = [pos('MUG', 'wh', 7), pos('SAUCER', 'wh', 5)];
    const giftset = [{ sku: 'GIFTSET', components: 'MUG*2, SAUCER' }];
    expect(ats({}, stock, 'GIFTSET', giftset)).toBe(3); // min(⌊7/2⌋, ⌊5/1⌋)
    expect(ats({}, [pos('MUG', 'wh', 7), pos('SAUCER', 'wh', 2)], 'GIFTSET', giftset)).toBe(2);
    expect(ats({}, [pos('MUG', 'wh', 7)], 'GIFTSET', giftset)).toBe(0); // no saucers
    // the components' figures are the channel's own: 50 % of 7 mugs is 3, ⌊3/2⌋ = 1
    expect(ats({ allocationPercent: 50 }, stock, 'GIFTSET', giftset)).toBe(1);
    expect(ats({ zeroBelow: 4 }, stock, 'GIFTSET', giftset)).toBe(0); // 3 < 4
    // a bundle's own positions are not stock: kits are made from their components
    expect(ats({}, [...stock, pos('GIFTSET', 'wh', 50)], 'GIFTSET', giftset)).toBe(3);
  });

  it('a bundle may contain another bundle', () => {
    const stock = [pos('MUG', 'wh', 9), pos('SAUCER', 'wh', 9), pos('BOX', 'wh', 2)];
    const bundles = [
      { sku: 'PAIR', components: 'MUG, SAUCER' },
      {
        sku: 'HAMPER',
        components: [
          { sku: 'PAIR', quantity: 4 },
          { sku: 'BOX', quantity: 1 },
        ],
      },
    ];
    expect(ats({}, stock, 'PAIR', bundles)).toBe(9);
    expect(ats({}, stock, 'HAMPER', bundles)).toBe(2); // min(⌊9/4⌋, 2)
  });

  it('allocates exactly beyond 2^53 / 100', () => {
    const big = 2 ** 53 - 1; // 9007199254740991
    expect(allocate(big, 100)).toBe(big);
    expect(allocate(big, 50)).toBe(4503599627370495); // ⌊big / 2⌋
    expect(allocate(199, 50)).toBe(99);
  });
});

describe('the explanation', () => {
  it('lists every location and step with its figure, readable as sentences', () => {
    const r = rules({
      locations: 'wh, shop',
      channels: [
        { system: 'amazon', account: 'A1', locations: 'wh, shop', allocationPercent: 50, buffer: 2, maxListed: 10, zeroBelow: 1, unsellableStates: 'damaged' },
      ],
    });
    const index = new PositionIndex([pos('MUG', 'wh', 20, { reserved: 3, safetyStock: 2, states: { damaged: 1 } })]);
    const e = new AtsEngine(r, index).explain(r.channels[0], 'MUG');
    expect(e.available).toBe(5);
    expect(e.channel).toBe('amazon/A1');
    expect(e.locations).toEqual([
      {
        locationId: 'wh',
        known: true,
        onHand: 20,
        reserved: 3,
        inTransit: 0,
        inTransitCounted: false,
        free: 17,
        safetyStock: 2,
        safetyHeld: 2,
        unsellable: { damaged: 1 },
        net: 14,
      },
      {
        locationId: 'shop',
        known: false,
        onHand: 0,
        reserved: 0,
        inTransit: 0,
        inTransitCounted: false,
        free: 0,
        safetyStock: 0,
        safetyHeld: 0,
        unsellable: {},
        net: 0,
      },
    ]);
    expect(e.steps).toEqual([
      { step: 'sellable', figure: 14 },
      { step: 'allocation', setting: 50, figure: 7 },
      { step: 'buffer', setting: 2, figure: 5 },
      { step: 'maximum', setting: 10, figure: 5 },
      { step: 'threshold', setting: 1, figure: 5 },
    ]);
    expect(describeAts(e)).toEqual([
      'wh: on hand 20 − reserved 3 − safety stock 2 − damaged 1 = 14',
      'shop: no position for MUG, counts 0',
      "sellable over the channel's locations (never below 0): 14",
      '× 50 % allocation, rounded down: 7',
      '− buffer 2: 5',
      'at most 10: 5',
      'below 1 is sent as 0: 5',
      'amazon/A1 is offered 5 of MUG',
    ]);
  });

  it("explains a bundle by its components' figures", () => {
    const r = rules({ locations: 'wh', channels: [channelRow()], bundles: [{ sku: 'GIFTSET', components: 'MUG*2, SAUCER' }] });
    const e = new AtsEngine(r, new PositionIndex([pos('MUG', 'wh', 7), pos('SAUCER', 'wh', 5)])).explain(r.channels[0], 'GIFTSET');
    expect(e).toMatchObject({ bundle: true, locations: [], available: 3 });
    expect(describeAts(e)).toEqual([
      'component MUG: 7 available ÷ 2 per bundle, rounded down: 3',
      'component SAUCER: 5 available ÷ 1 per bundle, rounded down: 5',
      'bundle: the least of its components: 3',
      'no threshold: 3',
      'shopify is offered 3 of GIFTSET',
    ]);
  });
});

describe('the canonical available-to-sell document', () => {
  const r = rules({
    locations: 'wh, shop',
    channels: [channelRow({ account: 'demo.myshopify.com', locations: 'wh, shop' })],
    bundles: [{ sku: 'KIT', components: 'MUG*2' }],
  });
  const engine = new AtsEngine(r, new PositionIndex([pos('MUG', 'wh', 9, { reserved: 1, inTransit: 4, safetyStock: 1 }), pos('MUG', 'shop', 2)]));

  it('carries the figure, the channel, its locations and the pooled basis, and passes the schema', () => {
    const doc = engine.document(r.channels[0], 'MUG', '2026-12-05T01:00:00Z');
    expect(doc).toEqual({
      kind: 'inventory.ats',
      sku: 'MUG',
      channel: { system: 'shopify', account: 'demo.myshopify.com' },
      locationIds: ['wh', 'shop'],
      available: 9, // (9 − 1 − 1) + 2
      computedAt: '2026-12-05T01:00:00Z',
      basis: { onHand: 11, reserved: 1, inTransit: 4, safetyStock: 1 },
    });
    expect(validateDocument('available-to-sell', doc)).toEqual({ valid: true, errors: [] });
  });

  it('a bundle has no basis of its own and passes the schema', () => {
    const doc = engine.document(r.channels[0], 'KIT', '2026-12-05T01:00:00Z');
    expect(doc.available).toBe(4);
    expect(doc.basis).toBeUndefined();
    expect(validateDocument('available-to-sell', doc).errors).toEqual([]);
  });
});

describe('positions that cannot be read', () => {
  it('count nothing at their location, and each is named', () => {
    const index = new PositionIndex([
      pos('MUG', 'wh', 5),
      pos('MUG', 'shop', 2.5),
      pos('CUP', 'wh', 4, { reserved: -1 }),
      pos('PLATE', 'wh', 3, { states: { damaged: 0.5 } }),
      pos('BOWL', 'wh', 1e13),
    ]);
    expect(index.problems).toEqual([
      'position of MUG at shop: on hand must be a whole number of units (got 2.5)',
      'position of CUP at wh: reserved must be a whole number of units, not negative (got -1)',
      'position of PLATE at wh: state damaged must be a whole number of units, not negative (got 0.5)',
      'position of BOWL at wh: on hand must be a whole number of units (got 10000000000000)',
    ]);
    const r = rules({ locations: 'wh, shop', channels: [channelRow({ locations: 'wh, shop' })] });
    const engine = new AtsEngine(r, index);
    expect(engine.figure(r.channels[0], 'MUG')).toBe(5);
    expect(engine.figure(r.channels[0], 'CUP')).toBe(0);
  });

  it('a state named like an object property (constructor, __proto__) is read as a state, not as the prototype', () => {
    const states = JSON.parse('{"__proto__": 2, "damaged": 1}');
    const index = new PositionIndex([pos('MUG', 'wh', 10, { states })]);
    expect(index.problems).toEqual([]);
    const r = rules({ locations: 'wh', channels: [channelRow({ unsellableStates: 'constructor, toString, __proto__, damaged' })] });
    expect(new AtsEngine(r, index).figure(r.channels[0], 'MUG')).toBe(7); // 10 − 2 − 1
  });

  it('an unreadable update withdraws the earlier figure at that location instead of keeping it', () => {
    const index = new PositionIndex([pos('MUG', 'wh', 5)]);
    expect(index.set(pos('MUG', 'wh', NaN))).toMatch(/on hand must be a whole number/);
    const r = rules({ locations: 'wh', channels: [channelRow()] });
    expect(new AtsEngine(r, index).figure(r.channels[0], 'MUG')).toBe(0);
  });
});

describe('properties, for any positions and rules', () => {
  const LOCATIONS = ['a', 'b', 'c'];
  const STATES = ['damaged', 'quality_control', 'committed'];
  const units = fc.integer({ min: 0, max: 1_000_000 });
  const position = (sku: string) =>
    fc.record({
      sku: fc.constant(sku),
      locationId: fc.constantFrom(...LOCATIONS),
      onHand: fc.integer({ min: -1000, max: 1_000_000 }),
      reserved: units,
      inTransit: units,
      safetyStock: fc.integer({ min: 0, max: 1000 }),
      states: fc.dictionary(fc.constantFrom(...STATES), fc.integer({ min: 0, max: 1000 })),
    });
  const channel = fc.record({
    system: fc.constant('shopify'),
    locations: fc.subarray(LOCATIONS, { minLength: 1 }),
    allocationPercent: fc.integer({ min: 0, max: 100 }),
    buffer: fc.integer({ min: 0, max: 1000 }),
    maxListed: fc.option(units, { nil: undefined }),
    zeroBelow: fc.integer({ min: 0, max: 100 }),
    unsellableStates: fc.subarray(STATES),
    countInTransit: fc.boolean(),
  });
  const world = fc.record({
    channel,
    positions: fc.array(fc.oneof(position('MUG'), position('SAUCER')), { maxLength: 8 }),
    mugs: fc.integer({ min: 1, max: 5 }),
    saucers: fc.integer({ min: 1, max: 5 }),
  });

  function setUp(w: { channel: Record<string, unknown>; positions: InventoryPosition[]; mugs: number; saucers: number }) {
    const r = rules({ locations: LOCATIONS, channels: [w.channel], bundles: [{ sku: 'SET', components: `MUG*${w.mugs}, SAUCER*${w.saucers}` }] });
    return { r, c: r.channels[0], engine: new AtsEngine(r, new PositionIndex(w.positions)) };
  }
  /** The pooled sellable units, before allocation, buffer, cap and threshold, worked out here from the positions. */
  function sellableSum(engine: AtsEngine, c: ChannelRule, sku: string): number {
    let sum = 0;
    for (const l of c.locations) {
      const p = engine.positions.at(sku)?.get(l);
      if (!p) continue;
      const free = p.onHand - p.reserved + (c.countInTransit ? p.inTransit : 0);
      const held = Math.min(Math.max(0, free), p.safetyStock + c.unsellableStates.reduce((s, st) => s + (p.states[st] ?? 0), 0));
      sum += free - held;
    }
    return Math.max(0, sum);
  }

  it('is a whole number, never negative and never above the sellable sum', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c, engine } = setUp(w);
        for (const sku of ['MUG', 'SAUCER']) {
          const a = engine.figure(c, sku);
          expect(Number.isInteger(a)).toBe(true);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThanOrEqual(sellableSum(engine, c, sku));
          expect(engine.explain(c, sku).available).toBe(a);
        }
      }),
    );
  });

  it('never falls when on hand rises', () => {
    fc.assert(
      fc.property(world, fc.constantFrom(...LOCATIONS), fc.integer({ min: 1, max: 1000 }), (w, location, more) => {
        const { c, engine } = setUp(w);
        const before = engine.figure(c, 'MUG');
        const at = engine.positions.at('MUG')?.get(location) ?? {
          sku: 'MUG',
          locationId: location,
          onHand: 0,
          reserved: 0,
          inTransit: 0,
          safetyStock: 0,
          states: {},
        };
        engine.positions.set({ ...at, onHand: at.onHand + more });
        expect(engine.figure(c, 'MUG')).toBeGreaterThanOrEqual(before);
      }),
    );
  });

  it('a bundle is never more than any component figure / its quantity', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c, engine } = setUp(w);
        const set = engine.figure(c, 'SET');
        expect(set).toBeLessThanOrEqual(Math.floor(engine.figure(c, 'MUG') / w.mugs));
        expect(set).toBeLessThanOrEqual(Math.floor(engine.figure(c, 'SAUCER') / w.saucers));
        expect(set).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('every document passes the canonical schema', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c, engine } = setUp(w);
        for (const sku of ['MUG', 'SAUCER', 'SET'])
          expect(validateDocument('available-to-sell', engine.document(c, sku, '2026-12-05T01:00:00Z')).errors).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
});
