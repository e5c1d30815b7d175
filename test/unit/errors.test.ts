/**
 * The error model (nodes/runtime/errors.ts, docs/errors.md): the status table, the provider error
 * shapes each connector reads (Odoo JSON-RPC / JSON-2 faults, Business Central OData errors,
 * Shopify GraphQL errors and userErrors, Square errors, Amazon and bol.com problems) as the
 * ConnectorError their client throws, and what a Catch node's msg.error holds.
 */
import { ConnectorError, HttpClient, type Classifier } from '../../nodes/runtime/http';
import { asConnectorError, classifyFailure, ERROR_KINDS, kindForCode, kindForStatus, RETRYABLE_STATUS } from '../../nodes/runtime/errors';
import { classifyOdoo } from '../../nodes/odoo/client';
import { bcError, classifyBc } from '../../nodes/business-central/client';
import { ShopifyClient, userErrorsFailure } from '../../nodes/shopify/client';
import { classifySquare } from '../../nodes/square/client';
import { AmazonClient } from '../../nodes/amazon/client';
import { BolClient } from '../../nodes/bol/client';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** The error an HttpClient with these provider rules throws for one answer (one attempt). */
async function failureOf(
  system: string,
  answer: Response,
  rules: { classify?: Classifier; describe?: (res: any) => { message?: string; code?: string } | undefined } = {},
): Promise<ConnectorError> {
  const client = new HttpClient({ system, baseUrl: 'http://provider.test', fetch: async () => answer, ...rules });
  return client.request({ operation: 'op', method: 'POST', url: '/x', body: {}, maxAttempts: 1 }).then(
    () => {
      throw new Error('expected a failure');
    },
    (e) => e,
  );
}

describe('the status table', () => {
  it.each([
    [400, 'value', false],
    [401, 'auth', false],
    [403, 'auth', false],
    [404, 'missing-reference', false],
    [408, 'timeout', true],
    [409, 'conflict', false],
    [410, 'missing-reference', false],
    [412, 'conflict', false],
    [422, 'value', false],
    [425, 'unavailable', true],
    [429, 'rate-limit', true],
    [500, 'unavailable', true],
    [501, 'unavailable', true],
    [502, 'unavailable', true],
    [503, 'unavailable', true],
    [504, 'timeout', true],
  ] as const)('HTTP %i is %s, retryable %s', (status, kind, retryable) => {
    expect(classifyFailure({ status })).toEqual({ kind, retryable });
  });

  it('one list of retryable statuses; success and redirects have no kind', () => {
    expect([...RETRYABLE_STATUS].sort()).toEqual([408, 425, 429, 500, 502, 503, 504]);
    expect(kindForStatus(200)).toBeUndefined();
    expect(kindForStatus(304)).toBeUndefined();
    expect(classifyFailure({})).toEqual({ kind: 'unknown', retryable: false });
  });

  it("a provider's code says more than its status; dotted Python names are read by their last part", () => {
    expect(classifyFailure({ status: 400, code: 'Internal_RecordNotFound' })).toEqual({ kind: 'missing-reference', retryable: false });
    expect(classifyFailure({ status: 200, code: 'psycopg2.errors.SerializationFailure' })).toEqual({ kind: 'conflict', retryable: false });
    expect(kindForCode('odoo.exceptions.AccessError')).toBe('auth');
    expect(kindForCode('Authorization_SomethingNew')).toBe('auth');
    expect(kindForCode('BadRequest_SomethingNew')).toBe('value');
    expect(kindForCode('no.such.Code')).toBeUndefined();
  });
});

describe('Odoo faults', () => {
  const rpc = (name: string, code = 200, message = 'boom') =>
    json(200, { jsonrpc: '2.0', id: 1, error: { code, message: 'Odoo Server Error', data: { name, message } } });
  it.each([
    ['odoo.exceptions.UserError', 'value', false],
    ['odoo.exceptions.ValidationError', 'value', false],
    ['odoo.exceptions.AccessError', 'auth', false],
    ['odoo.exceptions.MissingError', 'missing-reference', false],
    ['builtins.ValueError', 'value', false],
    ['psycopg2.errors.UniqueViolation', 'duplicate', true],
    ['psycopg2.errors.SerializationFailure', 'conflict', true],
  ] as const)('JSON-RPC %s (HTTP 200) is %s, retryable %s', async (name, kind, retryable) => {
    const err = await failureOf('odoo', rpc(name), { classify: classifyOdoo });
    expect(err.cause).toEqual({
      system: 'odoo',
      operation: 'op',
      kind,
      retryable,
      status: 200,
      attempts: 1,
      providerCode: name,
      providerMessage: `${name.split('.').pop()}: boom`,
    });
  });

  it('an expired session is auth (the client logs in again once); a missing database is a settings problem', async () => {
    expect((await failureOf('odoo', rpc('odoo.http.SessionExpiredException', 100), { classify: classifyOdoo })).cause).toMatchObject({
      kind: 'auth',
      retryable: false,
    });
    const db = await failureOf('odoo', rpc('psycopg2.OperationalError', 200, 'database "x" does not exist'), { classify: classifyOdoo });
    expect(db.cause).toMatchObject({ kind: 'value', retryable: false });
  });

  it('JSON-2: 401 is auth, 422 UserError value, 503 with Retry-After retryable', async () => {
    const j2 = (status: number, name: string, h: Record<string, string> = {}) => json(status, { name, message: 'm', arguments: [], context: {}, debug: '' }, h);
    expect((await failureOf('odoo', j2(401, 'werkzeug.exceptions.Unauthorized'), { classify: classifyOdoo })).cause).toMatchObject({
      kind: 'auth',
      status: 401,
      retryable: false,
    });
    expect((await failureOf('odoo', j2(422, 'odoo.exceptions.UserError'), { classify: classifyOdoo })).cause).toMatchObject({
      kind: 'value',
      status: 422,
      retryable: false,
    });
    expect((await failureOf('odoo', j2(503, 'psycopg2.errors.SerializationFailure', { 'retry-after': '3' }), { classify: classifyOdoo })).cause).toMatchObject({
      kind: 'conflict',
      status: 503,
      retryable: true,
      retryAfterMs: 3000,
    });
  });
});

describe('Business Central OData errors', () => {
  const bc = { classify: classifyBc(2000), describe: (res: any) => bcError(res.body) };
  const odata = (status: number, code: string, message = 'm') => json(status, { error: { code, message: `${message}  CorrelationId:  x.` } });
  it.each([
    [400, 'BadRequest_NotFound', 'missing-reference', false],
    [404, 'BadRequest_ResourceNotFound', 'missing-reference', false],
    [400, 'Internal_EntityWithSameKeyExists', 'duplicate', false],
    [409, 'Request_EntityChanged', 'conflict', false],
    [401, 'Authentication_InvalidCredentials', 'auth', false],
    [400, 'Application_FieldValidationException', 'value', false],
    [503, 'Internal_ServiceUnavailable', 'unavailable', true],
  ] as const)('HTTP %i %s is %s, retryable %s', async (status, code, kind, retryable) => {
    const err = await failureOf('business-central', odata(status, code), bc);
    expect(err.cause).toMatchObject({ system: 'business-central', kind, retryable, status, providerCode: code });
  });

  it("a bare 429 is a rate limit waited out for the cool-off; the OAuth endpoint's invalid_client is auth", async () => {
    expect((await failureOf('business-central', odata(429, 'Application_TooManyRequests'), bc)).cause).toMatchObject({
      kind: 'rate-limit',
      retryable: true,
      retryAfterMs: 2000,
    });
    const oauth = await failureOf(
      'business-central',
      json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }),
      bc,
    );
    expect(oauth.cause).toMatchObject({
      kind: 'auth',
      retryable: false,
      providerCode: 'invalid_client',
      providerMessage: 'AADSTS7000215: Invalid client secret provided.',
    });
  });
});

describe('Shopify GraphQL', () => {
  function shop(answer: () => Response) {
    return new ShopifyClient({
      shop: 'x.myshopify.com',
      apiVersion: '2026-04',
      accessToken: 't',
      baseUrl: 'http://shop.test',
      maxThrottleRetries: 0,
      fetch: async () => answer(),
      policy: { maxAttempts: 1 },
    });
  }

  it('THROTTLED (HTTP 200) is a rate limit, retryable', async () => {
    const throttled = () =>
      json(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
        extensions: {
          cost: { requestedQueryCost: 50, actualQueryCost: null, throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 10, restoreRate: 50 } },
        },
      });
    const err: ConnectorError = await shop(throttled)
      .graphql('inventoryItems', '{ x }')
      .catch((e) => e);
    expect(err.cause).toEqual({
      system: 'shopify',
      operation: 'inventoryItems',
      kind: 'rate-limit',
      retryable: true,
      status: 200,
      attempts: 1,
      providerCode: 'THROTTLED',
      providerMessage: 'Throttled',
    });
  });

  it("ACCESS_DENIED is auth; an error without a known code is the request's fault (value)", async () => {
    const denied = await shop(() => json(200, { errors: [{ message: 'Access denied', extensions: { code: 'ACCESS_DENIED' } }] }))
      .graphql('orders', '{ x }')
      .catch((e) => e);
    expect(denied.cause).toMatchObject({ kind: 'auth', retryable: false, providerCode: 'ACCESS_DENIED' });
    const syntax = await shop(() => json(200, { errors: [{ message: "Field 'nope' doesn't exist" }] }))
      .graphql('orders', '{ nope }')
      .catch((e) => e);
    expect(syntax.cause).toMatchObject({ kind: 'value', retryable: false });
  });

  it('userErrors are value failures; a concurrent request with the same idempotency key is a retryable conflict', () => {
    expect(userErrorsFailure('inventorySetQuantities', [{ code: 'INVALID_QUANTITY', field: ['input'], message: 'Quantity is invalid' }]).cause).toEqual({
      system: 'shopify',
      operation: 'inventorySetQuantities',
      kind: 'value',
      retryable: false,
      status: 422,
      providerCode: 'INVALID_QUANTITY',
      providerMessage: 'Quantity is invalid',
    });
    expect(userErrorsFailure('inventorySetQuantities', [{ code: 'IDEMPOTENCY_CONCURRENT_REQUEST', message: 'busy' }]).cause).toMatchObject({
      kind: 'conflict',
      retryable: true,
    });
    expect(userErrorsFailure('fulfillmentCreate', [{ field: ['fulfillment'], message: 'Tracking is invalid' }]).cause).toMatchObject({
      kind: 'value',
      retryable: false,
      providerMessage: 'Tracking is invalid',
    });
  });
});

describe('Square errors', () => {
  const sq = (status: number, code: string, category = 'INVALID_REQUEST_ERROR') => json(status, { errors: [{ category, code, detail: 'd' }] });
  it.each([
    [429, 'RATE_LIMITED', 'rate-limit', true],
    [401, 'UNAUTHORIZED', 'auth', false],
    [404, 'NOT_FOUND', 'missing-reference', false],
    [400, 'INVALID_VALUE', 'value', false],
    [400, 'IDEMPOTENCY_KEY_REUSED', 'duplicate', false],
    [409, 'VERSION_MISMATCH', 'conflict', false],
    [503, 'SERVICE_UNAVAILABLE', 'unavailable', true],
  ] as const)('HTTP %i %s is %s, retryable %s', async (status, code, kind, retryable) => {
    const err = await failureOf('square', sq(status, code), { classify: classifySquare });
    expect(err.cause).toMatchObject({ system: 'square', kind, retryable, status, providerCode: code, providerMessage: `${code}: d` });
  });
});

describe('Amazon SP-API and bol.com problems', () => {
  /** A fetch that hands out tokens and answers every API call with `answer`. */
  const provider = (answer: () => Response) => async (input: any) =>
    /token/.test(String(input)) ? json(200, { access_token: 'tok', expires_in: 3600, token_type: 'bearer' }) : answer();

  it('Amazon: QuotaExceeded is a rate limit; InvalidInput value; NotFound missing-reference', async () => {
    const amazon = (answer: () => Response) =>
      new AmazonClient({
        endpoint: 'http://amazon.test',
        tokenUrl: 'http://amazon.test/token',
        credentials: { clientId: 'c', clientSecret: 's', refreshToken: 'r' },
        fetch: provider(answer) as any,
        policy: { maxAttempts: 1 },
      });
    const err = (status: number, code: string) =>
      amazon(() => json(status, { errors: [{ code, message: 'm', details: '' }] }))
        .getOrder('111-0000000-0000000')
        .catch((e) => e);
    expect((await err(429, 'QuotaExceeded')).cause).toMatchObject({
      system: 'amazon',
      kind: 'rate-limit',
      retryable: true,
      status: 429,
      providerCode: 'QuotaExceeded',
    });
    expect((await err(400, 'InvalidInput')).cause).toMatchObject({
      kind: 'value',
      retryable: false,
      status: 400,
      providerCode: 'InvalidInput',
      providerMessage: 'm',
    });
    expect((await err(404, 'NotFound')).cause).toMatchObject({ kind: 'missing-reference', retryable: false, status: 404 });
  });

  it('bol.com: a problem document is classified by its status, its detail and violations kept', async () => {
    const bol = (answer: () => Response) =>
      new BolClient({
        endpoint: 'http://bol.test',
        tokenUrl: 'http://bol.test/token',
        credentials: { clientId: 'c', clientSecret: 's' },
        fetch: provider(answer) as any,
        policy: { maxAttempts: 1 },
      });
    const problem =
      (status: number, title: string, extra: Record<string, unknown> = {}) =>
      () =>
        new Response(JSON.stringify({ type: 'https://api.bol.com/problems', title, status, detail: title, ...extra }), {
          status,
          headers: { 'content-type': 'application/vnd.retailer.v10+json' },
        });
    const invalid: ConnectorError = await bol(
      problem(400, 'Bad request', { violations: [{ name: 'latest-change-date', reason: 'Request contains invalid value(s)' }] }),
    )
      .listOrders()
      .catch((e) => e);
    expect(invalid.cause).toMatchObject({ system: 'bol', kind: 'value', retryable: false, status: 400 });
    expect(invalid.cause.providerMessage).toContain('latest-change-date: Request contains invalid value(s)');
    expect(
      (
        await bol(problem(404, 'Not found'))
          .getOrder('X')
          .catch((e) => e)
      ).cause,
    ).toMatchObject({ kind: 'missing-reference', retryable: false, status: 404 });
    expect(
      (
        await bol(problem(429, 'Too many requests'))
          .getOrder('X')
          .catch((e) => e)
      ).cause,
    ).toMatchObject({ kind: 'rate-limit', retryable: true, status: 429 });
  });
});

describe('what a Catch node gets', () => {
  it('message, the kind as its own code and the fields as its own cause (what Node-RED copies into msg.error); a plain error becomes a connector failure', () => {
    const err = new ConnectorError('odoo', 'sale.order.create', 'HTTP 503: busy', { status: 503, attempts: 6 });
    expect(err.message).toBe('odoo sale.order.create: HTTP 503: busy (gave up after 6 attempts)');
    expect(String(err)).toBe(err.message); // Node-RED uses toString() for msg.error.message
    expect(Object.keys(err)).toEqual(expect.arrayContaining(['code', 'cause'])); // own: Node-RED copies them
    expect(err.code).toBe('unavailable');
    expect(err.cause).toEqual({ system: 'odoo', operation: 'sale.order.create', kind: 'unavailable', retryable: true, status: 503, attempts: 6 });
    const store = Object.assign(new Error('store down'), { name: 'StoreUnavailableError' });
    expect(asConnectorError(store, 'square', 'BatchChangeInventory').cause).toEqual({
      system: 'square',
      operation: 'BatchChangeInventory',
      kind: 'unavailable',
      retryable: true,
    });
    expect(asConnectorError(new TypeError('x is undefined'), 'square', 'op').cause).toMatchObject({ kind: 'unknown', retryable: false });
    expect(ERROR_KINDS).toContain(err.kind);
  });
});
