import { transpileSimulator } from '../support/simulators';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OdooSimulator, parseCliArgs, SEED } from '../../simulators/odoo/simulator';
import { startSimulator } from './support';

/** A raw JSON-RPC call, as any client would send it. */
async function rpc(sim: OdooSimulator, service: string, method: string, args: unknown[], id: unknown = 7) {
  const res = await fetch(`${sim.url}/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const kw = (sim: OdooSimulator, model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
  rpc(sim, 'object', 'execute_kw', [sim.database, SEED.adminUserId, sim.apiKey, model, method, args, kwargs]);

/** Result of an execute_kw that must succeed. */
async function ok(sim: OdooSimulator, model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
  const { body } = await kw(sim, model, method, args, kwargs);
  if (body.error) throw new Error(`${body.error.data.name}: ${body.error.data.message}`);
  return body.result;
}

async function json2(
  sim: OdooSimulator,
  model: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `bearer ${sim.apiKey}` },
) {
  const res = await fetch(`${sim.url}/json/2/${model}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

describe('Odoo simulator contract (docs/connectors/odoo.md)', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  describe('JSON-RPC', () => {
    beforeEach(async () => {
      sim = await startSimulator({ version: 17 });
    });

    it('common.version, login and authenticate (uid or false)', async () => {
      expect((await rpc(sim, 'common', 'version', [])).body.result).toMatchObject({ server_version: '17.0', server_version_info: [17, 0, 0, 'final', 0, ''] });
      expect((await rpc(sim, 'common', 'authenticate', ['tillwire', 'admin', 'tillwire-demo-key', {}])).body).toEqual({ jsonrpc: '2.0', id: 7, result: 2 });
      expect((await rpc(sim, 'common', 'login', ['tillwire', 'admin', 'wrong'])).body).toEqual({ jsonrpc: '2.0', id: 7, result: false });
    });

    it('errors are HTTP 200 envelopes keyed by data.name', async () => {
      const [id] = [await ok(sim, 'sale.order', 'create', [{ partner_id: 2, order_line: [[0, 0, { product_id: 1 }]] }])];
      expect(typeof id).toBe('number'); // a single dict gives its id
      await ok(sim, 'sale.order', 'action_confirm', [[id]]);
      const { status, body } = await kw(sim, 'sale.order', 'action_confirm', [[id]]);
      expect(status).toBe(200);
      expect(body).toEqual({
        jsonrpc: '2.0',
        id: 7,
        error: {
          code: 0,
          message: 'Odoo Server Error',
          data: {
            name: 'odoo.exceptions.UserError',
            message: 'It is not allowed to confirm an order in the following states: Sales Order',
            arguments: ['It is not allowed to confirm an order in the following states: Sales Order'],
            context: {},
            debug: expect.stringContaining('Traceback'),
          },
        },
      });
      expect((await rpc(sim, 'object', 'execute_kw', ['tillwire', 2, 'bad-key', 'res.partner', 'search', [[]]])).body.error.data.name).toBe(
        'odoo.exceptions.AccessDenied',
      );
      expect((await kw(sim, 'no.such.model', 'search', [[]])).body.error.data).toMatchObject({
        name: 'odoo.exceptions.UserError',
        message: "Object no.such.model doesn't exist",
      });
      expect((await kw(sim, 'res.partner', '_private', [])).body.error.data.name).toBe('odoo.exceptions.AccessError');
      sim.expireSessions();
      expect((await kw(sim, 'res.partner', 'search', [[]])).body.error).toMatchObject({
        code: 100,
        message: 'Odoo Session Expired',
        data: { name: 'odoo.http.SessionExpiredException' },
      });
    });

    it('binds arguments as call_kw does: positional then named; create needs its values positionally', async () => {
      expect(await ok(sim, 'res.partner', 'search_read', [[['id', '=', 2]], ['name']])).toEqual([{ id: 2, name: 'Walk-in Customer' }]);
      expect(await ok(sim, 'res.partner', 'search_read', [], { domain: [['id', '=', 2]], fields: ['ref'] })).toEqual([{ id: 2, ref: 'WALKIN' }]);
      expect((await kw(sim, 'res.partner', 'search_read', [[]], { domain: [] })).body.error.data).toMatchObject({
        name: 'builtins.TypeError',
        message: "search_read() got multiple values for argument 'domain'",
      });
      expect((await kw(sim, 'res.partner', 'search', [[]], { bogus: 1 })).body.error.data.message).toBe("search() got an unexpected keyword argument 'bogus'");
      expect((await kw(sim, 'res.partner', 'create', [], { vals_list: [{ name: 'x' }] })).body.error.data).toMatchObject({ name: 'builtins.IndexError' });
      expect(await ok(sim, 'res.partner', 'create', [[{ name: 'x' }, { name: 'y' }]])).toHaveLength(2); // a list gives ids
    });

    it('domains: implicit and, |, !, ilike, =like with escapes, dotted paths, active filtering', async () => {
      await ok(sim, 'res.partner', 'create', [
        [
          { name: 'a_b', email: 'A_B@x.com' },
          { name: 'aXb', email: 'axb@x.com' },
          { name: 'gone', active: false },
        ],
      ]);
      const names = async (domain: unknown[], kwargs = {}) => (await ok(sim, 'res.partner', 'search_read', [domain, ['name']], kwargs)).map((r: any) => r.name);
      expect(await names([['email', '=ilike', 'a\\_b@x.com']])).toEqual(['a_b']);
      expect((await names([['email', '=ilike', 'a_b@x.com']])).sort()).toEqual(['aXb', 'a_b']); // _ is a wildcard
      expect(await names(['|', ['name', '=', 'a_b'], ['ref', '=', 'WALKIN']], { order: 'id' })).toEqual(['Walk-in Customer', 'a_b']);
      expect(await names(['!', ['name', 'ilike', 'a']], { order: 'id' })).toEqual([]);
      expect(await names([['name', '=', 'gone']])).toEqual([]);
      expect(await names([['name', '=', 'gone']], { context: { active_test: false } })).toEqual(['gone']);
      expect(await ok(sim, 'product.pricelist', 'search', [[['currency_id.name', '=', 'JPY']]])).toHaveLength(1);
      expect((await kw(sim, 'res.partner', 'search', [[['nope', '=', 1]]])).body.error.data.name).toBe('builtins.ValueError');
    });

    it('each call is one transaction: a failing line leaves no order behind', async () => {
      const { body } = await kw(sim, 'sale.order', 'create', [
        {
          partner_id: 2,
          order_line: [
            [0, 0, { product_id: 1 }],
            [0, 0, { product_id: 999999 }],
          ],
        },
      ]);
      expect(body.error.data.name).toBe('odoo.exceptions.MissingError');
      expect(sim.counts()['sale.order']).toBe(0);
      expect(sim.counts()['sale.order.line']).toBe(0);
      expect(await ok(sim, 'sale.order', 'create', [{ partner_id: 2 }])).toBe(1); // the id was not used up either
    });

    it('lists: create(vals_list) is one transaction (one bad record, nothing created); `in` domains; action_confirm and write take every id', async () => {
      const good = (ref: string) => ({ partner_id: 2, client_order_ref: ref, order_line: [[0, 0, { product_id: 1 }]] });
      const refused = await kw(sim, 'sale.order', 'create', [[good('a'), { ...good('b'), order_line: [[0, 0, { product_id: 999999 }]] }, good('c')]]);
      expect(refused.body.error.data.name).toBe('odoo.exceptions.MissingError');
      expect(sim.counts()['sale.order']).toBe(0);
      const ids = await ok(sim, 'sale.order', 'create', [[good('a'), good('b'), good('c')]]);
      expect(ids).toHaveLength(3);
      expect(await ok(sim, 'sale.order', 'search', [[['client_order_ref', 'in', ['a', 'c', 'x']]]])).toEqual([ids[0], ids[2]].sort((x, y) => y - x));
      // Confirming a list with one order not in a confirmable state refuses the whole call.
      await ok(sim, 'sale.order', 'action_confirm', [[ids[0]]]);
      expect((await kw(sim, 'sale.order', 'action_confirm', [ids])).body.error.data.name).toBe('odoo.exceptions.UserError');
      expect(sim.orders().map((o) => o.state)).toEqual(['sale', 'draft', 'draft']);
      await ok(sim, 'sale.order', 'action_confirm', [[ids[1], ids[2]]]);
      await ok(sim, 'sale.order', 'write', [ids, { date_order: '2025-03-14 09:00:00' }]);
      expect(sim.orders().map((o) => [o.state, o.date_order])).toEqual(ids.map(() => ['sale', '2025-03-14 09:00:00']));
    });

    describe('load(fields, data) (nodes/odoo/contract.ts)', () => {
      const order = (ref: string) => ok(sim, 'sale.order', 'create', [{ partner_id: 2, client_order_ref: ref, order_line: [[0, 0, { product_id: 1 }]] }]);
      const dates = () => sim.orders().map((o) => o.date_order);
      /** sale.order load(fields, rows), with `context` when given. */
      const loadRows = (fields: string[], rows: string[][], context?: object) => ok(sim, 'sale.order', 'load', [fields, rows], context ? { context } : {});

      it('.id rows update those records (confirmed ones too), each with its own value; nothing is created', async () => {
        const ids = [await order('a'), await order('b')];
        await ok(sim, 'sale.order', 'action_confirm', [ids]);
        const result = await loadRows(
          ['.id', 'date_order', 'origin'],
          [
            [String(ids[0]), '2025-03-14 09:00:01', 'till T01'],
            [String(ids[1]), '2025-03-14 09:00:02', ''],
          ],
          { tz: 'UTC' },
        );
        expect(result).toEqual({ ids, messages: [], nextrow: 0 });
        expect(sim.orders().map((o) => [o.state, o.date_order])).toEqual([
          ['sale', '2025-03-14 09:00:01'],
          ['sale', '2025-03-14 09:00:02'],
        ]);
        expect((await ok(sim, 'sale.order', 'read', [ids, ['origin']])).map((r: any) => r.origin)).toEqual(['till T01', false]);
        expect(sim.counts()['sale.order']).toBe(2);
      });

      it('datetimes are read in the context tz, else the user’s tz, else UTC; write takes them as UTC', async () => {
        const id = await order('a');
        const load = (when: string, context?: object) => loadRows(['.id', 'date_order'], [[String(id), when]], context);
        await load('2025-03-14 09:00:00');
        expect(dates()).toEqual(['2025-03-14 09:00:00']); // no zone anywhere: UTC
        await ok(sim, 'res.users', 'write', [[SEED.adminUserId], { tz: 'Europe/Berlin' }]);
        await load('2025-03-14 09:00:00');
        expect(dates()).toEqual(['2025-03-14 08:00:00']); // the user's zone (CET, +01:00)
        await load('2025-07-14 09:00:00');
        expect(dates()).toEqual(['2025-07-14 07:00:00']); // summer time (CEST, +02:00)
        await load('2025-03-14 09:00:00', { tz: 'America/New_York' });
        expect(dates()).toEqual(['2025-03-14 13:00:00']); // the context's zone wins
        await load('2025-03-14 09:00:00', { tz: 'UTC' });
        expect(dates()).toEqual(['2025-03-14 09:00:00']);
        await load('2025-03-14 09:00:00', { tz: 'Mars/Olympus' }); // not a zone: the user's
        expect(dates()).toEqual(['2025-03-14 08:00:00']);
      });

      it('an unknown .id is an error message; nothing of the call is written and ids is false', async () => {
        const id = await order('a');
        const before = dates();
        const result = await loadRows(
          ['.id', 'date_order'],
          [
            [String(id), '2025-03-14 09:00:01'],
            ['999999', '2025-03-14 09:00:02'],
          ],
          { tz: 'UTC' },
        );
        expect(result.ids).toBe(false);
        expect(result.messages).toContainEqual(
          expect.objectContaining({ type: 'error', field: '.id', record: 1, message: "Unknown database identifier '999999'" }),
        );
        expect(dates()).toEqual(before);
        expect(sim.counts()['sale.order']).toBe(1); // the row without a known id was not created either
      });

      it('a row its write refuses, or a bad cell, rolls the whole call back, each reported on its row', async () => {
        const ids = [await order('a'), await order('b')];
        const before = dates();
        const refused = await loadRows(
          ['.id', 'date_order'],
          [
            [String(ids[0]), '2025-03-14 09:00:01'],
            [String(ids[1]), ''], // date_order is required: its write refuses an empty value
          ],
          { tz: 'UTC' },
        );
        expect(refused.ids).toBe(false);
        expect(refused.messages).toEqual([
          expect.objectContaining({ type: 'error', record: 1, message: expect.stringContaining('a mandatory field is not set') }),
        ]);
        const badCell = await loadRows(
          ['.id', 'date_order'],
          [
            [String(ids[0]), '2025-03-14 09:00:01'],
            [String(ids[1]), '2025-03-14T09:00:02Z'],
          ],
        );
        expect(badCell.ids).toBe(false);
        expect(badCell.messages).toEqual([
          expect.objectContaining({
            type: 'error',
            record: 1,
            field: 'date_order',
            message: "'2025-03-14T09:00:02Z' does not seem to be a valid datetime for field 'Order Date'",
          }),
        ]);
        expect(dates()).toEqual(before);
      });

      it('an unknown column is a Python error for the whole call', async () => {
        const { body } = await kw(sim, 'sale.order', 'load', [['.id', 'no_such_field'], [['1', 'x']]]);
        expect(body.error.data.name).toBe('builtins.ValueError');
      });
    });

    it('dates must be in Odoo’s format, not RFC 3339', async () => {
      const { body } = await kw(sim, 'sale.order', 'create', [{ partner_id: 2, date_order: '2025-03-14T17:42:10Z' }]);
      expect(body.error.data).toMatchObject({
        name: 'builtins.ValueError',
        message: "time data '2025-03-14T17:42:10Z' does not match format '%Y-%m-%d %H:%M:%S'",
      });
    });

    it('sale.order: draft → sale → cancel → draft; confirmation stamps date_order; state only through methods', async () => {
      const id = await ok(sim, 'sale.order', 'create', [
        { partner_id: 2, date_order: '2025-01-01 10:00:00', order_line: [[0, 0, { product_id: 1, product_uom_qty: 2 }]] },
      ]);
      const read = async () => (await ok(sim, 'sale.order', 'read', [[id], ['state', 'date_order', 'amount_total']]))[0];
      expect((await read()).state).toBe('draft');
      expect((await kw(sim, 'sale.order', 'write', [[id], { state: 'sale' }])).body.error.data.name).toBe('odoo.exceptions.UserError');
      await ok(sim, 'sale.order', 'action_confirm', [[id]]);
      const confirmed = await read();
      expect(confirmed.state).toBe('sale');
      expect(confirmed.date_order).not.toBe('2025-01-01 10:00:00');
      expect((await kw(sim, 'sale.order', 'unlink', [[id]])).body.error.data.message).toContain(
        'You can not delete a sent quotation or a confirmed sales order',
      );
      const wizard = await ok(sim, 'sale.order', 'action_cancel', [[id]]);
      expect(wizard).toMatchObject({ type: 'ir.actions.act_window', res_model: 'sale.order.cancel' });
      expect((await read()).state).toBe('sale');
      expect(await ok(sim, 'sale.order', 'action_cancel', [[id]], { context: { disable_cancel_warning: true } })).toBe(true);
      expect((await read()).state).toBe('cancel');
      expect((await kw(sim, 'sale.order', 'action_confirm', [[id]])).body.error.data.message).toBe(
        'It is not allowed to confirm an order in the following states: Cancelled',
      );
      await ok(sim, 'sale.order', 'action_draft', [[id]]);
      expect((await read()).state).toBe('draft');
      expect(await ok(sim, 'sale.order', 'unlink', [[id]])).toBe(true);
    });

    it('account.move: unbalanced entries are refused on post; draft → posted → cancel → draft', async () => {
      const line = (account: number, debit: number, credit: number) => [0, 0, { account_id: account, name: 'l', debit, credit }];
      const unbalanced = await ok(sim, 'account.move', 'create', [
        { ref: 'bad', date: '2025-03-17', journal_id: SEED.miscJournalId, line_ids: [line(SEED.accounts.bank, 100.1, 0), line(SEED.accounts.sales, 0, 100)] },
      ]);
      const { body } = await kw(sim, 'account.move', 'action_post', [[unbalanced]]);
      expect(body.error.data).toMatchObject({
        name: 'odoo.exceptions.UserError',
        message: `Cannot create unbalanced journal entry. Ids: [${unbalanced}]\nDifferences debit - credit: [0.1]`,
      });
      const id = await ok(sim, 'account.move', 'create', [
        { ref: 'ok', date: '2025-03-17', line_ids: [line(SEED.accounts.bank, 0.1, 0), line(SEED.accounts.bank, 0.2, 0), line(SEED.accounts.sales, 0, 0.3)] },
      ]);
      await ok(sim, 'account.move', 'action_post', [[id]]);
      const read = async () => (await ok(sim, 'account.move', 'read', [[id], ['name', 'state', 'amount_total']]))[0];
      expect(await read()).toEqual({ id, name: 'MISC/2025/03/0001', state: 'posted', amount_total: 0.3 });
      expect((await kw(sim, 'account.move', 'action_post', [[id]])).body.error.data.message).toBe('The entry MISC/2025/03/0001 (id 2) is already posted.');
      expect((await kw(sim, 'account.move', 'unlink', [[id]])).body.error.data.message).toBe('You cannot delete an entry which has been posted once.');
      expect((await kw(sim, 'account.move', 'write', [[id], { date: '2025-03-18' }])).body.error.data.message).toBe(
        'You cannot modify a posted entry of this journal.',
      );
      expect((await kw(sim, 'account.move.line', 'create', [{ move_id: id, account_id: 1, debit: 1, credit: 1 }])).body.error.data.name).toBe(
        'odoo.exceptions.ValidationError',
      );
      await ok(sim, 'account.move', 'button_cancel', [[id]]);
      expect((await read()).state).toBe('cancel');
      expect((await kw(sim, 'account.move', 'button_cancel', [[id]])).body.error.data.message).toBe('Only draft journal entries can be cancelled.');
      expect((await kw(sim, 'account.move', 'action_post', [[id]])).body.error.data.name).toBe('odoo.exceptions.UserError');
      await ok(sim, 'account.move', 'button_draft', [[id]]);
      expect((await read()).state).toBe('draft');
    });

    it('account.move out_refund: invoice lines (product taxes by default), totals like sale.order, needs a customer to post, numbered RINV/…', async () => {
      const jpy = (await ok(sim, 'res.currency', 'search_read', [[['name', '=', 'JPY']], ['id']]))[0].id;
      const product = (await ok(sim, 'product.product', 'search_read', [[['default_code', '=', 'SENCHA-100G']], ['id']]))[0].id;
      const lines = [
        [0, 0, { product_id: product, quantity: 2, price_unit: 1620, tax_ids: [[6, 0, [SEED.taxes.jpCt8Included]]] }],
        [0, 0, { product_id: product, quantity: 1, price_unit: 1000, tax_ids: [[6, 0, [SEED.taxes.vat20]]] }],
      ];
      const id = await ok(sim, 'account.move', 'create', [
        { move_type: 'out_refund', ref: 'return:x:1', invoice_origin: 'S00001', currency_id: jpy, invoice_line_ids: lines },
      ]);
      const read = async () =>
        (await ok(sim, 'account.move', 'read', [[id], ['name', 'state', 'journal_id', 'amount_untaxed', 'amount_tax', 'amount_total', 'invoice_line_ids']]))[0];
      // 3240 incl. 8 % → 3000 + 240; 1000 + 20 % on top → 1200
      expect(await read()).toMatchObject({
        name: '/',
        state: 'draft',
        journal_id: [2, 'Customer Invoices'],
        amount_untaxed: 4000,
        amount_tax: 440,
        amount_total: 4440,
      });
      expect((await kw(sim, 'account.move', 'action_post', [[id]])).body.error.data.message).toBe(
        "The field 'Customer' is required, please complete it to validate the Customer Credit Note.",
      );
      await ok(sim, 'account.move', 'write', [[id], { partner_id: SEED.walkInPartnerId, invoice_date: '2025-03-21' }]);
      await ok(sim, 'account.move', 'action_post', [[id]]);
      expect(await read()).toMatchObject({ name: 'RINV/2025/00001', state: 'posted', amount_total: 4440 });
      const [defaulted] = await ok(sim, 'account.move.line', 'search_read', [[['move_id', '=', id]], ['tax_ids', 'account_id', 'display_type']]);
      expect(defaulted).toMatchObject({
        tax_ids: [SEED.taxes.jpCt8Included],
        account_id: [SEED.accounts.sales, '400000 Product Sales'],
        display_type: 'product',
      });
      // a product's own taxes when none are given
      const inv = await ok(sim, 'account.move', 'create', [
        { move_type: 'out_invoice', partner_id: 2, invoice_date: '2025-03-22', invoice_line_ids: [[0, 0, { product_id: 1, quantity: 1, price_unit: 12 }]] },
      ]);
      expect((await ok(sim, 'account.move.line', 'search_read', [[['move_id', '=', inv]], ['tax_ids']]))[0].tax_ids).toEqual([SEED.taxes.vat20Included]);
      await ok(sim, 'account.move', 'action_post', [[inv]]);
      expect((await ok(sim, 'account.move', 'read', [[inv], ['name', 'amount_total']]))[0]).toMatchObject({ name: 'INV/2025/00001', amount_total: 12 });
    });

    it('stock.picking: confirming a sales order creates its outgoing transfer; shipping it (control endpoint) validates it, stamps date_done, takes the stock', async () => {
      const order = await ok(sim, 'sale.order', 'create', [
        {
          partner_id: 2,
          client_order_ref: 'order:shop:-:1',
          order_line: [
            [0, 0, { product_id: 2, product_uom_qty: 3 }],
            [0, 0, { product_id: 3, product_uom_qty: -1 }],
          ],
        },
      ]);
      expect(await ok(sim, 'stock.picking', 'search_count', [[]])).toBe(0);
      await ok(sim, 'sale.order', 'action_confirm', [[order]]);
      const [picking] = await ok(sim, 'stock.picking', 'search_read', [
        [['sale_id', '=', order]],
        ['name', 'state', 'picking_type_code', 'origin', 'move_ids'],
      ]);
      expect(picking).toMatchObject({ name: 'WH/OUT/00001', state: 'assigned', picking_type_code: 'outgoing', origin: 'S00001' });
      expect(picking.move_ids).toHaveLength(1); // the returned item (negative) ships nothing
      expect((await kw(sim, 'stock.picking', 'write', [[picking.id], { state: 'done' }])).body.error.data.name).toBe('odoo.exceptions.UserError');
      const before = (await ok(sim, 'product.product', 'read', [[2], ['qty_available']]))[0].qty_available;
      const shipped = await fetch(`${sim.url}/__simulator/ship`, {
        method: 'POST',
        body: JSON.stringify({ order: 'order:shop:-:1', carrier: 'UPS', trackingRef: '1Z1', doneAt: '2025-03-16 08:00:00' }),
      }).then((r) => r.json());
      expect(shipped).toEqual({ shipped: [{ name: 'WH/OUT/00001', state: 'done', date_done: '2025-03-16 08:00:00', carrier: 'UPS', tracking: '1Z1' }] });
      expect((await ok(sim, 'stock.move', 'search_read', [[['picking_id', '=', picking.id]], ['state', 'quantity']]))[0]).toMatchObject({
        state: 'done',
        quantity: 3,
      });
      expect((await ok(sim, 'product.product', 'read', [[2], ['qty_available']]))[0].qty_available).toBe(before - 3);
      const again = await fetch(`${sim.url}/__simulator/ship`, { method: 'POST', body: JSON.stringify({ order: 'order:shop:-:1' }) });
      expect(again.status).toBe(422);
      expect(await ok(sim, 'stock.picking', 'button_validate', [[picking.id]]).catch((e: Error) => e.message)).toBe(
        'odoo.exceptions.UserError: The transfer WH/OUT/00001 is already done.',
      );
    });

    it('stock.quant: counted quantities only in inventory mode, applied with action_apply_inventory', async () => {
      const quant = (await ok(sim, 'stock.quant', 'search_read', [[['product_id.default_code', '=', 'SKU-0002']], ['quantity', 'inventory_quantity_set']]))[0];
      expect(quant).toMatchObject({ quantity: 33, inventory_quantity_set: false });
      expect(
        (await kw(sim, 'stock.quant', 'create', [{ product_id: 2, location_id: SEED.stockLocationId, inventory_quantity: 5 }])).body.error.data.message,
      ).toBe("Quant's creation is restricted, you can't do this operation.");
      expect((await kw(sim, 'stock.quant', 'write', [[quant.id], { quantity: 5 }], { context: { inventory_mode: true } })).body.error.data.message).toBe(
        "Quant's editing is restricted, you can't do this operation.",
      );
      // the same product and location again: the existing quant, not a duplicate
      const same = await ok(sim, 'stock.quant', 'create', [{ product_id: 2, location_id: SEED.stockLocationId, inventory_quantity: 12 }], {
        context: { inventory_mode: true },
      });
      expect(same).toBe(quant.id);
      expect((await ok(sim, 'stock.quant', 'read', [[quant.id], ['inventory_diff_quantity']]))[0].inventory_diff_quantity).toBe(-21);
      await ok(sim, 'stock.quant', 'action_apply_inventory', [[quant.id]]);
      expect((await ok(sim, 'stock.quant', 'read', [[quant.id], ['quantity', 'inventory_quantity_set']]))[0]).toEqual({
        id: quant.id,
        quantity: 12,
        inventory_quantity_set: false,
      });
      expect(
        await ok(sim, 'stock.move', 'search_count', [
          [
            ['product_id', '=', 2],
            ['state', '=', 'done'],
          ],
        ]),
      ).toBe(1);
      expect((await ok(sim, 'product.product', 'read', [[2], ['qty_available']]))[0].qty_available).toBe(12);
    });

    it('JSON-2 does not exist before Odoo 19', async () => {
      const res = await json2(sim, 'res.partner', 'search', { domain: [] });
      expect(res.status).toBe(404);
      expect(res.type).toContain('text/html');
    });

    it('version 17 line fields are tax_id / product_uom and storable products are type "product"', async () => {
      const fields = await ok(sim, 'sale.order.line', 'fields_get', [], { attributes: ['type'] });
      expect(fields).toMatchObject({ tax_id: { type: 'many2many' }, product_uom: { type: 'many2one' } });
      expect(fields.tax_ids).toBeUndefined();
      expect((await ok(sim, 'product.product', 'read', [[1], ['type']]))[0].type).toBe('product');
    });
  });

  describe('JSON-2 (Odoo 19)', () => {
    beforeEach(async () => {
      sim = await startSimulator({ version: 19 });
    });

    it('bearer key, optional X-Odoo-Database, named parameters, plain JSON results', async () => {
      expect(await json2(sim, 'res.partner', 'search_read', { domain: [['id', '=', 2]], fields: ['name'] })).toMatchObject({
        status: 200,
        body: [{ id: 2, name: 'Walk-in Customer' }],
      });
      expect((await json2(sim, 'res.partner', 'create', { vals_list: { name: 'one' } })).body).toEqual([4]); // always the ids
      expect(
        (await json2(sim, 'res.partner', 'write', { ids: [4], vals: { ref: 'R' } }, { authorization: `Bearer ${sim.apiKey}`, 'x-odoo-database': 'tillwire' }))
          .body,
      ).toBe(true);
      const fields = (await json2(sim, 'sale.order.line', 'fields_get', { attributes: ['type'] })).body;
      expect(fields).toMatchObject({ tax_ids: { type: 'many2many' }, product_uom_id: { type: 'many2one' } });
      expect((await json2(sim, 'product.product', 'read', { ids: [1], fields: ['type', 'is_storable'] })).body).toEqual([
        { id: 1, type: 'consu', is_storable: true },
      ]);
      const loaded = await json2(sim, 'res.partner', 'load', { fields: ['.id', 'ref'], data: [['4', 'R2']], context: { tz: 'UTC' } });
      expect(loaded.body).toEqual({ ids: [4], messages: [], nextrow: 0 });
    });

    it('401 Invalid apikey, 404 unknown model, 422 UserError, 500 for Python errors', async () => {
      const unauthorized = await json2(sim, 'res.partner', 'search', { domain: [] }, { authorization: 'bearer nope' });
      expect(unauthorized).toMatchObject({
        status: 401,
        body: { name: 'werkzeug.exceptions.Unauthorized', message: 'Invalid apikey', arguments: ['Invalid apikey'], context: {}, debug: expect.any(String) },
      });
      expect((await json2(sim, 'res.partner', 'search', { domain: [] }, {})).status).toBe(401);
      expect((await json2(sim, 'no.model', 'search', { domain: [] })).status).toBe(404);
      expect((await json2(sim, 'res.partner', 'search', { domain: [] }, { authorization: `bearer ${sim.apiKey}`, 'x-odoo-database': 'other' })).status).toBe(
        404,
      );
      const [id] = (await json2(sim, 'sale.order', 'create', { vals_list: [{ partner_id: 2, order_line: [[0, 0, { product_id: 1 }]] }] })).body;
      await json2(sim, 'sale.order', 'action_confirm', { ids: [id] });
      expect(await json2(sim, 'sale.order', 'action_confirm', { ids: [id] })).toMatchObject({ status: 422, body: { name: 'odoo.exceptions.UserError' } });
      expect(await json2(sim, 'res.partner', 'search', { domain: [], bogus: 1 })).toMatchObject({ status: 500, body: { name: 'builtins.TypeError' } });
    });
  });

  describe('faults and state inspection', () => {
    beforeEach(async () => {
      sim = await startSimulator({ version: 19 });
    });

    it('errorRate 1: 500/502/503/429 before anything is done', async () => {
      sim.setFaults({ errorRate: 1, seed: 3 });
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) statuses.add((await json2(sim, 'res.partner', 'create', { vals_list: [{ name: `p${i}` }] })).status);
      expect([...statuses].sort()).toEqual([429, 500, 502, 503]);
      expect(sim.counts()['res.partner']).toBe(3);
      expect(sim.stats.faults.error).toBe(30);
    });

    it('timeoutRate with a delay: 504 from the "proxy", nothing done', async () => {
      sim.setFaults({ timeoutRate: 1, timeoutDelayMs: 20 });
      const res = await json2(sim, 'res.partner', 'create', { vals_list: [{ name: 'late' }] });
      expect(res.status).toBe(504);
      expect(sim.counts()['res.partner']).toBe(3);
    });

    it('only: faults hit the named calls and nothing else', async () => {
      sim.setFaults({ errorRate: 1, only: ['res.partner.create'] });
      expect((await json2(sim, 'res.partner', 'search', { domain: [] })).status).toBe(200);
      expect((await json2(sim, 'res.partner', 'create', { vals_list: [{ name: 'x' }] })).status).not.toBe(200);
      expect((await kw(sim, 'res.partner', 'search', [[]])).body.result).toEqual([3, 1, 2]);
      expect(sim.stats.faults.error).toBe(1);
    });

    it('slowRate: the call is carried out late, after the delay', async () => {
      sim.setFaults({ slowRate: 1, slowDelayMs: 30 });
      const started = Date.now();
      const res = await json2(sim, 'res.partner', 'create', { vals_list: [{ name: 'late' }] });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(25);
      expect(sim.stats.faults.slow).toBe(1);
    });

    it('lostResponseRate: the call is committed, the connection drops', async () => {
      sim.setFaults({ lostResponseRate: 1 });
      await expect(json2(sim, 'res.partner', 'create', { vals_list: [{ name: 'committed' }] })).rejects.toThrow('fetch failed');
      sim.setFaults({});
      expect(sim.records('res.partner', [['name', '=', 'committed']], ['name'])).toHaveLength(1);
    });

    it('over HTTP: state with orders by client_order_ref, faults, reset, session expiry', async () => {
      const control = (p: string, body?: unknown) =>
        fetch(`${sim.url}/__simulator/${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
      await json2(sim, 'sale.order', 'create', {
        vals_list: [
          { partner_id: 2, client_order_ref: 'k1', order_line: [[0, 0, { product_id: 1, product_uom_qty: 2 }]] },
          { partner_id: 2, client_order_ref: 'k1' },
        ],
      });
      const state = await control('state');
      expect(state).toMatchObject({ version: 19, database: 'tillwire', counts: { 'sale.order': 2, 'product.product': 62 }, duplicateRefs: ['k1'] });
      expect(state.orders.k1[0]).toEqual({
        id: 1,
        name: 'S00001',
        client_order_ref: 'k1',
        state: 'draft',
        partner_id: 2,
        lines: 1,
        amount_total: 9.98,
        currency: 'GBP',
        date_order: expect.any(String),
        origin: false,
      });
      expect(await control('faults', { errorRate: 0.5, seed: 4, only: ['sale.order.create'] })).toEqual({
        faults: { errorRate: 0.5, timeoutRate: 0, lostResponseRate: 0, slowRate: 0, slowDelayMs: 1000, only: ['sale.order.create'], seed: 4 },
      });
      expect(sim.getFaults().errorRate).toBe(0.5);
      expect(await control('expire-session', { count: 1 })).toEqual({ ok: true });
      const reset = await control('reset', {});
      expect(reset.counts['sale.order']).toBe(0);
      expect(reset.faults.errorRate).toBe(0);
      expect(reset.stats.requests).toBe(0);
    });
  });

  it('CLI options', () => {
    expect(parseCliArgs(['--port', '18069', '--version=19', '--db', 'shop', '--api-key', 'k', '--login', 'me', '--error-rate', '0.1', '--seed', '5'])).toEqual({
      port: 18069,
      version: 19,
      database: 'shop',
      apiKey: 'k',
      login: 'me',
      faults: { errorRate: 0.1, seed: 5 },
    });
    expect(() => parseCliArgs(['--bogus'])).toThrow('unknown option --bogus');
    sim = new OdooSimulator();
  });

  it('the CLI (compiled) prints the credentials, answers, and stops on SIGTERM', async () => {
    sim = new OdooSimulator();
    // Compile the simulator and what it imports to a scratch directory (never dist/).
    const out = transpileSimulator('simulators/odoo/simulator.ts');
    const child = spawn(process.execPath, [path.join(out, 'simulators/odoo/simulator.js'), '--port', '0', '--version', '19'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m && stdout.includes('API key')) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
    });
    expect(stdout).toContain('database:    tillwire');
    expect(stdout).toContain('login:       admin');
    expect(stdout).toContain('API key:     tillwire-demo-key');
    const version = await fetch(`${url}/web/version`).then((r) => r.json());
    expect(version).toEqual({ version: '19.0', version_info: [19, 0, 0, 'final', 0, ''] });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
