/**
 * Admin routes of summarised posting (docs/summarised-posting.md), on Node-RED's admin app behind
 * adminAuth (permission `tillwire-summaries.read`, which a `read` login has):
 *
 *   GET /tillwire/summaries?storeId=&businessDate=&erp=&store=&limit=   → { summaries }
 *   GET /tillwire/summaries/sale?key=&erp=&store=                       → { sale, summary }
 *
 * The first lists a store's summaries (of a business date, of one ERP); the second says which
 * summary carried a sale, by the sale's business key. Both only read.
 */
import type { NodeRED } from './node-red';
import { HttpError, resolveStore, respond } from './admin-api';

const registered = new WeakSet<object>();
const ERPS = new Set(['odoo', 'business-central']);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ID = 200;

/** YYYY-MM-DD naming a real day (Date.parse takes 2026-02-31 as 3 March; the round trip does not). */
const isCalendarDate = (v: string) => {
  if (!DATE.test(v)) return false;
  const ms = Date.parse(`${v}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === v;
};

function text(query: Record<string, string | undefined>, name: string, required: boolean): string | undefined {
  const v = query[name];
  if (v === undefined || v === '') {
    if (required) throw new HttpError(400, `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new HttpError(400, `${name} must be given once, as text`);
  if (v.length > MAX_ID) throw new HttpError(400, `${name} is longer than ${MAX_ID} characters`);
  return v;
}

function erpOf(query: Record<string, string | undefined>): string | undefined {
  const erp = text(query, 'erp', false);
  if (erp !== undefined && !ERPS.has(erp)) throw new HttpError(400, `erp must be one of ${[...ERPS].join(', ')}`);
  return erp;
}

export function registerSummaryRoutes(RED: NodeRED): void {
  if (!RED.httpAdmin || registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission('tillwire-summaries.read');

  RED.httpAdmin.get(
    '/tillwire/summaries',
    read,
    respond(async (req) => {
      const storeId = text(req.query, 'storeId', true)!;
      const businessDate = text(req.query, 'businessDate', false);
      if (businessDate !== undefined && !isCalendarDate(businessDate)) throw new HttpError(400, 'businessDate must be a date, YYYY-MM-DD');
      const erp = erpOf(req.query);
      let limit = 1000;
      if (req.query.limit !== undefined) {
        limit = Number(req.query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new HttpError(400, 'limit must be a whole number from 1 to 10000');
      }
      const store = await resolveStore(RED, text(req.query, 'store', false));
      return { summaries: await store.summaries.list({ storeId, ...(businessDate ? { businessDate } : {}), ...(erp ? { scope: erp } : {}), limit }) };
    }),
  );

  RED.httpAdmin.get(
    '/tillwire/summaries/sale',
    read,
    respond(async (req) => {
      const key = text(req.query, 'key', true)!;
      const erp = erpOf(req.query);
      const store = await resolveStore(RED, text(req.query, 'store', false));
      for (const scope of erp ? [erp] : [...ERPS]) {
        const sale = await store.summaries.saleAssignment(scope, key);
        if (!sale) continue;
        const { document: _document, ...rest } = sale;
        return { sale: { ...rest, erp: scope }, summary: await store.summaries.get(scope, sale.summaryKey) };
      }
      throw new HttpError(404, `no summary carries ${key}`);
    }),
  );
}
