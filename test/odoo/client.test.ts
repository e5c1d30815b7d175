import { ConnectorError, TokenBucket } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';
import { classifyOdoo, OdooClient } from '../../nodes/odoo/client';
import { observeCalls, type CallEvent } from '../../nodes/runtime/call-observer';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { clientFor, startSimulator, FAST } from './support';

const headers = (h: Record<string, string> = {}) => new Headers(h);

describe('classifyOdoo', () => {
  const rpcError = (name: string, code = 0, message = 'boom') => ({
    status: 200,
    headers: headers(),
    body: { jsonrpc: '2.0', id: 1, error: { code, message: 'Odoo Server Error', data: { name, message, arguments: [message], context: {}, debug: '' } } },
  });

  it.each([
    'odoo.exceptions.UserError',
    'odoo.exceptions.ValidationError',
    'odoo.exceptions.AccessError',
    'odoo.exceptions.AccessDenied',
    'odoo.exceptions.MissingError',
    'builtins.ValueError',
  ])('JSON-RPC %s in an HTTP 200 envelope is a permanent failure', (name) => {
    expect(classifyOdoo(rpcError(name))).toEqual({ ok: false, retryable: false, code: name, message: `${name.split('.').pop()}: boom` });
  });

  it('JSON-RPC errors Odoo may clear up on its own (serialization failures, unknown) are retryable', () => {
    expect(classifyOdoo(rpcError('psycopg2.errors.SerializationFailure'))).toMatchObject({ ok: false, retryable: true });
    expect(classifyOdoo(rpcError('some.future.Error'))).toMatchObject({ ok: false, retryable: true });
  });

  it('a missing database is permanent even though it arrives as a connection error', () => {
    expect(classifyOdoo(rpcError('psycopg2.OperationalError', 0, 'FATAL:  database "x" does not exist'))).toMatchObject({ retryable: false, kind: 'value' });
  });

  it('JSON-RPC session expired (code 100) is flagged for re-authentication, not retried blindly', () => {
    expect(classifyOdoo(rpcError('odoo.http.SessionExpiredException', 100))).toMatchObject({
      ok: false,
      retryable: false,
      code: 'odoo.http.SessionExpiredException',
    });
  });

  it('a JSON-RPC result is a success; so is a JSON-2 body', () => {
    expect(classifyOdoo({ status: 200, headers: headers(), body: { jsonrpc: '2.0', id: 1, result: false } })).toEqual({ ok: true });
    expect(classifyOdoo({ status: 200, headers: headers(), body: [1, 2] })).toEqual({ ok: true });
  });

  it('JSON-2: 401 Invalid apikey and 4xx exceptions are permanent; 5xx serialization failures retryable with Retry-After', () => {
    const j2 = (status: number, name: string, h: Record<string, string> = {}) => ({
      status,
      headers: headers(h),
      body: { name, message: 'm', arguments: [], context: {}, debug: '' },
    });
    expect(classifyOdoo(j2(401, 'werkzeug.exceptions.Unauthorized'))).toMatchObject({ retryable: false });
    expect(classifyOdoo(j2(422, 'odoo.exceptions.UserError'))).toMatchObject({ retryable: false });
    expect(classifyOdoo(j2(500, 'builtins.TypeError'))).toMatchObject({ retryable: false });
    expect(classifyOdoo(j2(503, 'psycopg2.errors.SerializationFailure', { 'retry-after': '3' }))).toMatchObject({ retryable: true, retryAfterMs: 3000 });
  });

  it('non-JSON answers (proxies) are left to the status-code defaults', () => {
    expect(classifyOdoo({ status: 502, headers: headers(), body: '<html>502 Bad Gateway</html>' })).toBeUndefined();
  });
});

describe.each(['jsonrpc', 'json2'] as const)('OdooClient over %s', (api) => {
  let sim: OdooSimulator;
  let client: OdooClient;
  beforeAll(async () => {
    sim = await startSimulator({ version: 19 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    client = clientFor(sim, api);
  });
  afterEach(() => client.close());

  it('searchRead with domain, fields, order and limit', async () => {
    const rows = await client.searchRead('product.product', [['default_code', 'in', ['SKU-0002', 'SKU-0001', 'NOPE']]], {
      fields: ['default_code', 'uom_id'],
      order: 'default_code desc',
      limit: 5,
    });
    expect(rows.map((r) => r.default_code)).toEqual(['SKU-0002', 'SKU-0001']);
    expect(rows[0].uom_id).toEqual([SEED.unitsUomId, 'Units']);
  });

  it('create (one and many), write, read, call and unlink', async () => {
    const [partner] = await client.create('res.partner', { name: 'Jordan Lee', email: 'jordan@example.com' });
    const two = await client.create('res.partner', [{ name: 'A' }, { name: 'B' }]);
    expect(two).toHaveLength(2);
    expect(await client.write('res.partner', [partner], { ref: 'C-1' })).toBe(true);
    expect(await client.read('res.partner', [partner], ['name', 'ref'])).toEqual([{ id: partner, name: 'Jordan Lee', ref: 'C-1' }]);
    expect(await client.searchCount('res.partner', [['ref', '=', 'C-1']])).toBe(1);
    expect(await client.search('res.partner', [['name', 'in', ['A', 'B']]], { order: 'name' })).toEqual(two);
    const fields = await client.call<Record<string, any>>('sale.order.line', 'fields_get', { attributes: ['type', 'relation'] });
    expect(fields.tax_ids).toEqual({ type: 'many2many', relation: 'account.tax' });
    expect(fields.tax_id).toBeUndefined();
    expect(await client.unlink('res.partner', two)).toBe(true);
    expect(await client.searchCount('res.partner', [['id', 'in', two]])).toBe(0);
  });

  it('a UserError is permanent and says what Odoo said', async () => {
    const [order] = await client.create('sale.order', { partner_id: SEED.walkInPartnerId, order_line: [[0, 0, { product_id: 1 }]] });
    await client.call('sale.order', 'action_confirm', { ids: [order] });
    const err: ConnectorError = await client.call<never>('sale.order', 'action_confirm', { ids: [order] }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.cause).toEqual({
      system: 'odoo',
      operation: 'sale.order.action_confirm',
      kind: 'value',
      retryable: false,
      // JSON-RPC reports it in an HTTP 200 envelope; JSON-2 with a 4xx.
      status: api === 'jsonrpc' ? 200 : 422,
      attempts: 1,
      providerCode: 'odoo.exceptions.UserError',
      providerMessage: 'It is not allowed to confirm an order in the following states: Sales Order',
    });
  });

  it('an unknown field is a permanent ValueError (the version trap: tax_id on Odoo 19)', async () => {
    const err: ConnectorError = await client
      .create('sale.order', { partner_id: 2, order_line: [[0, 0, { product_id: 1, tax_id: [[6, 0, []]] }]] })
      .catch((e) => e);
    expect(err.cause).toMatchObject({
      operation: 'sale.order.create',
      kind: 'value',
      retryable: false,
      providerCode: 'builtins.ValueError',
      providerMessage: "Invalid field 'tax_id' on model 'sale.order.line'",
    });
    expect(sim.counts()['sale.order']).toBe(0); // the call rolled back as a whole
  });

  it('a wrong API key is refused permanently', async () => {
    const bad = clientFor(sim, api, { apiKey: 'wrong' });
    const err: ConnectorError = await bad.searchRead('res.partner', []).catch((e) => e);
    expect(err.retryable).toBe(false);
    if (api === 'json2') {
      expect(err.cause).toMatchObject({ operation: 'res.partner.search_read', kind: 'auth', status: 401, retryable: false, providerMessage: 'Invalid apikey' });
    } else {
      expect(err.cause).toMatchObject({ operation: 'authenticate', kind: 'auth', retryable: false });
      expect(err.description).toContain("login 'admin' on database 'tillwire' was refused");
    }
    await bad.close();
  });

  it('retries 5xx and 429 from the server, then succeeds; each retry is reported to the listener in scope', async () => {
    sim.setFaults({ errorRate: 0.3, seed: 7 });
    client = clientFor(sim, api, { policy: { ...FAST, maxAttempts: 10 } });
    const retries: CallEvent[] = [];
    const rows = await observeCalls(
      (i) => retries.push(i),
      async () => {
        const out = [];
        for (let i = 0; i < 10; i++) out.push(...(await client.searchRead('res.partner', [['id', '=', SEED.walkInPartnerId]], { fields: ['name'] })));
        return out;
      },
    );
    expect(rows.every((r) => r.name === 'Walk-in Customer')).toBe(true);
    expect(sim.stats.faults.error).toBeGreaterThan(0);
    expect(retries.length).toBe(sim.stats.faults.error);
    for (const r of retries) {
      expect(r).toMatchObject({ system: 'odoo', operation: expect.stringMatching(/^(authenticate|res\.partner\.search_read)$/) });
      // HTTP 429 is throttling; 5xx and Odoo's serialization failures (HTTP 200, JSON-RPC) are retries.
      if (r.status === 429) expect(r).toMatchObject({ type: 'throttle', kind: 'rate-limit' });
      else expect(r).toMatchObject({ type: 'retry', kind: expect.stringMatching(/^(unavailable|conflict)$/) });
    }
  });
});

describe('OdooClient specifics', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  it('JSON-RPC: an expired session logs in again once and resends', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    await client.searchRead('res.partner', [], { limit: 1 });
    sim.expireSessions(1);
    const rows = await client.searchRead('res.partner', [['id', '=', 2]], { fields: ['name'] });
    expect(rows[0].name).toBe('Walk-in Customer');
    // twice expired in a row: the second one is reported, not looped on
    sim.expireSessions(2);
    const err: ConnectorError = await client.searchRead('res.partner', []).catch((e) => e);
    expect(err.cause).toMatchObject({ kind: 'auth', retryable: false, providerCode: 'odoo.http.SessionExpiredException', providerMessage: 'Session expired' });
    await client.close();
  });

  it('JSON-2 against Odoo 17 is refused by the client, and a 404 from the server says why', async () => {
    sim = await startSimulator({ version: 17 });
    expect(() => clientFor(sim, 'json2')).toThrow('the JSON-2 API needs Odoo 19 or later (configured version 17); use JSON-RPC');
    const lying = new OdooClient({ url: sim.url, database: sim.database, login: 'admin', apiKey: sim.apiKey, api: 'json2', version: 19, policy: FAST });
    const err: ConnectorError = await lying.searchRead('res.partner', []).catch((e) => e);
    expect(err.cause).toMatchObject({ kind: 'missing-reference', status: 404, retryable: false });
    expect(err.description).toContain('no JSON-2 endpoint (it needs Odoo 19 or later');
    await lying.close();
  });

  it('a wrong database name is permanent, naming the database', async () => {
    sim = await startSimulator();
    const client = clientFor(sim, 'jsonrpc', { database: 'nope' });
    const err: ConnectorError = await client.searchRead('res.partner', []).catch((e) => e);
    expect(err.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'psycopg2.OperationalError' });
    expect(err.details.providerMessage).toContain('database "nope" does not exist');
    await client.close();
  });

  it('a request never answered times out, is retried, and gives up retryable', async () => {
    sim = await startSimulator();
    sim.setFaults({ timeoutRate: 1 });
    const client = clientFor(sim, 'jsonrpc', { policy: { ...FAST, timeoutMs: 100, maxAttempts: 2 } });
    const err: ConnectorError = await client.searchRead('res.partner', []).catch((e) => e);
    expect(err.cause).toEqual({ system: 'odoo', operation: 'authenticate', kind: 'timeout', retryable: true, attempts: 2 });
    expect(sim.stats.faults.timeout).toBe(2);
    await client.close();
  });

  it('close() lets requests in flight finish, then refuses new ones without retrying', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const pending = client.searchRead('product.product', [], { fields: ['id'] });
    await client.close(2000);
    expect((await pending).length).toBeGreaterThan(0);
    const err: ConnectorError = await client.searchRead('res.partner', []).catch((e) => e);
    expect(err.cause).toMatchObject({ operation: 'res.partner.search_read', kind: 'stopped', retryable: false, attempts: 1 });
  });

  it('close() aborts what is still hanging after the grace period', async () => {
    sim = await startSimulator();
    sim.setFaults({ timeoutRate: 1 });
    const client = clientFor(sim, 'jsonrpc', { policy: { ...FAST, timeoutMs: 20_000 } });
    const pending = client.searchRead('res.partner', []).catch((e) => e);
    await new Promise((r) => setImmediate(r));
    const started = Date.now();
    await client.close(50);
    const err: ConnectorError = await pending;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.cause).toMatchObject({ kind: 'stopped', retryable: false });
  });

  it('close() leaves a create on the wire to its answer (Odoo carries it out anyway), and sends nothing after', async () => {
    sim = await startSimulator();
    sim.setFaults({ slowRate: 1, slowDelayMs: 400, only: ['res.partner.create'] });
    const client = clientFor(sim, 'jsonrpc', { policy: { ...FAST, timeoutMs: 20_000 } });
    await client.authenticate();
    const creating = client.create('res.partner', { name: 'Late Ltd' }, { retry: false });
    await new Promise<void>((resolve) => {
      const check = () => (sim.stats.faults.slow > 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    await client.close(50);
    // Its answer comes back: the caller knows the record it made.
    const [id] = await creating;
    expect(sim.records('res.partner', [['name', '=', 'Late Ltd']], ['id'])).toEqual([{ id }]);
    const err: ConnectorError = await client.create('res.partner', { name: 'After close' }, { retry: false }).catch((e) => e);
    expect(err.cause).toMatchObject({ kind: 'stopped', retryable: false });
    expect(sim.records('res.partner', [['name', '=', 'After close']], ['id'])).toEqual([]);
  });

  it('close() ends the calls still waiting for a slot or out of a 429 pause, unsent', async () => {
    sim = await startSimulator();
    const governor = new TokenBucket(100, 1, Date.now, (ms) => new Promise((r) => setTimeout(r, ms).unref()));
    const limiter = new Limiter(1);
    const client = clientFor(sim, 'jsonrpc', { governor, limiter, policy: { ...FAST, timeoutMs: 20_000 } });
    await client.authenticate();
    governor.penalise(90_000); // Odoo answered 429 with Retry-After: 90
    const requestsBefore = sim.stats.requests;
    const paused = client.create('res.partner', { name: 'Paused Ltd' }, { retry: false }).catch((e) => e);
    const queued = client.create('res.partner', { name: 'Queued Ltd' }, { retry: false }).catch((e) => e);
    await new Promise((r) => setImmediate(r));
    expect(limiter.pending).toBe(1);
    await client.close(0);
    for (const err of [await paused, await queued]) expect((err as ConnectorError).cause).toMatchObject({ kind: 'stopped', retryable: false });
    expect(sim.stats.requests).toBe(requestsBefore);
    expect(sim.records('res.partner', [['name', 'in', ['Paused Ltd', 'Queued Ltd']]], ['id'])).toEqual([]);
  });
});
