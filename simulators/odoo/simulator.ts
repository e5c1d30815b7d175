/**
 * A faithful Odoo fake for tests, the demo and users trying a flow before touching production
 * (docs/connectors/odoo.md). One HTTP server on 127.0.0.1 speaking:
 *
 * - JSON-RPC `POST /jsonrpc`: `common.version|login|authenticate`, `db.list|server_version`,
 *   `object.execute_kw|execute`; failures as HTTP 200 `{"jsonrpc":"2.0","id":…,"error":{"code":0,
 *   "message":"Odoo Server Error","data":{name,message,arguments,context,debug}}}` (code 100 for an
 *   expired session);
 * - JSON-2 `POST /json/2/<model>/<method>` (version 19 and later only): `Authorization: bearer`,
 *   optional `X-Odoo-Database`, named parameters; failures as 4xx/5xx `{name,message,arguments,
 *   context,debug}`, 401 `werkzeug.exceptions.Unauthorized` "Invalid apikey".
 *
 * A small in-memory ORM behind both: `search`, `search_read`, `search_count`, `read`, `create`,
 * `write`, `unlink`, `fields_get`, `load` (simulators/odoo/load.ts) on every model, domains (prefix `&`/`|`/`!`, dotted paths, the
 * usual operators, `active` filtering), x2many commands, defaults, required fields, per-call
 * transactions (a failing call leaves nothing behind), and the business methods
 * `sale.order.action_confirm|action_cancel|action_draft`, `stock.quant.action_apply_inventory`
 * (inventory mode), `account.move.action_post|button_draft|button_cancel` (unbalanced entries are
 * refused). Field names follow the configured version: sale.order.line `tax_id`/`product_uom` up to
 * 18, `tax_ids`/`product_uom_id` from 19; product `type: 'product'` up to 17, `is_storable` from 18.
 * Stricter than Odoo on purpose: `state` changes only through the business methods.
 *
 * Seeded with the demo catalogue (SKU-0001…) as `product.product` with `default_code`, a walk-in
 * customer, pricelists per currency, taxes and stock quants in WH/Stock.
 *
 * Fault injection (seeded, deterministic for a given arrival order), drawn once per API request:
 * `errorRate` answers 500/502/503/429 before doing anything; `timeoutRate` never answers (or
 * answers 504 after `timeoutDelayMs`) without doing anything; `lostResponseRate` commits the call
 * and then drops the connection, the nastiest realistic case; `slowRate` carries the call out only
 * after `slowDelayMs` (a slow server finishing work the client may have given up on). `only` limits
 * faults to some calls ("sale.order.create").
 *
 * Tests in other processes use `GET /__simulator/state`, `POST /__simulator/faults`,
 * `POST /__simulator/reset` and `POST /__simulator/expire-session`; the demo ships deliveries with
 * `POST /__simulator/ship` `{ order | picking, carrier, trackingRef, doneAt }` (confirming a sales
 * order creates its outgoing transfer WH/OUT/…, as Odoo's stock module does).
 *
 * CLI: `node dist/simulators/odoo/simulator.js --port 18069 [--version 17] [--db tillwire]
 * [--login admin] [--api-key tillwire-demo-key]`.
 */
import { FaultInjector, type FaultRates } from '../kit/faults';
import type { Continuity } from '../kit/continuity';
import { COMMON_FLAGS, FAULT_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoCatalog, DEMO_CATALOG_SIZE } from '../kit/catalog';
import { currencyExponent, fromMinor } from '../../nodes/model/money';
import { SESSION_EXPIRED, SESSION_EXPIRED_CODE } from '../../nodes/odoo/contract';
import { loadRows } from './load';

// ───────────────────────────────────────────── errors ─────────────────────────────────────────────

/** An exception as Odoo serialises it: its Python name, text and the JSON-2 status. */
class OdooFault extends Error {
  constructor(
    readonly exception: string,
    message: string,
    readonly status: number,
    readonly rpcCode = 0,
  ) {
    super(message);
  }
}

const userError = (m: string) => new OdooFault('odoo.exceptions.UserError', m, 422);
const validationError = (m: string) => new OdooFault('odoo.exceptions.ValidationError', m, 422);
const accessError = (m: string) => new OdooFault('odoo.exceptions.AccessError', m, 403);
const accessDenied = () => new OdooFault('odoo.exceptions.AccessDenied', 'Access Denied', 403);
const missingError = (model: string, ids: number[]) =>
  new OdooFault('odoo.exceptions.MissingError', `Record does not exist or has been deleted.\n(Record: ${model}(${ids.join(', ')},), User: 2)`, 404);
const valueError = (m: string) => new OdooFault('builtins.ValueError', m, 500);
const typeError = (m: string) => new OdooFault('builtins.TypeError', m, 500);
const notFound = (m: string) => new OdooFault('werkzeug.exceptions.NotFound', m, 404, 404);

function traceback(f: OdooFault): string {
  return `Traceback (most recent call last):\n  File "odoo/service/model.py", line 1, in retrying\n${f.exception}: ${f.message}\n`;
}

function serialize(f: OdooFault) {
  return { name: f.exception, message: f.message, arguments: [f.message], context: {}, debug: traceback(f) };
}

// ───────────────────────────────────────────── RNG ────────────────────────────────────────────────

// ──────────────────────────────────────────── schema ──────────────────────────────────────────────

type Rec = Record<string, any> & { id: number };
type Ctx = Record<string, any>;
type FieldType = 'char' | 'text' | 'integer' | 'float' | 'boolean' | 'selection' | 'date' | 'datetime' | 'many2one' | 'one2many' | 'many2many';

interface Field {
  type: FieldType;
  string: string;
  relation?: string;
  /** one2many: the many2one on the comodel pointing back. */
  inverse?: string;
  required?: boolean;
  readonly?: boolean;
  selection?: string[];
  /** Not stored: computed on read (and for search and order). */
  compute?: (db: Database, rec: Rec) => unknown;
  default?: (db: Database, rec: Rec, ctx: Ctx) => unknown;
  /** Digits a float is rounded to when written (Odoo's decimal precision). */
  digits?: number;
}

interface Method {
  /** Named parameters in positional order (after the recordset for record methods). */
  params: string[];
  required?: string[];
  records: boolean;
  run: (db: Database, ids: number[], kw: Record<string, any>, ctx: Ctx) => unknown;
}

interface Model {
  name: string;
  description: string;
  order: string;
  fields: Record<string, Field>;
  recName: (db: Database, rec: Rec) => string;
  methods?: Record<string, Method>;
  /** Replaces the generic create (returns the id). */
  create?: (db: Database, vals: Record<string, any>, ctx: Ctx) => number;
  beforeCreate?: (db: Database, rec: Rec, vals: Record<string, any>, ctx: Ctx) => void;
  beforeWrite?: (db: Database, ids: number[], vals: Record<string, any>, ctx: Ctx) => void;
  afterWrite?: (db: Database, ids: number[], vals: Record<string, any>, ctx: Ctx) => void;
  beforeUnlink?: (db: Database, ids: number[]) => void;
}

const f = {
  char: (string: string, x: Partial<Field> = {}): Field => ({ type: 'char', string, ...x }),
  text: (string: string, x: Partial<Field> = {}): Field => ({ type: 'text', string, ...x }),
  int: (string: string, x: Partial<Field> = {}): Field => ({ type: 'integer', string, ...x }),
  float: (string: string, x: Partial<Field> = {}): Field => ({ type: 'float', string, ...x }),
  bool: (string: string, x: Partial<Field> = {}): Field => ({ type: 'boolean', string, ...x }),
  sel: (string: string, selection: string[], x: Partial<Field> = {}): Field => ({ type: 'selection', string, selection, ...x }),
  date: (string: string, x: Partial<Field> = {}): Field => ({ type: 'date', string, ...x }),
  datetime: (string: string, x: Partial<Field> = {}): Field => ({ type: 'datetime', string, ...x }),
  m2o: (relation: string, string: string, x: Partial<Field> = {}): Field => ({ type: 'many2one', relation, string, ...x }),
  o2m: (relation: string, inverse: string, string: string, x: Partial<Field> = {}): Field => ({ type: 'one2many', relation, inverse, string, ...x }),
  m2m: (relation: string, string: string, x: Partial<Field> = {}): Field => ({ type: 'many2many', relation, string, ...x }),
};

const nowText = () => new Date().toISOString().replace('T', ' ').slice(0, 19);
const todayText = () => new Date().toISOString().slice(0, 10);

/**
 * Sets a field the business logic changes (a quant's quantity, a move's state) and stamps the
 * record's `write_date`, as Odoo's ORM does on every write (a stock read of changes relies on it).
 */
function setWritten(db: Database, model: string, id: number, field: string, value: unknown): void {
  db.set(model, id, field, value);
  db.set(model, id, 'write_date', db.stampText());
}

/** Half-up rounding to `digits` decimals with Odoo's relative epsilon against float noise. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  const n = value * factor;
  const magnitude = Math.abs(n);
  const rounded = Math.floor(magnitude + 0.5 + magnitude * Number.EPSILON * 4);
  return (Math.sign(n) * rounded) / factor || 0;
}

/**
 * What confirming a sales order does in the warehouse: one outgoing transfer (WH/OUT/00001) with a
 * move per line of a physical product sold (services and returned items, negative, ship nothing).
 */
function createDelivery(db: Database, order: Rec): void {
  const customers = db.all('stock.location').find((l) => l.usage === 'customer');
  const lines = db.children('sale.order.line', 'order_id', order.id).filter((l) => {
    const product = db.get('product.product', l.product_id);
    return !l.display_type && product && product.type !== 'service' && (l.product_uom_qty ?? 0) > 0;
  });
  if (!lines.length) return;
  const n = db.nextNumber('stock.picking:WH/OUT');
  const picking = db.createGeneric(
    'stock.picking',
    {
      name: `WH/OUT/${String(n).padStart(5, '0')}`,
      origin: order.name,
      picking_type_code: 'outgoing',
      state: 'assigned',
      partner_id: order.partner_id,
      sale_id: order.id,
      location_id: SEED.stockLocationId,
      location_dest_id: customers?.id ?? false,
    },
    {},
    true,
  );
  for (const l of lines) {
    db.createGeneric(
      'stock.move',
      {
        name: db.displayName('product.product', l.product_id),
        reference: db.get('stock.picking', picking)!.name,
        product_id: l.product_id,
        product_uom_qty: l.product_uom_qty,
        location_id: SEED.stockLocationId,
        location_dest_id: customers?.id ?? SEED.stockLocationId,
        state: 'assigned',
        picking_id: picking,
        sale_line_id: l.id,
      },
      {},
      true,
    );
  }
}

/** Validates an outgoing transfer: its moves done, stock taken out of WH/Stock, `date_done` stamped. */
function validatePicking(db: Database, id: number, doneAt: string): void {
  const p = db.get('stock.picking', id)!;
  if (p.state === 'done') throw userError(`The transfer ${p.name} is already done.`);
  if (p.state === 'cancel' || p.state === 'draft') throw userError(`You cannot validate a transfer that is ${p.state === 'cancel' ? 'cancelled' : 'a draft'}.`);
  for (const m of db.children('stock.move', 'picking_id', id)) {
    if (m.state === 'cancel') continue;
    const qty = m.quantity || m.product_uom_qty || 0;
    db.set('stock.move', m.id, 'quantity', qty);
    setWritten(db, 'stock.move', m.id, 'state', 'done');
    const quant = db.all('stock.quant').find((q) => q.product_id === m.product_id && q.location_id === m.location_id);
    if (quant) setWritten(db, 'stock.quant', quant.id, 'quantity', (quant.quantity ?? 0) - qty);
  }
  db.set('stock.picking', id, 'state', 'done');
  db.set('stock.picking', id, 'date_done', doneAt);
}

function buildModels(version: number, priceDigits: number): Record<string, Model> {
  const uomField = version >= 19 ? 'product_uom_id' : 'product_uom';
  const taxField = version >= 19 ? 'tax_ids' : 'tax_id';
  const byName = (_db: Database, rec: Rec) => String(rec.name ?? '');
  const currencyOf = (db: Database, order: Rec | undefined): Rec | undefined => {
    if (!order) return undefined;
    const pricelist = order.pricelist_id ? db.get('product.pricelist', order.pricelist_id) : undefined;
    const company = db.get('res.company', order.company_id || 1);
    return db.get('res.currency', pricelist?.currency_id || company?.currency_id);
  };
  /** Odoo's line amounts: price × (1 − discount) × quantity, taxes included or on top, rounded to the currency. */
  const lineAmounts = (db: Database, priceUnit: number, discount: number, qty: number, taxIds: number[], digits: number) => {
    const price = priceUnit * (1 - discount / 100);
    const raw = price * qty;
    const taxes = taxIds.map((id) => db.get('account.tax', id)).filter(Boolean) as Rec[];
    const included = taxes.filter((t) => t.price_include);
    const excluded = taxes.filter((t) => !t.price_include);
    let base: number;
    let tax = 0;
    if (included.length) {
      const gross = roundTo(raw, digits);
      base = roundTo(gross / (1 + included.reduce((s, t) => s + t.amount, 0) / 100), digits);
      tax = roundTo(gross - base, digits);
    } else base = roundTo(raw, digits);
    for (const t of excluded) tax = roundTo(tax + roundTo((base * t.amount) / 100, digits), digits);
    return { subtotal: base, tax, total: roundTo(base + tax, digits) };
  };
  const saleLineAmounts = (db: Database, line: Rec) => {
    const order = db.get('sale.order', line.order_id);
    const digits = currencyOf(db, order)?.decimal_places ?? 2;
    if (line.display_type) return { subtotal: 0, tax: 0, total: 0 };
    return lineAmounts(db, line.price_unit ?? 0, line.discount ?? 0, line.product_uom_qty ?? 0, (line[taxField] ?? []) as number[], digits);
  };
  const isInvoice = (move: Rec | undefined) => !!move && move.move_type !== 'entry';
  const moveDigits = (db: Database, move: Rec | undefined) => db.get('res.currency', move?.currency_id)?.decimal_places ?? 2;
  const invoiceLineAmounts = (db: Database, line: Rec) => {
    const move = db.get('account.move', line.move_id);
    if (!isInvoice(move) || (line.display_type && line.display_type !== 'product')) return { subtotal: 0, tax: 0, total: 0 };
    return lineAmounts(db, line.price_unit ?? 0, line.discount ?? 0, line.quantity ?? 0, (line.tax_ids ?? []) as number[], moveDigits(db, move));
  };
  const moveAmounts = (db: Database, move: Rec) => {
    const digits = moveDigits(db, move);
    const lines = db.children('account.move.line', 'move_id', move.id);
    if (!isInvoice(move)) {
      const total = roundTo(
        lines.reduce((s, l) => s + (l.debit ?? 0), 0),
        digits,
      );
      return { untaxed: total, tax: 0, total };
    }
    const amounts = lines.map((l) => invoiceLineAmounts(db, l));
    const sum = (k: 'subtotal' | 'tax' | 'total') =>
      roundTo(
        amounts.reduce((s, l) => s + l[k], 0),
        digits,
      );
    return { untaxed: sum('subtotal'), tax: sum('tax'), total: sum('total') };
  };
  const orderAmounts = (db: Database, order: Rec) => {
    const digits = currencyOf(db, order)?.decimal_places ?? 2;
    const lines = db.children('sale.order.line', 'order_id', order.id).map((l) => saleLineAmounts(db, l));
    const sum = (k: 'subtotal' | 'tax' | 'total') =>
      roundTo(
        lines.reduce((s, l) => s + l[k], 0),
        digits,
      );
    return { untaxed: sum('subtotal'), tax: sum('tax'), total: sum('total') };
  };
  const internalQty = (db: Database, productId: number) =>
    db
      .all('stock.quant')
      .filter((q) => q.product_id === productId && db.get('stock.location', q.location_id)?.usage === 'internal')
      .reduce((s, q) => s + q.quantity, 0);

  const models: Model[] = [
    {
      name: 'res.currency',
      description: 'Currency',
      order: 'name',
      recName: byName,
      fields: {
        name: f.char('Currency', { required: true }),
        symbol: f.char('Symbol'),
        decimal_places: f.int('Decimal Places'),
        rounding: f.float('Rounding Factor'),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'res.company',
      description: 'Companies',
      order: 'id',
      recName: byName,
      fields: {
        name: f.char('Company Name', { required: true }),
        currency_id: f.m2o('res.currency', 'Currency', { required: true }),
        partner_id: f.m2o('res.partner', 'Partner'),
      },
    },
    {
      name: 'res.partner',
      description: 'Contact',
      order: 'name, id',
      recName: byName,
      fields: {
        name: f.char('Name', { required: true }),
        email: f.char('Email'),
        phone: f.char('Phone'),
        ref: f.char('Reference'),
        is_company: f.bool('Is a Company'),
        active: f.bool('Active', { default: () => true }),
        company_id: f.m2o('res.company', 'Company'),
      },
    },
    {
      name: 'res.users',
      description: 'User',
      order: 'login',
      recName: byName,
      fields: {
        name: f.char('Name', { required: true }),
        login: f.char('Login', { required: true }),
        partner_id: f.m2o('res.partner', 'Related Partner'),
        company_id: f.m2o('res.company', 'Company', { default: () => 1 }),
        active: f.bool('Active', { default: () => true }),
        // The zone `load` reads datetime cells in when the context names none (load.ts).
        tz: f.char('Timezone'),
      },
    },
    {
      name: 'uom.uom',
      description: 'Product Unit of Measure',
      order: 'name',
      recName: byName,
      fields: { name: f.char('Unit', { required: true }), active: f.bool('Active', { default: () => true }) },
    },
    {
      name: 'account.tax',
      description: 'Tax',
      order: 'sequence, id',
      recName: byName,
      fields: {
        name: f.char('Tax Name', { required: true }),
        sequence: f.int('Sequence', { default: () => 1 }),
        amount: f.float('Amount'),
        amount_type: f.sel('Tax Computation', ['percent', 'fixed', 'division', 'group'], { default: () => 'percent' }),
        price_include: f.bool('Included in Price'),
        type_tax_use: f.sel('Tax Type', ['sale', 'purchase', 'none'], { default: () => 'sale' }),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'product.pricelist',
      description: 'Pricelist',
      order: 'sequence, id',
      recName: (db, r) => `${r.name} (${db.get('res.currency', r.currency_id)?.name ?? ''})`,
      fields: {
        name: f.char('Pricelist Name', { required: true }),
        sequence: f.int('Sequence', { default: () => 16 }),
        currency_id: f.m2o('res.currency', 'Currency', { required: true }),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'product.product',
      description: 'Product Variant',
      order: 'default_code, name, id',
      recName: (_db, r) => (r.default_code ? `[${r.default_code}] ${r.name}` : String(r.name)),
      fields: {
        name: f.char('Name', { required: true }),
        default_code: f.char('Internal Reference'),
        barcode: f.char('Barcode'),
        list_price: f.float('Sales Price', { default: () => 1 }),
        uom_id: f.m2o('uom.uom', 'Unit', { required: true, default: () => 1 }),
        taxes_id: f.m2m('account.tax', 'Sales Taxes'),
        type: f.sel('Product Type', version >= 18 ? ['consu', 'service', 'combo'] : ['consu', 'service', 'product'], { default: () => 'consu' }),
        ...(version >= 18 ? { is_storable: f.bool('Track Inventory') } : {}),
        active: f.bool('Active', { default: () => true }),
        qty_available: f.float('Quantity On Hand', { readonly: true, compute: (db, r) => internalQty(db, r.id) }),
      },
    },
    {
      name: 'sale.order',
      description: 'Sales Order',
      order: 'date_order desc, id desc',
      recName: byName,
      fields: {
        name: f.char('Order Reference', { required: true, readonly: true, default: (db) => `S${String(db.nextNumber('sale.order')).padStart(5, '0')}` }),
        partner_id: f.m2o('res.partner', 'Customer', { required: true }),
        state: f.sel('Status', ['draft', 'sent', 'sale', 'cancel'], { readonly: true, default: () => 'draft' }),
        client_order_ref: f.char('Customer Reference'),
        origin: f.char('Source Document'),
        date_order: f.datetime('Order Date', { required: true, default: () => nowText() }),
        pricelist_id: f.m2o('product.pricelist', 'Pricelist'),
        company_id: f.m2o('res.company', 'Company', { required: true, default: () => 1 }),
        user_id: f.m2o('res.users', 'Salesperson', { default: () => 2 }),
        note: f.text('Terms and conditions'),
        currency_id: f.m2o('res.currency', 'Currency', { readonly: true, compute: (db, r) => currencyOf(db, r)?.id ?? false }),
        order_line: f.o2m('sale.order.line', 'order_id', 'Order Lines'),
        picking_ids: f.o2m('stock.picking', 'sale_id', 'Transfers'),
        amount_untaxed: f.float('Untaxed Amount', { readonly: true, compute: (db, r) => orderAmounts(db, r).untaxed }),
        amount_tax: f.float('Taxes', { readonly: true, compute: (db, r) => orderAmounts(db, r).tax }),
        amount_total: f.float('Total', { readonly: true, compute: (db, r) => orderAmounts(db, r).total }),
      },
      beforeCreate: (_db, rec) => {
        if (rec.state !== 'draft') throw userError('A sales order is created as a quotation (draft); confirm it with action_confirm.');
      },
      beforeWrite: (_db, _ids, vals) => {
        if ('state' in vals) throw userError('The status of a sales order changes through action_confirm, action_cancel and action_draft.');
      },
      beforeUnlink: (db, ids) => {
        if (ids.some((id) => !['draft', 'cancel'].includes(db.get('sale.order', id)!.state))) {
          throw userError('You can not delete a sent quotation or a confirmed sales order. You must first cancel it.');
        }
      },
      methods: {
        action_confirm: {
          params: [],
          records: true,
          run: (db, ids) => {
            const orders = ids.map((id) => db.get('sale.order', id)!);
            const wrong = orders.filter((o) => !['draft', 'sent'].includes(o.state));
            if (wrong.length) {
              throw userError(
                `It is not allowed to confirm an order in the following states: ${[...new Set(wrong.map((o) => stateLabel(o.state)))].join(', ')}`,
              );
            }
            for (const o of orders) {
              const lines = db.children('sale.order.line', 'order_id', o.id);
              if (lines.some((l) => !l.display_type && !l.product_id)) throw userError('A line on these orders missing a product, you cannot confirm it.');
              db.set('sale.order', o.id, 'state', 'sale');
              // Odoo stamps the confirmation time into date_order.
              db.set('sale.order', o.id, 'date_order', nowText());
              createDelivery(db, o);
            }
            return true;
          },
        },
        action_cancel: {
          params: [],
          records: true,
          run: (db, ids, _kw, ctx) => {
            const orders = ids.map((id) => db.get('sale.order', id)!);
            if (orders.some((o) => !['draft', 'cancel'].includes(o.state)) && !ctx.disable_cancel_warning) {
              // Odoo asks through a wizard before cancelling a confirmed order (unless told not to).
              return {
                type: 'ir.actions.act_window',
                name: 'Cancel Sales Order',
                res_model: 'sale.order.cancel',
                view_mode: 'form',
                target: 'new',
                context: { default_order_id: ids[0] },
              };
            }
            for (const o of orders) {
              db.set('sale.order', o.id, 'state', 'cancel');
              // Deliveries not yet done are cancelled with the order.
              for (const p of db.children('stock.picking', 'sale_id', o.id)) {
                if (p.state === 'done' || p.state === 'cancel') continue;
                db.set('stock.picking', p.id, 'state', 'cancel');
                for (const m of db.children('stock.move', 'picking_id', p.id)) db.set('stock.move', m.id, 'state', 'cancel');
              }
            }
            return true;
          },
        },
        action_draft: {
          params: [],
          records: true,
          run: (db, ids) => {
            const orders = ids.map((id) => db.get('sale.order', id)!);
            if (orders.some((o) => !['cancel', 'sent'].includes(o.state))) throw userError('Only cancelled or sent quotations can be set back to quotation.');
            for (const o of orders) db.set('sale.order', o.id, 'state', 'draft');
            return true;
          },
        },
      },
    },
    {
      name: 'sale.order.line',
      description: 'Sales Order Line',
      order: 'order_id, sequence, id',
      recName: (db, r) => `${db.get('sale.order', r.order_id)?.name ?? ''} - ${String(r.name ?? '').split('\n')[0]}`,
      fields: {
        order_id: f.m2o('sale.order', 'Order Reference', { required: true }),
        sequence: f.int('Sequence', { default: () => 10 }),
        display_type: f.sel('Display Type', ['line_section', 'line_note']),
        product_id: f.m2o('product.product', 'Product'),
        name: f.text('Description', {
          required: true,
          default: (db, r) => (r.product_id ? db.displayName('product.product', r.product_id) : false),
        }),
        product_uom_qty: f.float('Quantity', { default: () => 1 }),
        [uomField]: f.m2o('uom.uom', 'Unit', { default: (db, r) => (r.product_id ? (db.get('product.product', r.product_id)?.uom_id ?? false) : false) }),
        price_unit: f.float('Unit Price', {
          digits: priceDigits,
          default: (db, r) => (r.product_id ? (db.get('product.product', r.product_id)?.list_price ?? 0) : 0),
        }),
        discount: f.float('Discount (%)', { digits: 2, default: () => 0 }),
        [taxField]: f.m2m('account.tax', 'Taxes', { default: (db, r) => (r.product_id ? [...(db.get('product.product', r.product_id)?.taxes_id ?? [])] : []) }),
        price_subtotal: f.float('Subtotal', { readonly: true, compute: (db, r) => saleLineAmounts(db, r).subtotal }),
        price_tax: f.float('Total Tax', { readonly: true, compute: (db, r) => saleLineAmounts(db, r).tax }),
        price_total: f.float('Total', { readonly: true, compute: (db, r) => saleLineAmounts(db, r).total }),
        currency_id: f.m2o('res.currency', 'Currency', { readonly: true, compute: (db, r) => currencyOf(db, db.get('sale.order', r.order_id))?.id ?? false }),
        state: f.sel('Order Status', ['draft', 'sent', 'sale', 'cancel'], {
          readonly: true,
          compute: (db, r) => db.get('sale.order', r.order_id)?.state ?? false,
        }),
        qty_delivered: f.float('Delivery Quantity'),
        qty_invoiced: f.float('Invoiced Quantity', { readonly: true }),
      },
      beforeCreate: (_db, rec) => {
        if (!rec.display_type && (!rec.product_id || !rec[uomField])) {
          throw validationError('Missing required fields on accountable sale order line.');
        }
      },
    },
    {
      name: 'stock.location',
      description: 'Inventory Locations',
      order: 'complete_name, id',
      recName: (_db, r) => String(r.complete_name ?? r.name),
      fields: {
        name: f.char('Location Name', { required: true }),
        complete_name: f.char('Full Location Name'),
        location_id: f.m2o('stock.location', 'Parent Location'),
        usage: f.sel('Location Type', ['supplier', 'view', 'internal', 'customer', 'inventory', 'production', 'transit'], {
          required: true,
          default: () => 'internal',
        }),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'stock.warehouse',
      description: 'Warehouse',
      order: 'sequence, id',
      recName: byName,
      fields: {
        name: f.char('Warehouse', { required: true }),
        code: f.char('Short Name', { required: true }),
        sequence: f.int('Sequence', { default: () => 10 }),
        lot_stock_id: f.m2o('stock.location', 'Location Stock'),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'stock.move',
      description: 'Stock Move',
      order: 'id',
      recName: byName,
      fields: {
        name: f.char('Description', { required: true }),
        reference: f.char('Reference'),
        product_id: f.m2o('product.product', 'Product', { required: true }),
        product_uom_qty: f.float('Demand'),
        location_id: f.m2o('stock.location', 'Source Location', { required: true }),
        location_dest_id: f.m2o('stock.location', 'Destination Location', { required: true }),
        state: f.sel('Status', ['draft', 'waiting', 'confirmed', 'assigned', 'done', 'cancel'], { default: () => 'draft' }),
        date: f.datetime('Date Scheduled', { default: () => nowText() }),
        picking_id: f.m2o('stock.picking', 'Transfer'),
        sale_line_id: f.m2o('sale.order.line', 'Sale Line'),
        quantity: f.float('Quantity'),
      },
    },
    {
      name: 'delivery.carrier',
      description: 'Shipping Methods',
      order: 'sequence, id',
      recName: byName,
      fields: {
        name: f.char('Delivery Method', { required: true }),
        sequence: f.int('Sequence', { default: () => 10 }),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'stock.picking',
      description: 'Transfer',
      order: 'priority desc, scheduled_date asc, id desc',
      recName: byName,
      fields: {
        name: f.char('Reference', { readonly: true, default: () => '/' }),
        origin: f.char('Source Document'),
        picking_type_code: f.sel('Type of Operation', ['incoming', 'outgoing', 'internal'], { readonly: true }),
        priority: f.sel('Priority', ['0', '1'], { default: () => '0' }),
        state: f.sel('Status', ['draft', 'waiting', 'confirmed', 'assigned', 'done', 'cancel'], { readonly: true, default: () => 'draft' }),
        partner_id: f.m2o('res.partner', 'Contact'),
        sale_id: f.m2o('sale.order', 'Sales Order'),
        location_id: f.m2o('stock.location', 'Source Location'),
        location_dest_id: f.m2o('stock.location', 'Destination Location'),
        scheduled_date: f.datetime('Scheduled Date', { default: () => nowText() }),
        date_done: f.datetime('Date of Transfer', { readonly: true }),
        carrier_id: f.m2o('delivery.carrier', 'Carrier'),
        carrier_tracking_ref: f.char('Tracking Reference'),
        move_ids: f.o2m('stock.move', 'picking_id', 'Operations'),
      },
      beforeWrite: (_db, _ids, vals) => {
        if ('state' in vals || 'date_done' in vals) throw userError('The status of a transfer changes through its buttons (button_validate, action_cancel).');
      },
      methods: {
        button_validate: {
          params: [],
          records: true,
          run: (db, ids) => {
            for (const id of ids) validatePicking(db, id, nowText());
            return true;
          },
        },
      },
    },
    {
      name: 'stock.quant',
      description: 'Quants',
      order: 'id',
      recName: (db, r) => db.displayName('product.product', r.product_id),
      fields: {
        product_id: f.m2o('product.product', 'Product', { required: true }),
        location_id: f.m2o('stock.location', 'Location', { required: true }),
        quantity: f.float('Quantity', { readonly: true }),
        reserved_quantity: f.float('Reserved Quantity', { readonly: true }),
        available_quantity: f.float('Available Quantity', { readonly: true, compute: (_db, r) => (r.quantity ?? 0) - (r.reserved_quantity ?? 0) }),
        inventory_quantity: f.float('Counted Quantity'),
        inventory_diff_quantity: f.float('Difference', {
          readonly: true,
          compute: (_db, r) => (r.inventory_quantity_set ? (r.inventory_quantity ?? 0) - (r.quantity ?? 0) : 0),
        }),
        inventory_quantity_set: f.bool('Inventory Quantity Set'),
        inventory_date: f.date('Scheduled Date'),
        company_id: f.m2o('res.company', 'Company', { default: () => 1 }),
      },
      create: (db, vals, ctx) => {
        if (!ctx.inventory_mode) throw userError("Quant's creation is restricted, you can't do this operation.");
        const allowed = new Set(['product_id', 'location_id', 'inventory_quantity', 'inventory_date', 'company_id', 'lot_id', 'package_id', 'owner_id']);
        const bad = Object.keys(vals).filter((k) => !allowed.has(k));
        if (bad.length) throw userError("Quant's creation is restricted, you can't do this operation.");
        const existing = db.all('stock.quant').find((q) => q.product_id === vals.product_id && q.location_id === vals.location_id);
        // Quants are never duplicated: counting a product again updates its quant.
        if (existing) {
          if ('inventory_quantity' in vals) db.writeRecords('stock.quant', [existing.id], { inventory_quantity: vals.inventory_quantity }, ctx);
          return existing.id;
        }
        const id = db.createGeneric('stock.quant', { ...vals, quantity: 0, reserved_quantity: 0 }, ctx, true);
        if ('inventory_quantity' in vals) db.set('stock.quant', id, 'inventory_quantity_set', true);
        return id;
      },
      beforeWrite: (_db, _ids, vals, ctx) => {
        const allowed = new Set(['inventory_quantity', 'inventory_date', 'inventory_quantity_set', 'user_id']);
        if (!ctx.inventory_mode || Object.keys(vals).some((k) => !allowed.has(k))) {
          throw userError("Quant's editing is restricted, you can't do this operation.");
        }
      },
      afterWrite: (db, ids, vals) => {
        if ('inventory_quantity' in vals && !('inventory_quantity_set' in vals))
          for (const id of ids) db.set('stock.quant', id, 'inventory_quantity_set', true);
      },
      methods: {
        action_apply_inventory: {
          params: [],
          records: true,
          run: (db, ids) => {
            const adjustment = db.all('stock.location').find((l) => l.usage === 'inventory');
            for (const id of ids) {
              const q = db.get('stock.quant', id)!;
              if (!q.inventory_quantity_set) continue;
              const diff = (q.inventory_quantity ?? 0) - (q.quantity ?? 0);
              if (diff !== 0) {
                db.createGeneric(
                  'stock.move',
                  {
                    name: 'Product Quantity Updated',
                    reference: 'Product Quantity Updated',
                    product_id: q.product_id,
                    product_uom_qty: Math.abs(diff),
                    location_id: diff > 0 ? adjustment?.id : q.location_id,
                    location_dest_id: diff > 0 ? q.location_id : adjustment?.id,
                    state: 'done',
                  },
                  {},
                );
              }
              setWritten(db, 'stock.quant', id, 'quantity', q.inventory_quantity ?? 0);
              db.set('stock.quant', id, 'inventory_quantity', 0);
              db.set('stock.quant', id, 'inventory_quantity_set', false);
              db.set('stock.quant', id, 'inventory_date', todayText());
            }
            return true;
          },
        },
      },
    },
    {
      name: 'account.account',
      description: 'Account',
      order: 'code, id',
      recName: (_db, r) => `${r.code} ${r.name}`,
      fields: {
        code: f.char('Code', { required: true }),
        name: f.char('Account Name', { required: true }),
        account_type: f.sel(
          'Type',
          ['asset_receivable', 'asset_cash', 'asset_current', 'liability_payable', 'liability_current', 'income', 'expense', 'equity'],
          { required: true },
        ),
      },
    },
    {
      name: 'account.journal',
      description: 'Journal',
      order: 'sequence, type, code',
      recName: byName,
      fields: {
        name: f.char('Journal Name', { required: true }),
        code: f.char('Short Code', { required: true }),
        type: f.sel('Type', ['sale', 'purchase', 'cash', 'bank', 'general'], { required: true }),
        sequence: f.int('Sequence', { default: () => 10 }),
        active: f.bool('Active', { default: () => true }),
      },
    },
    {
      name: 'account.move',
      description: 'Journal Entry',
      order: 'date desc, name desc, id desc',
      recName: (_db, r) => (r.name && r.name !== '/' ? String(r.name) : `Draft Entry (* ${r.id})`),
      fields: {
        name: f.char('Number', { readonly: true, default: () => '/' }),
        ref: f.char('Reference'),
        date: f.date('Date', { required: true, default: () => todayText() }),
        state: f.sel('Status', ['draft', 'posted', 'cancel'], { readonly: true, default: () => 'draft' }),
        move_type: f.sel('Type', ['entry', 'out_invoice', 'out_refund', 'in_invoice', 'in_refund', 'out_receipt', 'in_receipt'], {
          required: true,
          default: () => 'entry',
        }),
        journal_id: f.m2o('account.journal', 'Journal', {
          required: true,
          default: (db, r) =>
            db
              .all('account.journal')
              .find((j) => j.type === (r.move_type && r.move_type !== 'entry' ? (r.move_type.startsWith('out_') ? 'sale' : 'purchase') : 'general'))?.id ??
            false,
        }),
        partner_id: f.m2o('res.partner', 'Partner'),
        company_id: f.m2o('res.company', 'Company', { default: () => 1 }),
        currency_id: f.m2o('res.currency', 'Currency', { default: (db) => db.get('res.company', 1)?.currency_id ?? false }),
        invoice_origin: f.char('Origin'),
        invoice_date: f.date('Invoice/Bill Date'),
        payment_reference: f.char('Payment Reference'),
        line_ids: f.o2m('account.move.line', 'move_id', 'Journal Items'),
        invoice_line_ids: f.o2m('account.move.line', 'move_id', 'Invoice lines'),
        amount_untaxed: f.float('Untaxed Amount', { readonly: true, compute: (db, r) => moveAmounts(db, r).untaxed }),
        amount_tax: f.float('Tax', { readonly: true, compute: (db, r) => moveAmounts(db, r).tax }),
        amount_total: f.float('Total', { readonly: true, compute: (db, r) => moveAmounts(db, r).total }),
      },
      beforeCreate: (_db, rec) => {
        if (rec.state !== 'draft') throw userError('A journal entry is created as a draft; post it with action_post.');
      },
      beforeWrite: (db, ids, vals) => {
        if ('state' in vals) throw userError('The status of a journal entry changes through action_post, button_draft and button_cancel.');
        if (ids.some((id) => db.get('account.move', id)!.state === 'posted') && Object.keys(vals).some((k) => k !== 'ref')) {
          throw userError('You cannot modify a posted entry of this journal.');
        }
      },
      beforeUnlink: (db, ids) => {
        if (ids.some((id) => db.get('account.move', id)!.state === 'posted')) throw userError('You cannot delete an entry which has been posted once.');
      },
      methods: {
        action_post: {
          params: [],
          records: true,
          run: (db, ids) => {
            for (const id of ids) {
              const move = db.get('account.move', id)!;
              if (move.state === 'posted') throw userError(`The entry ${move.name} (id ${move.id}) is already posted.`);
              if (move.state === 'cancel') throw userError('You cannot post a cancelled entry; reset it to draft first.');
              const lines = db.children('account.move.line', 'move_id', id);
              if (!lines.length) throw userError('You need to add a line before posting.');
              const journal = db.get('account.journal', move.journal_id)!;
              if (isInvoice(move)) {
                const label =
                  { out_invoice: 'Customer Invoice', out_refund: 'Customer Credit Note', in_invoice: 'Vendor Bill', in_refund: 'Vendor Credit Note' }[
                    move.move_type as string
                  ] ?? 'document';
                if (!move.partner_id) throw userError(`The field 'Customer' is required, please complete it to validate the ${label}.`);
                if (!move.invoice_date) db.set('account.move', id, 'invoice_date', todayText());
                const year = String(db.get('account.move', id)!.invoice_date).slice(0, 4);
                const prefix = move.move_type === 'out_refund' ? `R${journal.code}` : journal.code;
                const n = db.nextNumber(`account.move:${prefix}/${year}`);
                db.set('account.move', id, 'name', `${prefix}/${year}/${String(n).padStart(5, '0')}`);
                db.set('account.move', id, 'state', 'posted');
                continue;
              }
              const digits = db.get('res.currency', move.currency_id)?.decimal_places ?? 2;
              const diff = roundTo(
                lines.reduce((s, l) => s + (l.debit ?? 0) - (l.credit ?? 0), 0),
                digits,
              );
              if (diff !== 0) {
                throw userError(`Cannot create unbalanced journal entry. Ids: [${id}]\nDifferences debit - credit: [${diff}]`);
              }
              const [year, month] = String(move.date).split('-');
              const n = db.nextNumber(`account.move:${journal.code}/${year}/${month}`);
              db.set('account.move', id, 'name', `${journal.code}/${year}/${month}/${String(n).padStart(4, '0')}`);
              db.set('account.move', id, 'state', 'posted');
            }
            return false;
          },
        },
        button_draft: {
          params: [],
          records: true,
          run: (db, ids) => {
            for (const id of ids) {
              const move = db.get('account.move', id)!;
              if (!['posted', 'cancel'].includes(move.state)) throw userError('Only posted/cancelled journal entries can be reset to draft.');
              db.set('account.move', id, 'state', 'draft');
            }
            return true;
          },
        },
        button_cancel: {
          params: [],
          records: true,
          run: (db, ids) => {
            for (const id of ids) {
              const move = db.get('account.move', id)!;
              if (move.state === 'posted') db.set('account.move', id, 'state', 'draft');
              if (db.get('account.move', id)!.state !== 'draft') throw userError('Only draft journal entries can be cancelled.');
              db.set('account.move', id, 'state', 'cancel');
            }
            return true;
          },
        },
      },
    },
    {
      name: 'account.move.line',
      description: 'Journal Item',
      order: 'move_id, id',
      recName: (_db, r) => String(r.name || ''),
      fields: {
        move_id: f.m2o('account.move', 'Journal Entry', { required: true }),
        account_id: f.m2o('account.account', 'Account', {
          required: true,
          // Invoice lines take the income account (Odoo: the product's or the journal's default).
          default: (db, r) =>
            isInvoice(db.get('account.move', r.move_id)) ? (db.all('account.account').find((a) => a.account_type === 'income')?.id ?? false) : false,
        }),
        name: f.char('Label'),
        display_type: f.sel('Display Type', ['product', 'line_section', 'line_note', 'tax', 'payment_term'], {
          default: (db, r) => (isInvoice(db.get('account.move', r.move_id)) ? 'product' : false),
        }),
        product_id: f.m2o('product.product', 'Product'),
        quantity: f.float('Quantity', { default: () => 1 }),
        price_unit: f.float('Unit Price', { digits: priceDigits }),
        discount: f.float('Discount (%)', { digits: 2, default: () => 0 }),
        tax_ids: f.m2m('account.tax', 'Taxes', {
          default: (db, r) =>
            r.product_id && isInvoice(db.get('account.move', r.move_id)) ? [...(db.get('product.product', r.product_id)?.taxes_id ?? [])] : [],
        }),
        price_subtotal: f.float('Subtotal', { readonly: true, compute: (db, r) => invoiceLineAmounts(db, r).subtotal }),
        price_total: f.float('Total', { readonly: true, compute: (db, r) => invoiceLineAmounts(db, r).total }),
        debit: f.float('Debit', { default: () => 0 }),
        credit: f.float('Credit', { default: () => 0 }),
        balance: f.float('Balance', { readonly: true, compute: (_db, r) => (r.debit ?? 0) - (r.credit ?? 0) }),
        partner_id: f.m2o('res.partner', 'Partner'),
        amount_currency: f.float('Amount in Currency'),
        currency_id: f.m2o('res.currency', 'Currency'),
      },
      beforeCreate: (db, rec) => {
        if ((rec.debit ?? 0) !== 0 && (rec.credit ?? 0) !== 0) throw validationError('Wrong credit or debit value in accounting entry!');
        const move = db.get('account.move', rec.move_id);
        if (move?.state === 'posted') throw userError('You cannot modify a posted entry of this journal.');
      },
    },
  ];
  const common: Record<string, Field> = {
    display_name: f.char('Display Name', { readonly: true, compute: () => undefined }),
    create_date: f.datetime('Created on', { readonly: true, default: (db) => db.stampText() }),
    write_date: f.datetime('Last Updated on', { readonly: true, default: (db) => db.stampText() }),
  };
  const result: Record<string, Model> = {};
  for (const m of models) {
    m.fields = { ...m.fields, ...common, display_name: { ...common.display_name, compute: (db, r) => m.recName(db, r) } };
    result[m.name] = m;
  }
  return result;
}

function stateLabel(state: string): string {
  return { draft: 'Quotation', sent: 'Quotation Sent', sale: 'Sales Order', cancel: 'Cancelled' }[state] ?? state;
}

// ───────────────────────────────────────────── ORM ────────────────────────────────────────────────

export interface ExtraProduct {
  sku: string;
  name?: string;
  /** Sales price as Odoo stores it (a float in the company currency). */
  listPrice?: number;
  /** Sales tax ids (see the seeded account.tax records). */
  taxIds?: number[];
  /** On hand in WH/Stock; services have none. */
  stock?: number;
  service?: boolean;
  active?: boolean;
}

interface DbConfig {
  version: number;
  currency: string;
  catalogSize: number;
  extraProducts: ExtraProduct[];
  priceDigits: number;
  login: string;
  /** Told after each committed outermost transaction (the simulator saves its numbering then). */
  committed?: () => void;
}

/** Where a database's record ids and document numbers (S00001, INV/…) stand: what the demo carries between runs. */
export interface OdooContinuity {
  nextIds: Record<string, number>;
  counters: Record<string, number>;
}

/** The seeded records a test may need to refer to. */
export const SEED = {
  companyPartnerId: 1,
  walkInPartnerId: 2,
  adminUserId: 2,
  unitsUomId: 1,
  taxes: { vat20Included: 1, vat20: 2, vat0: 3, vat5Included: 4, jpCt10Included: 5, jpCt8Included: 6 },
  stockLocationId: 8,
  miscJournalId: 1,
  accounts: { sales: 1, receivable: 2, bank: 3, taxReceived: 4, expenses: 5 },
  shippingSku: 'SHIPPING',
  discountSku: 'DISCOUNT',
} as const;

/**
 * Fields looked up by equality on hot paths (the connector's lookup-before-create, order lines by
 * order, products by SKU). Indexed so a 50,000-order run stays linear, like the real database.
 */
const INDEXED: Record<string, string[]> = {
  'sale.order': ['client_order_ref'],
  'sale.order.line': ['order_id'],
  'product.product': ['default_code'],
  'stock.quant': ['product_id'],
  'account.move': ['ref'],
  'stock.move': ['picking_id'],
  'stock.picking': ['sale_id'],
  'account.move.line': ['move_id'],
};

export class Database {
  /** Added to the clock that stamps `create_date` and `write_date` (OdooSimulator.advanceClock). */
  clockOffsetMs = 0;

  /** The time Odoo stamps a record written now with (`YYYY-MM-DD HH:MM:SS`, UTC). */
  stampText(): string {
    return new Date(Date.now() + this.clockOffsetMs).toISOString().replace('T', ' ').slice(0, 19);
  }

  readonly models: Record<string, Model>;
  private readonly tables = new Map<string, Map<number, Rec>>();
  /** model → field → value → ids, for the INDEXED fields. */
  private readonly indexes = new Map<string, Map<string, Map<unknown, Set<number>>>>();
  private readonly nextIds = new Map<string, number>();
  private readonly counters = new Map<string, number>();
  private undo: Array<() => void> | undefined;

  constructor(readonly config: DbConfig) {
    this.models = buildModels(config.version, config.priceDigits);
    for (const name of Object.keys(this.models)) {
      this.tables.set(name, new Map());
      this.nextIds.set(name, 1);
      if (INDEXED[name]) this.indexes.set(name, new Map(INDEXED[name].map((fld) => [fld, new Map()])));
    }
    this.transaction(() => seed(this));
  }

  get version(): number {
    return this.config.version;
  }

  /** Runs one API call: all of its changes, or (on an exception) none of them. */
  transaction<T>(work: () => T): T {
    const outer = this.undo;
    this.undo = [];
    try {
      const result = work();
      if (outer) outer.push(...this.undo);
      this.undo = outer;
      if (!outer) this.config.committed?.();
      return result;
    } catch (err) {
      const log = this.undo ?? [];
      this.undo = outer;
      for (let i = log.length - 1; i >= 0; i--) log[i]();
      throw err;
    }
  }

  model(name: string): Model {
    const m = this.models[name];
    if (!m) throw userError(`Object ${name} doesn't exist`);
    return m;
  }

  get(model: string, id: number | false | undefined | null): Rec | undefined {
    if (!id) return undefined;
    return this.tables.get(model)?.get(id);
  }

  all(model: string): Rec[] {
    return [...(this.tables.get(model)?.values() ?? [])];
  }

  count(model: string): number {
    return this.tables.get(model)?.size ?? 0;
  }

  children(model: string, inverse: string, parentId: number): Rec[] {
    const ids = this.indexed(model, inverse, parentId);
    if (ids)
      return [...ids]
        .map((id) => this.get(model, id)!)
        .filter((r) => r && r[inverse] === parentId)
        .sort((a, b) => a.id - b.id);
    return this.all(model).filter((r) => r[inverse] === parentId);
  }

  /** Ids whose `field` equals `value`, when that field is indexed; undefined otherwise. */
  private indexed(model: string, field: string, value: unknown): Set<number> | undefined {
    const byField = this.indexes.get(model)?.get(field);
    if (!byField) return undefined;
    return byField.get(value) ?? new Set();
  }

  private index(model: string, id: number, field: string, value: unknown, add: boolean): void {
    const byField = this.indexes.get(model)?.get(field);
    if (!byField) return;
    let ids = byField.get(value);
    if (add) {
      if (!ids) byField.set(value, (ids = new Set()));
      ids.add(id);
    } else {
      ids?.delete(id);
      if (ids && ids.size === 0) byField.delete(value);
    }
  }

  private indexRecord(model: string, rec: Rec, add: boolean): void {
    for (const field of INDEXED[model] ?? []) this.index(model, rec.id, field, rec[field], add);
  }

  displayName(model: string, id: number): string {
    const rec = this.get(model, id);
    return rec ? this.model(model).recName(this, rec) : '';
  }

  set(model: string, id: number, field: string, value: unknown): void {
    const rec = this.get(model, id)!;
    const old = rec[field];
    const had = field in rec;
    this.index(model, id, field, old, false);
    rec[field] = value;
    this.index(model, id, field, value, true);
    this.undo?.push(() => {
      this.index(model, id, field, value, false);
      if (had) rec[field] = old;
      else delete rec[field];
      this.index(model, id, field, old, true);
    });
  }

  /** The record ids and document numbers handed out so far. */
  numbering(): OdooContinuity {
    return { nextIds: Object.fromEntries(this.nextIds), counters: Object.fromEntries(this.counters) };
  }

  /** Continues an earlier run's numbering: no record id or document number is handed out again. */
  continueNumbering(from: OdooContinuity): void {
    for (const [model, next] of Object.entries(from.nextIds)) if (this.nextIds.has(model)) this.nextIds.set(model, Math.max(this.nextIds.get(model)!, next));
    for (const [counter, n] of Object.entries(from.counters)) this.counters.set(counter, Math.max(this.counters.get(counter) ?? 0, n));
  }

  nextNumber(counter: string): number {
    const old = this.counters.get(counter) ?? 0;
    this.counters.set(counter, old + 1);
    this.undo?.push(() => this.counters.set(counter, old));
    return old + 1;
  }

  private insert(model: string, rec: Rec): number {
    const table = this.tables.get(model)!;
    const id = this.nextIds.get(model)!;
    this.nextIds.set(model, id + 1);
    rec.id = id;
    table.set(id, rec);
    this.indexRecord(model, rec, true);
    this.undo?.push(() => {
      this.indexRecord(model, rec, false);
      table.delete(id);
      this.nextIds.set(model, id);
    });
    return id;
  }

  private remove(model: string, id: number): void {
    const table = this.tables.get(model)!;
    const rec = table.get(id);
    if (!rec) return;
    table.delete(id);
    this.indexRecord(model, rec, false);
    this.undo?.push(() => {
      table.set(id, rec);
      this.indexRecord(model, rec, true);
    });
  }

  field(model: string, name: string): Field {
    const fd = this.model(model).fields[name];
    if (!fd && name !== 'id') throw valueError(`Invalid field '${name}' on model '${model}'`);
    return fd ?? f.int('ID', { readonly: true });
  }

  /** The value as Odoo stores it: many2one id or false, x2many ids, computed values. */
  raw(model: string, rec: Rec, name: string): any {
    if (name === 'id') return rec.id;
    const fd = this.field(model, name);
    if (fd.compute) return fd.compute(this, rec);
    if (fd.type === 'one2many') return this.children(fd.relation!, fd.inverse!, rec.id).map((r) => r.id);
    if (fd.type === 'many2many') return [...(rec[name] ?? [])];
    const v = rec[name];
    if (v === undefined || v === null) return fd.type === 'integer' || fd.type === 'float' ? 0 : false;
    return v;
  }

  /** The value as `read` returns it: many2one as [id, display name]. */
  readValue(model: string, rec: Rec, name: string): unknown {
    const fd = this.field(model, name);
    const v = this.raw(model, rec, name);
    if (fd.type === 'many2one') return v ? [v, this.displayName(fd.relation!, v)] : false;
    if ((fd.type === 'char' || fd.type === 'text') && v === '') return false;
    return v;
  }

  /** Converts and checks one written value. */
  private convert(model: string, name: string, value: unknown): unknown {
    const fd = this.field(model, name);
    const bad = () => valueError(`Wrong value for ${model}.${name}: ${JSON.stringify(value)}`);
    if (value === null || value === undefined) value = false;
    switch (fd.type) {
      case 'char':
      case 'text':
        if (value === false) return false;
        if (typeof value !== 'string' && typeof value !== 'number') throw bad();
        return String(value);
      case 'integer':
        if (value === false) return 0;
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad();
        return value;
      case 'float': {
        if (value === false) return 0;
        const n = typeof value === 'string' ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isFinite(n)) throw bad();
        return fd.digits === undefined ? n : roundTo(n, fd.digits);
      }
      case 'boolean':
        return !!value;
      case 'selection':
        if (value === false) return false;
        if (!fd.selection!.includes(String(value))) throw valueError(`Wrong value for ${model}.${name}: '${value}'`);
        return value;
      case 'date':
        if (value === false) return false;
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw valueError(`time data '${value}' does not match format '%Y-%m-%d'`);
        return value.slice(0, 10);
      case 'datetime':
        if (value === false) return false;
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value)) {
          throw valueError(`time data '${value}' does not match format '%Y-%m-%d %H:%M:%S'`);
        }
        return value.slice(0, 19);
      case 'many2one': {
        if (value === false || value === 0) return false;
        if (typeof value !== 'number' || !Number.isInteger(value)) throw bad();
        if (!this.get(fd.relation!, value)) throw missingError(fd.relation!, [value]);
        return value;
      }
      default:
        throw bad();
    }
  }

  private checkNames(model: string, vals: Record<string, unknown>): void {
    if (!vals || typeof vals !== 'object' || Array.isArray(vals)) throw typeError(`values for ${model} must be a dictionary`);
    for (const k of Object.keys(vals)) this.field(model, k);
  }

  create(model: string, vals: Record<string, any>, ctx: Ctx): number {
    const m = this.model(model);
    this.checkNames(model, vals);
    return m.create ? m.create(this, vals, ctx) : this.createGeneric(model, vals, ctx);
  }

  createGeneric(model: string, vals: Record<string, any>, ctx: Ctx, trusted = false): number {
    const m = this.model(model);
    const rec: Rec = { id: 0 };
    const x2many: Array<[string, unknown]> = [];
    for (const [k, v] of Object.entries(vals)) {
      const fd = this.field(model, k);
      if (fd.compute || k === 'id') continue; // Odoo ignores values for computed fields without inverse
      if (fd.type === 'one2many' || fd.type === 'many2many') x2many.push([k, v]);
      else rec[k] = trusted && (fd.type === 'float' || fd.type === 'boolean') ? v : this.convert(model, k, v);
    }
    for (const [k, fd] of Object.entries(m.fields)) {
      if (k in rec || fd.compute || !fd.default || x2many.some(([n]) => n === k)) continue;
      const v = fd.default(this, rec, ctx);
      if (fd.type === 'many2many') rec[k] = Array.isArray(v) ? v : [];
      else if (v !== undefined) rec[k] = v;
    }
    for (const [k, fd] of Object.entries(m.fields)) {
      if (fd.type === 'many2many' && !(k in rec)) rec[k] = [];
    }
    m.beforeCreate?.(this, rec, vals, ctx);
    for (const [k, fd] of Object.entries(m.fields)) {
      if (!fd.required || fd.compute || fd.type === 'one2many') continue;
      const v = rec[k];
      if (v === undefined || v === false || v === null || v === '') {
        throw validationError(
          `The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\nModel: ${m.description} (${model})\nField: ${fd.string} (${k})`,
        );
      }
    }
    const id = this.insert(model, rec);
    for (const [k, v] of x2many) this.applyCommands(model, id, k, v, ctx);
    return id;
  }

  writeRecords(model: string, ids: number[], vals: Record<string, any>, ctx: Ctx): true {
    const m = this.model(model);
    this.checkNames(model, vals);
    this.ensure(model, ids);
    m.beforeWrite?.(this, ids, vals, ctx);
    for (const id of ids) {
      for (const [k, v] of Object.entries(vals)) {
        const fd = this.field(model, k);
        if (fd.compute || k === 'id') continue;
        if (fd.type === 'one2many' || fd.type === 'many2many') this.applyCommands(model, id, k, v, ctx);
        else this.set(model, id, k, this.convert(model, k, v));
      }
      this.set(model, id, 'write_date', this.stampText());
    }
    for (const [k, fd] of Object.entries(m.fields)) {
      if (!fd.required || !(k in vals)) continue;
      if (vals[k] === false || vals[k] === null || vals[k] === '')
        throw validationError(
          `The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n\nModel: ${m.description} (${model})\nField: ${fd.string} (${k})`,
        );
    }
    m.afterWrite?.(this, ids, vals, ctx);
    return true;
  }

  unlink(model: string, ids: number[]): true {
    const m = this.model(model);
    this.ensure(model, ids);
    m.beforeUnlink?.(this, ids);
    for (const id of ids) {
      // Cascade the one2many children (sale.order.line, account.move.line).
      for (const fd of Object.values(m.fields)) {
        if (fd.type === 'one2many') for (const child of this.children(fd.relation!, fd.inverse!, id)) this.remove(fd.relation!, child.id);
      }
      this.remove(model, id);
    }
    return true;
  }

  ensure(model: string, ids: number[]): void {
    const missing = ids.filter((id) => !this.get(model, id));
    if (missing.length) throw missingError(model, missing);
  }

  private applyCommands(model: string, id: number, name: string, commands: unknown, ctx: Ctx): void {
    const fd = this.field(model, name);
    const rel = fd.relation!;
    if (!Array.isArray(commands)) throw valueError(`Wrong value for ${model}.${name}: ${JSON.stringify(commands)}`);
    if (fd.type === 'many2many' && commands.every((c) => typeof c === 'number')) commands = [[6, 0, commands]];
    const current = (): number[] => this.raw(model, this.get(model, id)!, name);
    const setM2m = (ids: number[]) => this.set(model, id, name, [...new Set(ids)]);
    for (const cmd of commands as unknown[]) {
      if (!Array.isArray(cmd) || typeof cmd[0] !== 'number') throw valueError(`Invalid command ${JSON.stringify(cmd)} for ${model}.${name}`);
      const [op, target, value] = cmd as [number, number, any];
      switch (op) {
        case 0: {
          if (fd.type === 'one2many') this.create(rel, { ...(value ?? {}), [fd.inverse!]: id }, ctx);
          else setM2m([...current(), this.create(rel, value ?? {}, ctx)]);
          break;
        }
        case 1:
          this.writeRecords(rel, [target], value ?? {}, ctx);
          break;
        case 2:
          if (fd.type === 'many2many') setM2m(current().filter((x) => x !== target));
          this.unlink(rel, [target]);
          break;
        case 3:
          if (fd.type === 'one2many') this.unlink(rel, [target]);
          else setM2m(current().filter((x) => x !== target));
          break;
        case 4:
          this.ensure(rel, [target]);
          if (fd.type === 'one2many') this.set(rel, target, fd.inverse!, id);
          else setM2m([...current(), target]);
          break;
        case 5:
          if (fd.type === 'one2many') for (const c of current()) this.unlink(rel, [c]);
          else setM2m([]);
          break;
        case 6: {
          const ids = (value ?? []) as number[];
          this.ensure(rel, ids);
          if (fd.type === 'one2many') {
            for (const c of current()) if (!ids.includes(c)) this.unlink(rel, [c]);
            for (const t of ids) this.set(rel, t, fd.inverse!, id);
          } else setM2m(ids);
          break;
        }
        default:
          throw valueError(`Invalid command ${JSON.stringify(cmd)} for ${model}.${name}`);
      }
    }
  }

  // ── search ──

  search(model: string, domain: unknown, opts: { offset?: number; limit?: number | null; order?: string | null; activeTest?: boolean } = {}): number[] {
    const m = this.model(model);
    const dom = Array.isArray(domain) ? domain : domain === undefined || domain === null || domain === false ? [] : null;
    if (!dom) throw valueError(`Invalid domain: ${JSON.stringify(domain)}`);
    const predicate = this.compileDomain(model, dom);
    const mentionsActive = dom.some((t) => Array.isArray(t) && t[0] === 'active');
    const activeFilter = 'active' in m.fields && opts.activeTest !== false && !mentionsActive;
    let recs = this.candidates(model, dom).filter((r) => (!activeFilter || r.active !== false) && predicate(r));
    recs = this.sort(model, recs, opts.order || m.order);
    const offset = opts.offset ?? 0;
    const end = opts.limit ? offset + opts.limit : undefined;
    return recs.slice(offset, end).map((r) => r.id);
  }

  /**
   * Records that can match a domain: for a plain conjunction with an equality (or `in` a list) on
   * an indexed field, only those with that value (the full predicate still decides); otherwise every
   * record. A simulator's shortcut, standing in for the database doing the lookup: without it a
   * batch's lookup by 100 references scanned every order in JavaScript.
   */
  private candidates(model: string, dom: unknown[]): Rec[] {
    if (!dom.some((t) => t === '|' || t === '!')) {
      for (const t of dom) {
        if (!Array.isArray(t) || typeof t[0] !== 'string') continue;
        const values = t[1] === '=' ? [t[2]] : t[1] === 'in' && Array.isArray(t[2]) ? (t[2] as unknown[]) : undefined;
        if (!values) continue;
        const sets = values.map((v) => this.indexed(model, t[0], v));
        if (sets.every((ids) => ids !== undefined)) {
          const ids = new Set<number>();
          for (const set of sets) for (const id of set!) ids.add(id);
          return [...ids]
            .sort((a, b) => a - b)
            .map((id) => this.get(model, id)!)
            .filter(Boolean);
        }
      }
    }
    return this.all(model);
  }

  private sort(model: string, recs: Rec[], order: string): Rec[] {
    const keys = order
      .split(',')
      .map((part) => part.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name, dir]) => {
        if (!/^[a-z_][a-z0-9_]*$/.test(name) || (dir && !/^(asc|desc)$/i.test(dir))) throw valueError(`Invalid "order" specified (${order}).`);
        this.field(model, name);
        return { name, desc: /^desc$/i.test(dir ?? '') };
      });
    return [...recs].sort((a, b) => {
      for (const { name, desc } of keys) {
        const x = this.raw(model, a, name);
        const y = this.raw(model, b, name);
        if (x === y) continue;
        // PostgreSQL: NULLs sort last ascending, first descending.
        if (x === false) return desc ? -1 : 1;
        if (y === false) return desc ? 1 : -1;
        const c = x < y ? -1 : 1;
        return desc ? -c : c;
      }
      return a.id - b.id;
    });
  }

  private compileDomain(model: string, domain: unknown[]): (rec: Rec) => boolean {
    type P = (rec: Rec) => boolean;
    const stack: P[] = [];
    for (let i = domain.length - 1; i >= 0; i--) {
      const term = domain[i];
      if (term === '&' || term === '|') {
        const a = stack.pop();
        const b = stack.pop();
        if (!a || !b) throw valueError(`Invalid domain: ${JSON.stringify(domain)}`);
        stack.push(term === '&' ? (r) => a(r) && b(r) : (r) => a(r) || b(r));
      } else if (term === '!') {
        const a = stack.pop();
        if (!a) throw valueError(`Invalid domain: ${JSON.stringify(domain)}`);
        stack.push((r) => !a(r));
      } else if (Array.isArray(term) && term.length === 3 && typeof term[0] === 'string' && typeof term[1] === 'string') {
        const [path, op, value] = term as [string, string, unknown];
        this.checkPath(model, path.split('.'));
        stack.push((r) => this.matchLeaf(model, r, path.split('.'), op.toLowerCase(), value));
      } else if (Array.isArray(term) && term.length === 3 && (term[0] === 1 || term[0] === 0)) {
        const truth = term[0] === 1; // TRUE_LEAF / FALSE_LEAF
        stack.push(() => truth);
      } else {
        throw valueError(`Invalid leaf ${JSON.stringify(term)}`);
      }
    }
    return (rec) => stack.every((p) => p(rec));
  }

  private checkPath(model: string, path: string[]): void {
    const fd = this.model(model).fields[path[0]];
    if (!fd && path[0] !== 'id') throw valueError(`Invalid field ${model}.${path[0]} in leaf ('${path.join('.')}')`);
    if (path.length > 1) {
      if (!fd?.relation) throw valueError(`Invalid field ${model}.${path.join('.')} in leaf`);
      this.checkPath(fd.relation, path.slice(1));
    }
  }

  private matchLeaf(model: string, rec: Rec, path: string[], op: string, value: unknown): boolean {
    const [head, ...rest] = path;
    const fd = head === 'id' ? f.int('ID') : this.model(model).fields[head];
    const v = this.raw(model, rec, head);
    if (rest.length) {
      const ids: number[] = fd.type === 'many2one' ? (v ? [v] : []) : v;
      const negative = op === '!=' || op === 'not in' || op.startsWith('not ');
      if (!ids.length) return negative || ((op === '=' || op === 'in') && (value === false || (Array.isArray(value) && value.includes(false))));
      return ids.some((id) => this.matchLeaf(fd.relation!, this.get(fd.relation!, id)!, rest, op, value));
    }
    if (fd.type === 'many2one' && (typeof value === 'string' || (Array.isArray(value) && value.some((x) => typeof x === 'string')))) {
      // A name given for a many2one matches the record's display name (Odoo's name_search).
      const name = v ? this.displayName(fd.relation!, v) : false;
      return compare(name, op, value);
    }
    if (fd.type === 'one2many' || fd.type === 'many2many') {
      const list = v as number[];
      if (op === '=' && value === false) return list.length === 0;
      if (op === '!=' && value === false) return list.length > 0;
      const negative = op === '!=' || op === 'not in';
      const hit = list.some((x) => compare(x, negative ? (op === '!=' ? '=' : 'in') : op, value));
      return negative ? !hit : hit;
    }
    return compare(v, op, value);
  }

  read(model: string, ids: number[], fields: unknown): Record<string, unknown>[] {
    this.ensure(model, ids);
    const m = this.model(model);
    const names = Array.isArray(fields) && fields.length ? (fields as string[]) : Object.keys(m.fields);
    for (const n of names) this.field(model, n);
    return ids.map((id) => {
      const rec = this.get(model, id)!;
      const out: Record<string, unknown> = { id };
      for (const n of names) if (n !== 'id') out[n] = this.readValue(model, rec, n);
      return out;
    });
  }
}

function norm(v: unknown): unknown {
  return v === null || v === undefined || v === '' ? false : v;
}

function likeRegex(pattern: string, flags: string): RegExp {
  let body = '';
  const esc = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) body += esc(pattern[++i]);
    else body += c === '%' ? '.*' : c === '_' ? '.' : esc(c);
  }
  return new RegExp(`^${body}$`, `s${flags}`);
}

function compare(actual: unknown, op: string, value: unknown): boolean {
  const a = norm(actual);
  switch (op) {
    case '=':
    case '==':
      return a === norm(value);
    case '!=':
    case '<>':
      return a !== norm(value);
    case 'in':
    case 'not in': {
      if (!Array.isArray(value)) throw valueError(`The operator '${op}' needs a list, got ${JSON.stringify(value)}`);
      const hit = value.map(norm).includes(a);
      return op === 'in' ? hit : !hit;
    }
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (a === false || value === false || value === null) return false;
      const x = a as number | string;
      const y = value as number | string;
      return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
    }
    case 'like':
    case 'ilike':
    case 'not like':
    case 'not ilike':
    case '=like':
    case '=ilike': {
      const negative = op.startsWith('not ');
      const base = negative ? op.slice(4) : op;
      if (a === false) return negative;
      const text = String(a);
      const pattern = String(value ?? '');
      const flags = base.endsWith('ilike') ? 'i' : '';
      const hit = likeRegex(base.startsWith('=') ? pattern : `%${pattern}%`, flags).test(text);
      return negative ? !hit : hit;
    }
    default:
      throw valueError(`Invalid operator '${op}'`);
  }
}

/** The methods every model has, as Odoo binds them (positional then named). */
function genericMethods(model: string): Record<string, Method> {
  return {
    search: {
      params: ['domain', 'offset', 'limit', 'order'],
      required: ['domain'],
      records: false,
      run: (db, _ids, kw, ctx) => db.search(model, kw.domain, { offset: kw.offset, limit: kw.limit, order: kw.order, activeTest: ctx.active_test }),
    },
    search_read: {
      params: ['domain', 'fields', 'offset', 'limit', 'order'],
      records: false,
      run: (db, _ids, kw, ctx) => {
        const ids = db.search(model, kw.domain ?? [], { offset: kw.offset, limit: kw.limit, order: kw.order, activeTest: ctx.active_test });
        return db.read(model, ids, kw.fields);
      },
    },
    search_count: {
      params: ['domain', 'limit'],
      required: ['domain'],
      records: false,
      run: (db, _ids, kw, ctx) => db.search(model, kw.domain, { limit: kw.limit, activeTest: ctx.active_test }).length,
    },
    read: { params: ['fields', 'load'], records: true, run: (db, ids, kw) => db.read(model, ids, kw.fields) },
    create: {
      params: ['vals_list'],
      required: ['vals_list'],
      records: false,
      run: (db, _ids, kw, ctx) => {
        const single = !Array.isArray(kw.vals_list);
        const list = single ? [kw.vals_list] : (kw.vals_list as Record<string, any>[]);
        const ids = list.map((vals) => db.create(model, vals, ctx));
        return { [CREATED]: ids, single };
      },
    },
    write: { params: ['vals'], required: ['vals'], records: true, run: (db, ids, kw, ctx) => db.writeRecords(model, ids, kw.vals, ctx) },
    unlink: { params: [], records: true, run: (db, ids) => db.unlink(model, ids) },
    load: {
      params: ['fields', 'data'],
      required: ['fields', 'data'],
      records: false,
      run: (db, _ids, kw, ctx) => loadRows(db, model, kw.fields, kw.data, ctx, db.get('res.users', SEED.adminUserId)?.tz),
    },
    fields_get: {
      params: ['allfields', 'attributes'],
      records: false,
      run: (db, _ids, kw) => {
        const m = db.model(model);
        const names = Array.isArray(kw.allfields) && kw.allfields.length ? (kw.allfields as string[]) : Object.keys(m.fields);
        const out: Record<string, Record<string, unknown>> = {};
        for (const n of names) {
          const fd = m.fields[n];
          if (!fd) continue;
          const desc: Record<string, unknown> = {
            type: fd.type,
            string: fd.string,
            required: !!fd.required,
            readonly: !!(fd.readonly || fd.compute),
            store: !fd.compute,
            ...(fd.relation ? { relation: fd.relation } : {}),
            ...(fd.selection ? { selection: fd.selection.map((s) => [s, s]) } : {}),
          };
          out[n] =
            Array.isArray(kw.attributes) && kw.attributes.length
              ? Object.fromEntries(Object.entries(desc).filter(([k]) => (kw.attributes as string[]).includes(k)))
              : desc;
        }
        return out;
      },
    },
  };
}

const CREATED = Symbol('created');

function seed(db: Database): void {
  const { config } = db;
  const ctx = {};
  const codes = [...new Set([config.currency, 'GBP', 'USD', 'EUR', 'JPY', 'KWD', 'BHD'])];
  const symbols: Record<string, string> = { GBP: '£', USD: '$', EUR: '€', JPY: '¥', KWD: 'KD', BHD: 'BD' };
  const currencyIds = new Map<string, number>();
  for (const code of codes) {
    const decimals = currencyExponent(code);
    currencyIds.set(code, db.create('res.currency', { name: code, symbol: symbols[code] ?? code, decimal_places: decimals, rounding: 10 ** -decimals }, ctx));
  }
  db.create('res.partner', { name: 'Tillwire Retail Ltd', is_company: true, email: 'hello@tillwire.example' }, ctx); // 1
  db.create('res.partner', { name: 'Walk-in Customer', ref: 'WALKIN' }, ctx); // 2
  const adminPartner = db.create('res.partner', { name: 'Administrator', email: 'admin@tillwire.example' }, ctx); // 3
  db.create('res.company', { name: 'Tillwire Retail Ltd', currency_id: currencyIds.get(config.currency)!, partner_id: 1 }, ctx);
  db.create('res.users', { name: 'OdooBot', login: '__system__', active: false }, ctx); // 1
  db.create('res.users', { name: 'Administrator', login: config.login, partner_id: adminPartner }, ctx); // 2
  db.create('uom.uom', { name: 'Units' }, ctx);
  db.create('uom.uom', { name: 'kg' }, ctx);
  for (const [name, amount, include] of [
    ['20% VAT (included)', 20, true],
    ['20% VAT', 20, false],
    ['0% VAT', 0, true],
    ['5% VAT (included)', 5, true],
    ['10% Consumption Tax (included)', 10, true],
    ['8% Consumption Tax (included)', 8, true],
  ] as const) {
    db.create('account.tax', { name, amount, price_include: include }, ctx);
  }
  for (const code of codes) db.create('product.pricelist', { name: `Public Pricelist`, currency_id: currencyIds.get(code)! }, ctx);
  for (const [name, complete, usage, parent] of [
    ['Physical Locations', 'Physical Locations', 'view', false],
    ['Partners', 'Partners', 'view', false],
    ['Vendors', 'Partners/Vendors', 'supplier', 2],
    ['Customers', 'Partners/Customers', 'customer', 2],
    ['Virtual Locations', 'Virtual Locations', 'view', false],
    ['Inventory adjustment', 'Virtual Locations/Inventory adjustment', 'inventory', 5],
    ['WH', 'WH', 'view', 1],
    ['Stock', 'WH/Stock', 'internal', 7],
  ] as const) {
    db.create('stock.location', { name, complete_name: complete, usage, location_id: parent }, ctx);
  }
  db.create('stock.warehouse', { name: 'Tillwire Warehouse', code: 'WH', lot_stock_id: SEED.stockLocationId }, ctx);
  for (const name of ['UPS', 'DHL Express', 'Royal Mail']) db.create('delivery.carrier', { name }, ctx);
  db.create('account.journal', { name: 'Miscellaneous Operations', code: 'MISC', type: 'general' }, ctx);
  db.create('account.journal', { name: 'Customer Invoices', code: 'INV', type: 'sale' }, ctx);
  db.create('account.journal', { name: 'Bank', code: 'BNK1', type: 'bank' }, ctx);
  for (const [code, name, type] of [
    ['400000', 'Product Sales', 'income'],
    ['121000', 'Account Receivable', 'asset_receivable'],
    ['101401', 'Bank', 'asset_cash'],
    ['251000', 'Tax Received', 'liability_current'],
    ['600000', 'Expenses', 'expense'],
  ] as const) {
    db.create('account.account', { code, name, account_type: type }, ctx);
  }
  const storable = db.version >= 18 ? { type: 'consu', is_storable: true } : { type: 'product' };
  const taxByRate: Record<string, number> = { '0.2000': SEED.taxes.vat20Included, '0.0500': SEED.taxes.vat5Included, '0.0000': SEED.taxes.vat0 };
  const products: Array<{ vals: Record<string, unknown>; stock?: number }> = demoCatalog(config.catalogSize).map((item, i) => ({
    vals: {
      name: item.name,
      default_code: item.sku,
      list_price: Number(fromMinor(item.unitPrice, 'GBP')),
      taxes_id: [[6, 0, [taxByRate[item.taxRate] ?? SEED.taxes.vat20Included]]],
      ...storable,
    },
    stock: 20 + ((i * 13) % 80),
  }));
  products.push({ vals: { name: 'Shipping', default_code: SEED.shippingSku, list_price: 0, type: 'service' } });
  products.push({ vals: { name: 'Discount', default_code: SEED.discountSku, list_price: 0, type: 'service' } });
  for (const p of config.extraProducts) {
    products.push({
      vals: {
        name: p.name ?? p.sku,
        default_code: p.sku,
        list_price: p.listPrice ?? 0,
        taxes_id: [[6, 0, p.taxIds ?? []]],
        active: p.active ?? true,
        ...(p.service ? { type: 'service' } : storable),
      },
      stock: p.service ? undefined : (p.stock ?? 0),
    });
  }
  for (const p of products) {
    const id = db.create('product.product', p.vals, ctx);
    if (p.stock !== undefined)
      db.createGeneric('stock.quant', { product_id: id, location_id: SEED.stockLocationId, quantity: p.stock, reserved_quantity: 0 }, ctx, true);
  }
}

// ──────────────────────────────────────────── server ──────────────────────────────────────────────

/**
 * The kit's fault rates (simulators/kit/faults.ts): an error is 500/502/503/429, a timeout is no
 * answer (or 504 after timeoutDelayMs), a slow call is carried out after slowDelayMs.
 */
export interface OdooFaults extends FaultRates {
  timeoutDelayMs?: number;
  slowDelayMs?: number;
  /** Only calls named here ("sale.order.create", "common.authenticate") draw faults; default all. */
  only?: string[];
}

export interface OdooSimulatorOptions {
  port?: number;
  host?: string;
  /** Odoo major version to imitate (17, 18, 19). Default 17. */
  version?: number;
  database?: string;
  login?: string;
  apiKey?: string;
  /** Company currency. Default GBP. */
  currency?: string;
  catalogSize?: number;
  extraProducts?: ExtraProduct[];
  /** Decimal precision "Product Price" (Odoo's default is 2). */
  priceDigits?: number;
  faults?: OdooFaults;
  /** Carry on from an earlier run (the demo): record ids and document numbers continue. */
  continuity?: Continuity<OdooContinuity>;
}

export interface OrderSummary {
  id: number;
  name: string;
  client_order_ref: string | false;
  state: string;
  partner_id: number;
  lines: number;
  amount_total: number;
  currency: string;
  date_order: string;
  origin: string | false;
}

interface Outcome {
  status: number;
  body?: unknown;
  html?: string;
  headers?: Record<string, string>;
}

const HTML_PAGES: Record<number, string> = {
  404: '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n',
  429: '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
  500: '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n',
  502: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
  503: '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
  504: '<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
};

function freshStats() {
  // slowDone: slow calls carried out so far (slow - slowDone are still waiting to be carried out).
  return { requests: 0, faults: { error: 0, timeout: 0, lost: 0, slow: 0, slowDone: 0 }, calls: {} as Record<string, number> };
}

export class OdooSimulator {
  readonly version: number;
  readonly database: string;
  readonly login: string;
  readonly apiKey: string;
  private db: Database;
  private faults: ReturnType<OdooSimulator['normaliseFaults']>;
  private readonly injector = new FaultInjector();
  private statsData = freshStats();
  private expiries = 0;
  private server?: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: OdooSimulatorOptions = {}) {
    this.version = opts.version ?? 17;
    this.database = opts.database ?? 'tillwire';
    this.login = opts.login ?? 'admin';
    this.apiKey = opts.apiKey ?? 'tillwire-demo-key';
    this.db = this.freshDb();
    this.faults = this.normaliseFaults(opts.faults);
  }

  private freshDb(): Database {
    const continuity = this.opts.continuity;
    // The seed is committed inside the constructor, before there is a database to number from.
    const made: { db?: Database } = {};
    const db = new Database({
      committed: continuity ? () => made.db && continuity.save(made.db.numbering()) : undefined,
      version: this.version,
      currency: this.opts.currency ?? 'GBP',
      catalogSize: this.opts.catalogSize ?? DEMO_CATALOG_SIZE,
      extraProducts: this.opts.extraProducts ?? [],
      priceDigits: this.opts.priceDigits ?? 2,
      login: this.login,
    });
    made.db = db;
    if (continuity?.from) db.continueNumbering(continuity.from);
    return db;
  }

  /** Sets the injector's rates (reseeding it) and returns the whole fault settings. */
  private normaliseFaults(f: OdooFaults = {}) {
    this.injector.set(f);
    return {
      ...this.injector.settings,
      timeoutDelayMs: typeof f.timeoutDelayMs === 'number' && f.timeoutDelayMs >= 0 ? f.timeoutDelayMs : undefined,
      slowDelayMs: typeof f.slowDelayMs === 'number' && f.slowDelayMs >= 0 ? f.slowDelayMs : 1000,
      ...(Array.isArray(f.only) && f.only.length ? { only: f.only.map(String) } : {}),
    };
  }

  /** Starts listening (port 0 = any free port); resolves with the base URL. */
  async start(): Promise<string> {
    if (this.server) return this.url;
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err?.stack ?? err));
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this.url;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Back to the seeded data, no faults, zero counters (or the faults given). */
  reset(faults?: OdooFaults): void {
    this.db = this.freshDb();
    this.setFaults(faults ?? {});
    this.statsData = freshStats();
    this.expiries = 0;
  }

  /** Replaces the fault settings and reseeds the generator. */
  setFaults(faults: OdooFaults): void {
    this.faults = this.normaliseFaults(faults);
  }

  getFaults(): OdooFaults {
    return { ...this.faults };
  }

  /** The next `count` object calls over JSON-RPC are refused with "Odoo Session Expired" (code 100). */
  expireSessions(count = 1): void {
    this.expiries += count;
  }

  get stats() {
    return JSON.parse(JSON.stringify(this.statsData)) as ReturnType<typeof freshStats>;
  }

  get walkInPartnerId(): number {
    return SEED.walkInPartnerId;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(Object.keys(this.db.models).map((m) => [m, this.db.count(m)]));
  }

  orders(): OrderSummary[] {
    return this.db
      .all('sale.order')
      .sort((a, b) => a.id - b.id)
      .map((o) => ({
        id: o.id,
        name: o.name,
        client_order_ref: o.client_order_ref || false,
        state: o.state,
        partner_id: o.partner_id,
        lines: this.db.children('sale.order.line', 'order_id', o.id).length,
        amount_total: this.db.raw('sale.order', o, 'amount_total'),
        currency: this.db.get('res.currency', this.db.raw('sale.order', o, 'currency_id'))?.name ?? '',
        date_order: o.date_order,
        origin: o.origin || false,
      }));
  }

  /** Adds a product as someone would in Odoo (e.g. the missing SKU before a replay); returns its id. */
  addProduct(p: ExtraProduct): number {
    return this.db.transaction(() => {
      const storable = this.version >= 18 ? { type: 'consu', is_storable: true } : { type: 'product' };
      const id = this.db.create(
        'product.product',
        {
          name: p.name ?? p.sku,
          default_code: p.sku,
          list_price: p.listPrice ?? 0,
          taxes_id: [[6, 0, p.taxIds ?? []]],
          active: p.active ?? true,
          ...(p.service ? { type: 'service' } : storable),
        },
        {},
      );
      if (!p.service)
        this.db.createGeneric('stock.quant', { product_id: id, location_id: SEED.stockLocationId, quantity: p.stock ?? 0, reserved_quantity: 0 }, {}, true);
      return id;
    });
  }

  /**
   * Sets the reserved quantity of a product's quant in WH/Stock, as Odoo does when a delivery is
   * checked for availability (`stock.quant.reserved_quantity`, read-only in the UI and the API:
   * https://github.com/odoo/odoo/blob/17.0/addons/stock/models/stock_quant.py). For tests of what
   * Tillwire makes of the ERP's reservations.
   */
  reserveStock(sku: string, reserved: number): void {
    this.db.transaction(() => {
      const product = this.db.all('product.product').find((p) => p.default_code === sku);
      const quant = product && this.db.all('stock.quant').find((q) => q.product_id === product.id && q.location_id === SEED.stockLocationId);
      if (!quant) throw userError(`No stock of ${sku} in WH/Stock.`);
      setWritten(this.db, 'stock.quant', quant.id, 'reserved_quantity', reserved);
    });
  }

  /**
   * Moves the clock that stamps records' `create_date` and `write_date` forward, as if that much
   * time had passed: for tests of reads that follow `write_date`, without waiting.
   */
  advanceClock(seconds: number): void {
    this.db.clockOffsetMs += seconds * 1000;
  }

  /**
   * Deletes the quants that hold nothing (quantity and reserved 0), as Odoo's quant clean-up
   * (`stock.quant._unlink_zero_quants`) does: a location emptied then has no quant at all.
   */
  unlinkZeroQuants(): number {
    return this.db.transaction(() => {
      const ids = this.db
        .all('stock.quant')
        .filter((q) => !q.quantity && !q.reserved_quantity)
        .map((q) => q.id as number);
      if (ids.length) this.db.unlink('stock.quant', ids);
      return ids.length;
    });
  }

  /**
   * Puts `quantity` units of a SKU in a second internal location (created under WH on first use,
   * e.g. `Shelf 2` → `WH/Shelf 2`), as a warehouse with several stock locations holds them. For
   * tests of what a stock read makes of one SKU at several locations.
   */
  stockAt(sku: string, location: string, quantity: number): void {
    this.db.transaction(() => {
      const product = this.db.all('product.product').find((p) => p.default_code === sku);
      if (!product) throw userError(`No product ${sku}.`);
      const complete = `WH/${location}`;
      const wh = this.db.all('stock.location').find((l) => l.complete_name === 'WH');
      const loc =
        this.db.all('stock.location').find((l) => l.complete_name === complete)?.id ??
        this.db.create('stock.location', { name: location, complete_name: complete, usage: 'internal', location_id: wh?.id ?? false }, {});
      this.db.createGeneric('stock.quant', { product_id: product.id, location_id: loc, quantity, reserved_quantity: 0 }, {}, true);
    });
  }

  /**
   * Ships open outgoing transfers as a warehouse user would: sets the carrier (by name, created if
   * new) and tracking reference, then validates. Picks them by transfer name, or by the sales
   * order's name or client_order_ref. `doneAt` (Odoo datetime or RFC 3339) backdates `date_done`.
   */
  ship(opts: {
    picking?: string;
    order?: string;
    carrier?: string;
    trackingRef?: string;
    doneAt?: string;
  }): Array<{ name: string; state: string; date_done: string; carrier: string | false; tracking: string | false }> {
    return this.db.transaction(() => {
      const db = this.db;
      let pickings = db.all('stock.picking').filter((p) => p.picking_type_code === 'outgoing' && p.state !== 'done' && p.state !== 'cancel');
      if (opts.picking) pickings = pickings.filter((p) => p.name === opts.picking);
      if (opts.order) {
        const orders = new Set(
          db
            .all('sale.order')
            .filter((o) => o.name === opts.order || o.client_order_ref === opts.order)
            .map((o) => o.id),
        );
        pickings = pickings.filter((p) => orders.has(p.sale_id));
      }
      if (!opts.picking && !opts.order) throw userError('Say which transfer to ship (picking or order).');
      if (!pickings.length) throw userError(`No open delivery for ${opts.picking ?? opts.order}.`);
      let carrierId: number | false = false;
      if (opts.carrier)
        carrierId = db.all('delivery.carrier').find((c) => c.name === opts.carrier)?.id ?? db.create('delivery.carrier', { name: opts.carrier }, {});
      const at = opts.doneAt
        ? /T/.test(opts.doneAt)
          ? new Date(Date.parse(opts.doneAt)).toISOString().replace('T', ' ').slice(0, 19)
          : opts.doneAt
        : nowText();
      return pickings
        .sort((a, b) => a.id - b.id)
        .map((p) => {
          if (carrierId) db.set('stock.picking', p.id, 'carrier_id', carrierId);
          if (opts.trackingRef) db.set('stock.picking', p.id, 'carrier_tracking_ref', opts.trackingRef);
          validatePicking(db, p.id, at);
          const after = db.get('stock.picking', p.id)!;
          return {
            name: after.name,
            state: after.state,
            date_done: after.date_done,
            carrier: after.carrier_id ? db.displayName('delivery.carrier', after.carrier_id) : false,
            tracking: after.carrier_tracking_ref || false,
          };
        });
    });
  }

  /** Records of a model as `search_read` returns them (for assertions). */
  records(model: string, domain: unknown[] = [], fields?: string[]): Record<string, unknown>[] {
    return this.db.read(model, this.db.search(model, domain, { activeTest: false }), fields);
  }

  /** Calls a model method in process, as an API call would (one transaction). */
  call(model: string, method: string, params: Record<string, any> = {}): unknown {
    const { ids, context, ...named } = params;
    return unwrapCreated(
      this.db.transaction(() => this.execute(model, method, ids === undefined ? [] : [ids], named, context ?? {}, 'json2')),
      'json2',
    );
  }

  state() {
    const orders: Record<string, OrderSummary[]> = {};
    for (const o of this.orders()) (orders[o.client_order_ref || o.name] ??= []).push(o);
    return {
      version: this.version,
      database: this.database,
      counts: this.counts(),
      orders,
      duplicateRefs: Object.entries(orders)
        .filter(([, list]) => list.length > 1)
        .map(([ref]) => ref),
      faults: this.getFaults(),
      stats: this.stats,
    };
  }

  // ── HTTP ──

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const raw = await readBody(req);
    if (path.startsWith('/__simulator/')) return this.control(req.method ?? 'GET', path, raw, res);
    const api = path === '/jsonrpc' ? 'jsonrpc' : path.startsWith('/json/2/') ? 'json2' : undefined;
    if (req.method === 'GET' && (path === '/web/version' || path === '/json/version')) {
      return respond(res, { status: 200, body: { version: `${this.version}.0`, version_info: [this.version, 0, 0, 'final', 0, ''] } });
    }
    if (!api || req.method !== 'POST' || (api === 'json2' && this.version < 19)) return respond(res, { status: 404, html: HTML_PAGES[404] });

    this.statsData.requests++;
    const { only } = this.faults;
    const fault = this.injector.draw(!only || only.includes(callName(api, path, raw)));
    if (fault === 'error') {
      this.statsData.faults.error++;
      return respond(res, this.injectedError(api, raw));
    }
    if (fault === 'timeout') {
      this.statsData.faults.timeout++;
      // Nothing is done; the answer never comes (or a proxy gives up after a while).
      if (this.faults.timeoutDelayMs !== undefined) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.writableEnded && !res.destroyed) respond(res, { status: 504, html: HTML_PAGES[504] });
        }, this.faults.timeoutDelayMs);
        this.timers.add(timer);
      }
      return;
    }
    const lose = fault === 'lost';
    if (fault === 'slow') {
      this.statsData.faults.slow++;
      // Carried out late, whether or not the client is still waiting (a server does not know).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, this.faults.slowDelayMs);
        this.timers.add(timer);
      });
      if (!this.server) return;
    }
    const outcome = api === 'jsonrpc' ? this.jsonrpc(raw) : this.json2(path, req.headers, raw);
    if (fault === 'slow') this.statsData.faults.slowDone++;
    if (lose) {
      // The call was carried out and committed; its answer never arrives.
      this.statsData.faults.lost++;
      req.socket.destroy();
      return;
    }
    respond(res, outcome);
  }

  private injectedError(api: 'jsonrpc' | 'json2', raw: string): Outcome {
    const status = this.injector.pick([500, 502, 503, 429]);
    if (status === 500) {
      // A serialization failure Odoo could not retry away: retryable, in each API's own envelope.
      const fault = new OdooFault('psycopg2.errors.SerializationFailure', 'could not serialize access due to concurrent update', 500);
      return api === 'jsonrpc'
        ? { status: 200, body: { jsonrpc: '2.0', id: requestId(raw), error: { code: 0, message: 'Odoo Server Error', data: serialize(fault) } } }
        : { status: 500, body: serialize(fault) };
    }
    return { status, html: HTML_PAGES[status], headers: status === 429 || status === 503 ? { 'retry-after': '1' } : {} };
  }

  private control(method: string, path: string, raw: string, res: http.ServerResponse): void {
    let body: any = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return respond(res, { status: 400, body: { error: 'body must be JSON' } });
    }
    if (method === 'GET' && path === '/__simulator/state') return respond(res, { status: 200, body: this.state() });
    if (method === 'POST' && path === '/__simulator/faults') {
      this.setFaults(body ?? {});
      return respond(res, { status: 200, body: { faults: this.getFaults() } });
    }
    if (method === 'POST' && path === '/__simulator/reset') {
      this.reset(body?.faults);
      return respond(res, { status: 200, body: this.state() });
    }
    if (method === 'POST' && path === '/__simulator/ship') {
      try {
        return respond(res, { status: 200, body: { shipped: this.ship(body ?? {}) } });
      } catch (err) {
        return respond(res, { status: 422, body: { error: (err as Error).message } });
      }
    }
    if (method === 'POST' && path === '/__simulator/expire-session') {
      this.expireSessions(typeof body?.count === 'number' ? body.count : 1);
      return respond(res, { status: 200, body: { ok: true } });
    }
    respond(res, { status: 404, body: { error: `no simulator endpoint ${method} ${path}` } });
  }

  private countCall(model: string, method: string): void {
    const k = `${model}.${method}`;
    this.statsData.calls[k] = (this.statsData.calls[k] ?? 0) + 1;
  }

  private jsonrpc(raw: string): Outcome {
    let id: unknown = null;
    try {
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        return { status: 400, html: '<p>Invalid JSON data</p>' };
      }
      id = body?.id ?? null;
      const params = body?.params;
      if (!params || typeof params !== 'object' || Array.isArray(params)) throw typeError('params must be an object');
      const result = this.service(String(params.service), String(params.method), Array.isArray(params.args) ? params.args : []);
      const envelope: Record<string, unknown> = { jsonrpc: '2.0', id };
      if (result !== undefined && result !== null) envelope.result = result;
      return { status: 200, body: envelope };
    } catch (err) {
      const fault = asFault(err);
      const code = fault.rpcCode;
      const message = code === 100 ? 'Odoo Session Expired' : code === 404 ? '404: Not Found' : 'Odoo Server Error';
      return { status: 200, body: { jsonrpc: '2.0', id, error: { code, message, data: serialize(fault) } } };
    }
  }

  private service(service: string, method: string, args: any[]): unknown {
    if (service === 'common') {
      if (method === 'version') {
        return {
          server_version: `${this.version}.0`,
          server_version_info: [this.version, 0, 0, 'final', 0, ''],
          server_serie: `${this.version}.0`,
          protocol_version: 1,
        };
      }
      if (method === 'login' || method === 'authenticate') {
        const [db, login, password] = args;
        this.checkDatabase(db);
        return login === this.login && password === this.apiKey ? SEED.adminUserId : false;
      }
      throw new OdooFault('builtins.Exception', `Method not found: ${method}`, 500);
    }
    if (service === 'db') {
      if (method === 'list') return [this.database];
      if (method === 'server_version') return `${this.version}.0`;
      throw new OdooFault('builtins.Exception', `Method not found: ${method}`, 500);
    }
    if (service === 'object') {
      if (method !== 'execute_kw' && method !== 'execute') throw new OdooFault('builtins.Exception', `Method not found: ${method}`, 500);
      const [db, uid, password, model, name, ...rest] = args;
      if (this.expiries > 0) {
        this.expiries--;
        throw new OdooFault(SESSION_EXPIRED, 'Session expired', 403, SESSION_EXPIRED_CODE);
      }
      this.checkDatabase(db);
      if (uid !== SEED.adminUserId || password !== this.apiKey) throw accessDenied();
      const positional = method === 'execute_kw' ? (Array.isArray(rest[0]) ? rest[0] : []) : rest;
      const named = method === 'execute_kw' && rest[1] && typeof rest[1] === 'object' ? { ...rest[1] } : {};
      const context = named.context ?? {};
      delete named.context;
      this.countCall(String(model), String(name));
      return unwrapCreated(
        this.db.transaction(() => this.execute(String(model), String(name), positional, named, context, 'jsonrpc')),
        'jsonrpc',
      );
    }
    throw new OdooFault('builtins.Exception', `No such service: ${service}`, 500);
  }

  private checkDatabase(db: unknown): void {
    if (db !== this.database)
      throw new OdooFault('psycopg2.OperationalError', `connection to server failed: FATAL:  database "${String(db)}" does not exist`, 500);
  }

  private json2(path: string, headers: http.IncomingHttpHeaders, raw: string): Outcome {
    try {
      const auth = String(headers.authorization ?? '');
      const m = /^bearer\s+(.+)$/i.exec(auth.trim());
      if (!m || m[1] !== this.apiKey) throw new OdooFault('werkzeug.exceptions.Unauthorized', 'Invalid apikey', 401);
      const db = headers['x-odoo-database'];
      if (db !== undefined && db !== this.database) throw notFound(`database '${String(db)}' not found`);
      const parts = /^\/json\/2\/([^/]+)\/([^/]+)$/.exec(path);
      if (!parts) throw notFound('The requested URL was not found on the server.');
      const model = decodeURIComponent(parts[1]);
      const method = decodeURIComponent(parts[2]);
      if (!this.db.models[model]) throw notFound(`The model '${model}' does not exist.`);
      let body: any = {};
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch (e) {
          throw new OdooFault('werkzeug.exceptions.BadRequest', `could not parse the body as json: ${(e as Error).message}`, 400);
        }
      }
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw new OdooFault('werkzeug.exceptions.BadRequest', 'the body must be a JSON object', 400);
      const { ids, context, ...named } = body;
      this.countCall(model, method);
      const result = this.db.transaction(() => this.execute(model, method, ids === undefined ? [] : [ids], named, context ?? {}, 'json2'));
      return { status: 200, body: unwrapCreated(result, 'json2') ?? null };
    } catch (err) {
      const fault = asFault(err);
      return { status: fault.status, body: serialize(fault) };
    }
  }

  /** Binds the arguments the way Odoo's call_kw does and runs the method in the current transaction. */
  private execute(modelName: string, method: string, positional: unknown[], named: Record<string, unknown>, ctx: Ctx, api: 'jsonrpc' | 'json2'): unknown {
    const model = this.db.model(modelName);
    if (method.startsWith('_')) throw accessError(`Private methods (such as '${method}') cannot be called remotely.`);
    const m = model.methods?.[method] ?? genericMethods(modelName)[method];
    if (!m) throw new OdooFault('builtins.AttributeError', `The method '${modelName}.${method}' does not exist`, 500);
    let ids: number[] = [];
    let args = positional;
    if (m.records) {
      const first = args[0];
      if (first === undefined) throw typeError(`${method}() missing the records: pass the ids`);
      ids = typeof first === 'number' ? [first] : (first as number[]);
      if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'number' || !Number.isInteger(x)))
        throw typeError(`ids must be a list of integers, got ${JSON.stringify(first)}`);
      args = args.slice(1);
      this.db.ensure(modelName, ids);
    } else if (api === 'jsonrpc' && method === 'create' && args.length === 0) {
      // Odoo's call_kw for create reads the values positionally.
      throw new OdooFault('builtins.IndexError', 'tuple index out of range', 500);
    }
    if (args.length > m.params.length) throw typeError(`${method}() takes ${m.params.length} positional arguments but ${args.length} were given`);
    const kw: Record<string, unknown> = {};
    args.forEach((v, i) => (kw[m.params[i]] = v));
    for (const [k, v] of Object.entries(named)) {
      if (!m.params.includes(k)) throw typeError(`${method}() got an unexpected keyword argument '${k}'`);
      if (k in kw) throw typeError(`${method}() got multiple values for argument '${k}'`);
      kw[k] = v;
    }
    for (const r of m.required ?? []) if (!(r in kw)) throw typeError(`${method}() missing 1 required positional argument: '${r}'`);
    return m.run(this.db, ids, kw, ctx);
  }
}

function requestId(raw: string): unknown {
  try {
    return JSON.parse(raw)?.id ?? null;
  } catch {
    return null;
  }
}

/** "model.method" (or "service.method") of an API request, for fault targeting. */
function callName(api: 'jsonrpc' | 'json2', path: string, raw: string): string {
  if (api === 'json2') return path.split('/').slice(3, 5).map(decodeURIComponent).join('.');
  try {
    const params = JSON.parse(raw)?.params ?? {};
    if (params.service === 'object') {
      const args = Array.isArray(params.args) ? params.args : [];
      return `${args[3]}.${args[4]}`;
    }
    return `${params.service}.${params.method}`;
  } catch {
    return '';
  }
}

function unwrapCreated(result: unknown, api: 'jsonrpc' | 'json2'): unknown {
  if (result && typeof result === 'object' && CREATED in (result as object)) {
    const r = result as { [CREATED]: number[]; single: boolean };
    // JSON-RPC answers a single dict with its id; JSON-2 always returns the created ids.
    return api === 'jsonrpc' && r.single ? r[CREATED][0] : r[CREATED];
  }
  return result;
}

function asFault(err: unknown): OdooFault {
  if (err instanceof OdooFault) return err;
  const e = err as Error;
  return new OdooFault(`builtins.${e?.name ?? 'Exception'}`, e?.message ?? String(err), 500);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function respond(res: http.ServerResponse, out: Outcome): void {
  if (res.writableEnded || res.destroyed) return;
  if (out.html !== undefined) {
    res.writeHead(out.status, { 'content-type': 'text/html; charset=utf-8', ...out.headers });
    res.end(out.html);
    return;
  }
  const text = JSON.stringify(out.body ?? null);
  res.writeHead(out.status, { 'content-type': 'application/json; charset=utf-8', ...out.headers });
  res.end(text);
}

// ───────────────────────────────────────────── CLI ────────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  version: { kind: 'number', value: '<17|18|19>', help: 'Odoo major version to imitate (default 17; 19 adds JSON-2)' },
  db: { value: '<name>', help: 'database name (default tillwire)' },
  login: { value: '<name>', help: 'user login (default admin)' },
  'api-key': { value: '<text>', help: 'API key accepted (default tillwire-demo-key)' },
  currency: { value: '<ISO>', help: "the company's currency (default GBP)" },
  ...FAULT_FLAGS,
} as const satisfies Flags;

/** The simulator's options from its command line (--seed seeds the faults). */
export function parseCliArgs(argv: string[]): OdooSimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  const opts: OdooSimulatorOptions = {};
  if (v.port !== undefined) opts.port = v.port;
  if (v.host !== undefined) opts.host = v.host;
  if (v.version !== undefined) opts.version = v.version;
  if (v.db !== undefined) opts.database = v.db;
  if (v.login !== undefined) opts.login = v.login;
  if (v['api-key'] !== undefined) opts.apiKey = v['api-key'];
  if (v.currency !== undefined) opts.currency = v.currency;
  const faults: OdooFaults = {};
  if (v['error-rate'] !== undefined) faults.errorRate = v['error-rate'];
  if (v['timeout-rate'] !== undefined) faults.timeoutRate = v['timeout-rate'];
  if (v['lost-response-rate'] !== undefined) faults.lostResponseRate = v['lost-response-rate'];
  if (v.seed !== undefined) faults.seed = v.seed;
  if (Object.keys(faults).length) opts.faults = faults;
  if (opts.version !== undefined && !(opts.version >= 14 && opts.version <= 30))
    throw new Error(`--version must be an Odoo major version such as 17, 18 or 19`);
  return opts;
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Odoo simulator (Tillwire): JSON-RPC, and JSON-2 from version 19', 'node dist/simulators/odoo/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (opts) => {
      const sim = new OdooSimulator({ port: 18069, ...opts });
      const url = await sim.start();
      const apis = sim.version >= 19 ? 'JSON-RPC /jsonrpc and JSON-2 /json/2/<model>/<method>' : 'JSON-RPC /jsonrpc (JSON-2 needs --version 19)';
      return {
        lines: [
          `Odoo ${sim.version} simulator listening on ${url}`,
          `  APIs:        ${apis}`,
          `  database:    ${sim.database}`,
          `  login:       ${sim.login}`,
          `  API key:     ${sim.apiKey}`,
          `  walk-in customer partner id: ${sim.walkInPartnerId}`,
          `  state:       GET ${url}/__simulator/state`,
          `  ship:        POST ${url}/__simulator/ship {"order":"<client_order_ref>","carrier":"UPS","trackingRef":"1Z…"}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
