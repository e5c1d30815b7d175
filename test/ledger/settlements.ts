/** Hand-built settlements for the settlement tests: a line is [type, amount, options]. */
import type { Settlement, SettlementLine } from '../../nodes/model/types.generated';
import { streamOf, type SettlementStream } from '../../nodes/model/settlement-stream';
import { tallySettlement } from '../../nodes/ledger/settlement-tally';
import { reconcileSettlement, type ReconcileOptions } from '../../nodes/ledger/settlement-reconcile';
import type { SettlementAccountMapping } from '../../nodes/ledger/settlement-mapping';

export type LineSpec = [SettlementLine['type'], number, { category?: string; order?: string; postedAt?: string | null }?];

export interface SettlementSpec {
  id?: string;
  currency?: string;
  lines: LineSpec[];
  statedTotal?: number | null;
  status?: Settlement['status'];
  issuedAt?: string;
  depositDate?: string;
  periodStart?: string;
  periodEnd?: string;
}

export function makeSettlement(spec: SettlementSpec): Settlement {
  const currency = spec.currency ?? 'EUR';
  const lines: SettlementLine[] = spec.lines.map(([type, amount, o = {}], i) => ({
    lineId: String(i + 1),
    type,
    ...(o.category ? { category: o.category } : {}),
    amount: { amount, currency },
    ...(o.order ? { orderRef: { id: o.order } } : {}),
    ...(o.postedAt === null ? {} : { postedAt: o.postedAt ?? '2026-03-10T12:00:00Z' }),
  }));
  const net = lines.reduce((s, l) => s + l.amount.amount, 0);
  return {
    kind: 'settlement',
    settlementId: spec.id ?? '11978452301',
    channel: { system: 'amazon', account: 'A3TWDEMOSELLER', id: spec.id ?? '11978452301' },
    periodStart: spec.periodStart ?? '2026-03-01T00:00:00Z',
    periodEnd: spec.periodEnd ?? '2026-03-15T00:00:00Z',
    depositDate: spec.depositDate ?? '2026-03-17',
    currency,
    netTotal: { amount: net, currency },
    ...(spec.statedTotal === null ? {} : { statedTotal: { amount: spec.statedTotal ?? net, currency } }),
    ...(spec.status ? { status: spec.status } : {}),
    ...(spec.issuedAt ? { issuedAt: spec.issuedAt } : {}),
    lines,
  };
}

export function streamSpec(spec: SettlementSpec): SettlementStream {
  return streamOf(makeSettlement(spec));
}

export async function tallyAndReconcile(spec: SettlementSpec, options: ReconcileOptions = {}) {
  const tally = await tallySettlement(streamSpec(spec));
  const rec = await reconcileSettlement(tally, options);
  return { tally, rec };
}

export const MAPPING: SettlementAccountMapping = {
  accounts: {
    principal: '4000',
    tax: '2200',
    shipping: '4010',
    fee: '6100',
    'fee/advertising': '6200',
    promotion: '4090',
    refund: '4050',
    adjustment: '4900',
    other: '4990',
  },
  bankAccount: '1210',
  payableAccount: '2110',
  reserveAccount: '1220',
  carriedForwardAccount: '1230',
  clearingAccount: '1240',
  tracking: { channel: 'amazon', marketplace: 'DE' },
};
