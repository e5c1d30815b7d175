/**
 * The fault suite's judge: what the tills and channels sent, against what the ERP ended with.
 *
 * Each sent document is identified by its business key (for a till sale `sale:<store>:<till>:<saleId>`,
 * which Tillwire writes to Odoo's `client_order_ref`). A document re-sent by its sender (a till
 * re-publishing after a lost PUBACK, a webhook retried) is still one document: the ERP must hold
 * exactly one record for it. The checker reports:
 *
 * - lost: sent, but no record in the ERP;
 * - duplicated: sent once, more than one record in the ERP (whatever their state: a cancelled
 *   second copy is still a trace a bookkeeper has to explain);
 * - unexpected: a record in the ERP whose key was never sent;
 * - wrong amount: the ERP's total differs from the sent total (minor units);
 * - wrong state: the record is not in the state the flow should leave it in (Odoo: 'sale').
 *
 * Plain TypeScript, no simulator import: a test turns its ERP's records into `ErpRecord`s.
 */
import { toMinor, fromMinor, currencyExponent } from '../../nodes/model/money';

export interface SentDocument {
  key: string;
  /** Total in minor units of `currency`. */
  amount: number;
  currency: string;
  /** Who sent it ('till', 'shopify', ...), for the summary. */
  source: string;
}

export interface ErpRecord {
  key: string;
  /** The ERP's own name or number of the record (for the summary). */
  name: string;
  /** Total in minor units. */
  amount: number;
  currency: string;
  state: string;
}

export interface CheckOptions {
  /** The state every record should end in; default: not checked. */
  expectedState?: string;
  /** Compare totals (default true). */
  amounts?: boolean;
}

export interface CheckReport {
  sent: number;
  inErp: number;
  lost: SentDocument[];
  duplicated: Array<{ key: string; records: ErpRecord[] }>;
  unexpected: ErpRecord[];
  wrongAmount: Array<{ key: string; sent: number; erp: number; currency: string }>;
  wrongState: ErpRecord[];
  /** Nothing lost, duplicated, unexpected, with a wrong amount or state. */
  ok: boolean;
}

/** Compares; throws if the sent list names one key with two different totals (a broken test, not a finding). */
export function check(sent: readonly SentDocument[], erp: readonly ErpRecord[], opts: CheckOptions = {}): CheckReport {
  const expected = new Map<string, SentDocument>();
  for (const doc of sent) {
    const before = expected.get(doc.key);
    if (before && (before.amount !== doc.amount || before.currency !== doc.currency)) {
      throw new Error(`the sent list holds ${doc.key} twice with different totals (${before.amount} ${before.currency}, ${doc.amount} ${doc.currency})`);
    }
    if (!before) expected.set(doc.key, doc);
  }
  const byKey = new Map<string, ErpRecord[]>();
  for (const r of erp) {
    const list = byKey.get(r.key);
    if (list) list.push(r);
    else byKey.set(r.key, [r]);
  }
  const report: CheckReport = { sent: expected.size, inErp: erp.length, lost: [], duplicated: [], unexpected: [], wrongAmount: [], wrongState: [], ok: true };
  for (const doc of expected.values()) {
    const records = byKey.get(doc.key);
    if (!records) {
      report.lost.push(doc);
      continue;
    }
    if (records.length > 1) report.duplicated.push({ key: doc.key, records });
    const first = records[0];
    if (opts.amounts !== false && (first.amount !== doc.amount || first.currency !== doc.currency)) {
      report.wrongAmount.push({ key: doc.key, sent: doc.amount, erp: first.amount, currency: doc.currency });
    }
    if (opts.expectedState !== undefined) report.wrongState.push(...records.filter((r) => r.state !== opts.expectedState));
  }
  for (const [key, records] of byKey) if (!expected.has(key)) report.unexpected.push(...records);
  report.ok = !report.lost.length && !report.duplicated.length && !report.unexpected.length && !report.wrongAmount.length && !report.wrongState.length;
  return report;
}

const MAX_LISTED = 10;

function listed<T>(items: readonly T[], show: (item: T) => string): string {
  const shown = items.slice(0, MAX_LISTED).map((i) => `    ${show(i)}`);
  if (items.length > MAX_LISTED) shown.push(`    … and ${items.length - MAX_LISTED} more`);
  return shown.join('\n');
}

const money = (amount: number, currency: string) => `${fromMinor(amount, currency)} ${currency}`;

/** A few lines a person can read: the counts, then up to ten examples of each problem. */
export function summarize(r: CheckReport): string {
  const lines = [
    `${r.sent} sent, ${r.inErp} records in the ERP: ${r.lost.length} lost, ${r.duplicated.length} duplicated, ${r.unexpected.length} unexpected, ` +
      `${r.wrongAmount.length} with a wrong amount, ${r.wrongState.length} in a wrong state`,
  ];
  if (r.lost.length)
    lines.push(
      '  lost (sent, not in the ERP):',
      listed(r.lost, (d) => `${d.key} (${d.source}, ${money(d.amount, d.currency)})`),
    );
  if (r.duplicated.length) {
    lines.push(
      '  duplicated (one sale, several ERP records):',
      listed(r.duplicated, (d) => `${d.key}: ${d.records.map((x) => `${x.name} [${x.state}]`).join(', ')}`),
    );
  }
  if (r.unexpected.length)
    lines.push(
      '  unexpected (in the ERP, never sent):',
      listed(r.unexpected, (x) => `${x.name} ref ${x.key} [${x.state}]`),
    );
  if (r.wrongAmount.length)
    lines.push(
      '  wrong amount:',
      listed(r.wrongAmount, (w) => `${w.key}: sent ${money(w.sent, w.currency)}, ERP ${money(w.erp, w.currency)}`),
    );
  if (r.wrongState.length)
    lines.push(
      '  wrong state:',
      listed(r.wrongState, (x) => `${x.name} ref ${x.key} is '${x.state}'`),
    );
  return lines.join('\n');
}

/** An ERP total given as a float in major units (Odoo's amount_total), in minor units, without float arithmetic on the result. */
export function minorFromFloat(value: number, currency: string): number {
  return toMinor(value.toFixed(currencyExponent(currency)), currency);
}
