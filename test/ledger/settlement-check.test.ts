/**
 * The settlement check without Node-RED: what a held settlement keeps for its replay (its lines up
 * to a limit), what a release may accept, and the report's figures beyond the exact number range.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { SettlementRegister } from '../../nodes/ledger/settlement-register';
import { acceptVariance, checkSettlement, reportOf, settlementInputOf } from '../../nodes/ledger/settlement-check';
import { makeSettlement, type SettlementSpec } from './settlements';

let store: Store;
let register: SettlementRegister;
beforeEach(async () => {
  store = createStore({ backend: 'memory' }, '', { heartbeatMs: 0 });
  await store.open();
  register = new SettlementRegister(store);
});
afterEach(() => store.close());

const SPEC: SettlementSpec = {
  lines: [
    ['principal', 5_000],
    ['fee', -700, { category: 'commission' }],
    ['fee', -300, { category: 'fba' }],
  ],
};
const check = (spec: SettlementSpec, keepLines?: number) => checkSettlement(settlementInputOf(makeSettlement(spec)), { register, keepLines });

describe('settlement check', () => {
  it('keeps a held settlement with its lines for the replay, and only its key beyond the limit', async () => {
    const small = await check({ ...SPEC, statedTotal: 3_700 });
    expect(small.outcome).toBe('held');
    expect(small.kept).toMatchObject({ kind: 'settlement', netTotal: { amount: 4_000 }, statedTotal: { amount: 3_700 } });
    expect(small.kept!.lines).toHaveLength(3);
    // The kept settlement is a valid canonical one: its recheck gives the same variance.
    const again = await checkSettlement(settlementInputOf(small.kept), { register });
    expect(again.settlement.reconciliation.variance).toBe(300n);
    expect(again.blocking[0].message).toMatch(/usually explained by fee\/fba \(-3\.00 EUR, opposite\)/);

    const large = await check({ ...SPEC, statedTotal: 3_700 }, 2);
    expect(large.outcome).toBe('held');
    expect(large.kept).toBeUndefined();
  });

  it('a release accepts a total variance (the payout is what the channel stated) but not an open settlement', async () => {
    const held = await check({ ...SPEC, statedTotal: 3_700 });
    const accepted = acceptVariance(held.settlement.reconciliation);
    expect(accepted).toMatchObject({ postable: true, payout: { kind: 'deposit', amount: 3_700n }, variance: 300n });
    expect(accepted.notes.at(-1)).toMatch(/^released to suspense: the lines add up to 40\.00 EUR/);

    const open = await check({ ...SPEC, status: 'open' });
    expect(open.outcome).toBe('held');
    expect(() => acceptVariance(open.settlement.reconciliation)).toThrow(/cannot be released: the settlement is still open/);
  });

  it('the report writes figures beyond 2^53 as decimal text and smaller ones as numbers', async () => {
    const held = await check({ ...SPEC, statedTotal: 3_700 });
    held.settlement.reconciliation.linesTotal = 2n ** 60n;
    const report = reportOf(held);
    expect(report).toMatchObject({ linesTotal: (2n ** 60n).toString(), statedTotal: 3_700, variance: 300, outcome: 'held', varianceText: '3.00 EUR' });
  });
});
