/**
 * The Business Central simulator against the contract (docs/connectors/business-central.md), over real
 * HTTP on 127.0.0.1: auth, route shape, OData, paging, etags, deep insert and totals, actions,
 * journals, throttling, faults, subscriptions and the test hooks.
 */
import { BusinessCentralSimulator, parseCliArgs } from '../../simulators/business-central/simulator';
import { api, eventually, startSimulator, webhookReceiver } from './helpers';

let sim: BusinessCentralSimulator;
afterEach(async () => {
  await sim?.close();
});

const order = (edn: string, lines: unknown[], extra: Record<string, unknown> = {}) => ({
  externalDocumentNumber: edn,
  customerNumber: '10000',
  salesOrderLines: lines,
  ...extra,
});
const itemLine = (number: string, quantity: number, unitPrice: number, extra: Record<string, unknown> = {}) => ({
  lineType: 'Item',
  lineObjectNumber: number,
  quantity,
  unitPrice,
  ...extra,
});

describe('Business Central simulator: auth and routes', () => {
  it('requires a bearer token: none or a wrong one is 401 with the BC error envelope', async () => {
    sim = await startSimulator();
    const none = await api(sim, 'GET', 'items?$top=1', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('Authentication_InvalidCredentials');
    expect(none.body.error.message).toMatch(/CorrelationId/);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await api(sim, 'GET', 'items?$top=1', { token: 'guess' })).status).toBe(401);
    expect((await api(sim, 'GET', 'items?$top=1')).status).toBe(200);
  });

  it('issues client-credentials tokens; a wrong secret is invalid_client; an expired token is 401', async () => {
    sim = await startSimulator({ tokenTtlSeconds: 0.2 });
    const form = (secret: string) =>
      fetch(sim.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'tillwire-demo-client',
          client_secret: secret,
          scope: 'https://api.businesscentral.dynamics.com/.default',
        }).toString(),
      });
    const bad = await form('wrong');
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as any).error).toBe('invalid_client');
    const good: any = await (await form('tillwire-demo-secret')).json();
    expect(good).toMatchObject({ token_type: 'Bearer', expires_in: 0.2 });
    const first = await api(sim, 'GET', 'items?$top=1', { token: good.access_token });
    expect(first.status).toBe(200);
    // the same token, once its lifetime has passed
    let later = first;
    const end = Date.now() + 3000;
    while (later.status === 200 && Date.now() < end) later = await api(sim, 'GET', 'items?$top=1', { token: good.access_token });
    expect(later.status).toBe(401);
    expect(later.body.error.message).toMatch(/expired/);
  });

  it('has the route shape /v2.0/{tenant}/{env}/api/v2.0/companies({id})/…: other tenants, environments, companies are 404', async () => {
    sim = await startSimulator();
    const companies = await api(sim, 'GET', `${sim.apiRoot}/companies`);
    expect(companies.status).toBe(200);
    expect(companies.body.value).toEqual([expect.objectContaining({ id: sim.companyId, name: 'Tillwire Demo Retail' })]);
    expect((await api(sim, 'GET', sim.companyUrl.replace('/sandbox/', '/production/') + '/items')).status).toBe(404);
    expect((await api(sim, 'GET', sim.companyUrl.replace(sim.companyId, '11111111-2222-3333-4444-555555555555') + '/items')).status).toBe(404);
    expect((await api(sim, 'GET', 'nonsense')).status).toBe(404);
    const info = await api(sim, 'GET', 'companyInformation');
    expect(info.body.value[0].currencyCode).toBe('GBP');
  });
});

describe('Business Central simulator: OData', () => {
  beforeEach(async () => {
    sim = await startSimulator();
  });

  it('$filter with eq/gt/lt/ge/le, and/or/not and parentheses on strings, numbers and dates; unknown properties and type mismatches are 400', async () => {
    const one = await api(sim, 'GET', `items?$filter=number eq 'SKU-0001'`);
    expect(one.body.value).toHaveLength(1);
    expect(one.body.value[0]).toMatchObject({ number: 'SKU-0001', displayName: 'black tee #1', unitPrice: 4.99, inventory: 20 });
    expect(one.body.value[0]['@odata.etag']).toMatch(/^W\/"/);

    const two = await api(sim, 'GET', `items?$filter=number eq 'SKU-0001' or number eq 'SKU-0002'`);
    expect(two.body.value.map((i: any) => i.number)).toEqual(['SKU-0001', 'SKU-0002']);

    const band = await api(sim, 'GET', `items?$filter=unitPrice ge 50 and unitPrice lt 51 and (inventory gt 100 or inventory le 25)`);
    expect(band.body.value.length).toBeGreaterThan(0);
    for (const i of band.body.value) {
      expect(i.unitPrice >= 50 && i.unitPrice < 51).toBe(true);
      expect(i.inventory > 100 || i.inventory <= 25).toBe(true);
    }
    const notBlocked = await api(sim, 'GET', `items?$filter=not (blocked eq true) and startswith(number,'SKU-049')&$count=true`);
    expect(notBlocked.body['@odata.count']).toBe(10);

    const since = await api(sim, 'GET', `items?$filter=lastModifiedDateTime gt 2020-01-01T00:00:00Z and lastModifiedDateTime lt 2999-01-01T00:00:00Z&$top=3`);
    expect(since.body.value).toHaveLength(3);

    await api(sim, 'POST', 'salesOrders', { body: order('A-1', [itemLine('SKU-0001', 1, 10)], { orderDate: '2025-03-14' }) });
    await api(sim, 'POST', 'salesOrders', { body: order('A-2', [itemLine('SKU-0001', 1, 10)], { orderDate: '2025-03-16' }) });
    const dates = await api(sim, 'GET', `salesOrders?$filter=orderDate ge 2025-03-15`);
    expect(dates.body.value.map((o: any) => o.externalDocumentNumber)).toEqual(['A-2']);
    const quoted = await api(sim, 'GET', `items?$filter=displayName eq 'it''s not there'`);
    expect(quoted.body.value).toEqual([]);

    const unknown = await api(sim, 'GET', `items?$filter=colour eq 'red'`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/Could not find a property named 'colour'/);
    expect((await api(sim, 'GET', `items?$filter=number eq 5`)).status).toBe(400);
    expect((await api(sim, 'GET', `items?$filter=number eq`)).status).toBe(400);

    // As Business Central: an `or` over two different fields is refused.
    const across = await api(sim, 'GET', `itemLedgerEntries?$filter=entryNumber gt 5 or lastModifiedDateTime ge 2020-01-01T00:00:00Z`);
    expect(across.status).toBe(400);
    expect(across.body.error.message).toMatch(/^The 'OR' operator is not supported on distinct fields on an OData filter\./);
  });

  it('$select, $orderby, $top, $skip and $expand', async () => {
    const sel = await api(sim, 'GET', `items?$select=number,inventory&$orderby=unitPrice desc,number&$top=3&$skip=1`);
    expect(sel.status).toBe(200);
    expect(Object.keys(sel.body.value[0]).sort()).toEqual(['@odata.etag', 'id', 'inventory', 'number']);
    const all = (await api(sim, 'GET', `items?$select=number,unitPrice&$orderby=unitPrice desc,number`)).body.value;
    expect(sel.body.value.map((i: any) => i.number)).toEqual(all.slice(1, 4).map((i: any) => i.number));
    expect((await api(sim, 'GET', `items?$select=nope`)).status).toBe(400);
    expect((await api(sim, 'GET', `items?$orderby=nope`)).status).toBe(400);

    const created = await api(sim, 'POST', 'salesOrders?$expand=salesOrderLines', { body: order('X-1', [itemLine('SKU-0002', 2, 5)]) });
    expect(created.status).toBe(201);
    expect(created.body.salesOrderLines).toHaveLength(1);
    const expanded = await api(sim, 'GET', `salesOrders?$expand=salesOrderLines&$select=number`);
    expect(expanded.body.value[0].salesOrderLines[0]).toMatchObject({ lineObjectNumber: 'SKU-0002', quantity: 2 });
    expect((await api(sim, 'GET', `salesOrders?$expand=nothing`)).status).toBe(400);
    const nested = await api(sim, 'GET', `salesOrders(${created.body.id})/salesOrderLines`);
    expect(nested.body.value).toHaveLength(1);
  });

  it('server-driven paging: Prefer odata.maxpagesize gives @odata.nextLink pages that cover every entity once, even when rows are added between pages', async () => {
    let url: string | undefined = `${sim.companyUrl}/items?$select=number&$filter=startswith(number,'SKU-')`;
    const seen: string[] = [];
    let pages = 0;
    while (url) {
      const page = await api(sim, 'GET', url, { headers: { prefer: 'odata.maxpagesize=64' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('preference-applied')).toBe('odata.maxpagesize=64');
      seen.push(...page.body.value.map((i: any) => i.number));
      url = page.body['@odata.nextLink'];
      if (url) expect(url.startsWith(sim.companyUrl + '/items?')).toBe(true);
      if (pages++ === 2) sim.upsertItems([{ number: 'SKU-9999' }]); // lands at the end: still seen once
    }
    expect(pages).toBe(Math.ceil(501 / 64));
    expect(seen).toHaveLength(501);
    expect(new Set(seen).size).toBe(501);
  });

  it('a page larger than the maximum is 413; without a preference the maximum page applies', async () => {
    await sim.close();
    sim = await startSimulator({ maxPageSize: 200 });
    const tooBig = await api(sim, 'GET', 'items', { headers: { prefer: 'odata.maxpagesize=201' } });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.message).toMatch(/maximum page size of 200/);
    const first = await api(sim, 'GET', 'items');
    expect(first.body.value).toHaveLength(200);
    expect(first.body['@odata.nextLink']).toBeDefined();
    const top = await api(sim, 'GET', 'items?$top=250');
    expect(top.body.value).toHaveLength(200);
    const rest = await api(sim, 'GET', top.body['@odata.nextLink']);
    expect(rest.body.value).toHaveLength(50);
    expect(rest.body['@odata.nextLink']).toBeUndefined();
  });
});

describe('Business Central simulator: sales orders', () => {
  beforeEach(async () => {
    sim = await startSimulator();
  });

  it('deep insert computes read-only totals exactly, on the customer tax basis, with line and invoice discounts', async () => {
    // customer 10000 quotes prices including tax; SKU-0001 is 20 % tax, SKU-0004 5 %.
    const incl = await api(sim, 'POST', 'salesOrders?$expand=salesOrderLines', {
      body: order('sale:ldn-042:t03:1', [
        itemLine('JEANS-SLIM-32-32', 1, 49.99, { discountAmount: 10 }),
        itemLine('SOCK-3PK-BLK', 2, 8.99),
        itemLine('KIDS-TEE-7Y', 1, 12),
      ]),
    });
    expect(incl.status).toBe(201);
    expect(incl.headers.get('location')).toBe(`${sim.companyUrl}/salesOrders(${incl.body.id})`);
    expect(incl.body).toMatchObject({
      externalDocumentNumber: 'SALE:LDN-042:T03:1', // a Code field: stored upper case
      number: 'S-ORD101001',
      status: 'Draft',
      pricesIncludeTax: true,
      totalAmountIncludingTax: 69.97,
      totalAmountExcludingTax: 60.31, // 33.33 + 14.98 + 12.00 (tax taken out per line, rounded half up)
      totalTaxAmount: 9.66,
    });
    expect(incl.body.salesOrderLines.map((l: any) => l.amountIncludingTax)).toEqual([39.99, 17.98, 12]);

    // customer 20000 adds tax on top; an invoice discount is spread over the lines before tax.
    const excl = await api(sim, 'POST', 'salesOrders?$expand=salesOrderLines', {
      body: {
        ...order('WEB-1', [itemLine('TEE-BLK-M', 2, 25, { discountAmount: 5 }), itemLine('MUG-WHT-12OZ', 1, 18)]),
        customerNumber: '20000',
        discountAmount: 5,
        currencyCode: 'USD',
      },
    });
    expect(excl.status).toBe(201);
    expect(excl.body).toMatchObject({ pricesIncludeTax: false, currencyCode: 'USD', discountAmount: 5, totalAmountExcludingTax: 58 });
    const lines = excl.body.salesOrderLines;
    expect(lines.map((l: any) => l.invoiceDiscountAllocation)).toEqual([3.57, 1.43]); // 5 × 45/63 and 5 × 18/63, largest remainder
    expect(lines[0].netAmount + lines[1].netAmount).toBe(58);
    expect(excl.body.totalAmountIncludingTax).toBe(Math.round((58 + excl.body.totalTaxAmount) * 100) / 100);

    // JPY has no decimals, KWD three
    const jpy = await api(sim, 'POST', 'salesOrders', {
      body: { ...order('JP-1', [itemLine('SENCHA-100G', 3, 1620), itemLine('KYUSU-TEAPOT-350', 1, 5500, { discountAmount: 500 })]), currencyCode: 'JPY' },
    });
    expect(jpy.body.totalAmountIncludingTax).toBe(9860);
    const kwd = await api(sim, 'POST', 'salesOrders', {
      body: {
        ...order('KW-1', [
          itemLine('SHAYLA-SILK-GRY', 2, 6.25, { discountAmount: 1.25 }),
          itemLine('ABAYA-BLK-52', -1, 24.5),
          itemLine('ABAYA-BLK-54', 1, 24.5),
        ]),
        currencyCode: 'KWD',
      },
    });
    expect(kwd.body.totalAmountIncludingTax).toBe(11.25);
  });

  it('a deep insert with one bad line creates nothing; LCY as a currency code, long external numbers, read-only and unknown fields are 400', async () => {
    const bad = await api(sim, 'POST', 'salesOrders', { body: order('BAD-1', [itemLine('SKU-0001', 1, 1), itemLine('NOPE-1', 1, 1)]) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/The Item does not exist. Identification fields and values: No.='NOPE-1'/);
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesOrderLines: 0 });

    const lcy = await api(sim, 'POST', 'salesOrders', { body: { ...order('L-1', []), currencyCode: 'GBP' } });
    expect(lcy.status).toBe(400);
    expect(lcy.body.error.message).toMatch(/Currency does not exist/);
    const long = await api(sim, 'POST', 'salesOrders', { body: order('X'.repeat(36), []) });
    expect(long.body.error.message).toMatch(/length of the string is 36, but it must be less than or equal to 35/);
    expect((await api(sim, 'POST', 'salesOrders', { body: { ...order('R-1', []), totalAmountIncludingTax: 5 } })).body.error.code).toBe(
      'BadRequest_ReadOnlyProperty',
    );
    expect((await api(sim, 'POST', 'salesOrders', { body: { ...order('R-2', []), colour: 'red' } })).body.error.code).toBe('BadRequest_PropertyNotFound');
    expect((await api(sim, 'POST', 'salesOrders', { body: { ...order('R-3', []), customerNumber: '99999' } })).body.error.message).toMatch(
      /Customer does not exist/,
    );
    expect((await api(sim, 'POST', 'salesOrders', { body: order('R-4', [itemLine('SKU-0001', 1, '1' as any)]) })).status).toBe(400);
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('@odata.etag and If-Match: missing is 400 BadRequest_InvalidToken, stale is 409 Request_EntityChanged, * is accepted; line changes move the order etag', async () => {
    const created = (await api(sim, 'POST', 'salesOrders?$expand=salesOrderLines', { body: order('E-1', [itemLine('SKU-0001', 1, 10)]) })).body;
    const etag = created['@odata.etag'];
    const missing = await api(sim, 'PATCH', `salesOrders(${created.id})`, { body: { email: 'a@example.com' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('BadRequest_InvalidToken');
    const ok = await api(sim, 'PATCH', `salesOrders(${created.id})`, { body: { email: 'a@example.com' }, headers: { 'if-match': etag } });
    expect(ok.status).toBe(200);
    expect(ok.body['@odata.etag']).not.toBe(etag);
    expect(ok.headers.get('etag')).toBe(ok.body['@odata.etag']);
    const stale = await api(sim, 'PATCH', `salesOrders(${created.id})`, { body: { email: 'b@example.com' }, headers: { 'if-match': etag } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'Request_EntityChanged', message: expect.stringMatching(/^Another user has already changed the record/) });
    expect((await api(sim, 'PATCH', `salesOrders(${created.id})`, { body: { email: 'c@example.com' }, headers: { 'if-match': '*' } })).status).toBe(200);

    const before = (await api(sim, 'GET', `salesOrders(${created.id})`)).body;
    const line = created.salesOrderLines[0];
    const changed = await api(sim, 'PATCH', `salesOrders(${created.id})/salesOrderLines(${line.id})`, {
      body: { quantity: 3 },
      headers: { 'if-match': line['@odata.etag'] },
    });
    expect(changed.status).toBe(200);
    const after = (await api(sim, 'GET', `salesOrders(${created.id})`)).body;
    expect(after.totalAmountIncludingTax).toBe(30);
    expect(after['@odata.etag']).not.toBe(before['@odata.etag']);

    expect((await api(sim, 'DELETE', `salesOrders(${created.id})`)).status).toBe(400);
    expect((await api(sim, 'DELETE', `salesOrders(${created.id})`, { headers: { 'if-match': before['@odata.etag'] } })).status).toBe(409);
    expect((await api(sim, 'DELETE', `salesOrders(${created.id})`, { headers: { 'if-match': after['@odata.etag'] } })).status).toBe(204);
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesOrderLines: 0 });
  });

  it('look-ups by externalDocumentNumber, number and lines follow changes: a PATCHed number is found under its new value only, a deleted order or line not at all', async () => {
    const edn = (v: string) => `salesOrders?$filter=${encodeURIComponent(`externalDocumentNumber eq '${v}'`)}&$expand=salesOrderLines`;
    const a = (
      await api(sim, 'POST', 'salesOrders?$expand=salesOrderLines', { body: order('IDX-1', [itemLine('SKU-0001', 1, 10), itemLine('SKU-0002', 2, 5)]) })
    ).body;
    const b = (await api(sim, 'POST', 'salesOrders', { body: order('IDX-2', [itemLine('SKU-0001', 1, 10)]) })).body;
    const renamed = await api(sim, 'PATCH', `salesOrders(${a.id})`, { body: { externalDocumentNumber: 'IDX-9' }, headers: { 'if-match': '*' } });
    expect(renamed.status).toBe(200);
    expect((await api(sim, 'GET', edn('IDX-1'))).body.value).toEqual([]);
    const found = (await api(sim, 'GET', edn('IDX-9'))).body.value;
    expect(found.map((o: any) => [o.id, o.salesOrderLines.length])).toEqual([[a.id, 2]]);
    const either = `salesOrders?$filter=${encodeURIComponent("externalDocumentNumber eq 'IDX-2' or externalDocumentNumber eq 'IDX-9'")}`;
    expect((await api(sim, 'GET', either)).body.value.map((o: any) => o.id)).toEqual([a.id, b.id]);
    expect((await api(sim, 'GET', `salesOrders?$filter=${encodeURIComponent(`number eq '${b.number}'`)}`)).body.value.map((o: any) => o.id)).toEqual([b.id]);
    // a line deleted, then the order: neither is found through its document any more
    const line = a.salesOrderLines[0];
    expect((await api(sim, 'DELETE', `salesOrders(${a.id})/salesOrderLines(${line.id})`, { headers: { 'if-match': '*' } })).status).toBe(204);
    expect((await api(sim, 'GET', `salesOrders(${a.id})/salesOrderLines`)).body.value.map((l: any) => l.id)).toEqual([a.salesOrderLines[1].id]);
    expect((await api(sim, 'DELETE', `salesOrders(${b.id})`, { headers: { 'if-match': '*' } })).status).toBe(204);
    expect((await api(sim, 'GET', either)).body.value.map((o: any) => o.id)).toEqual([a.id]);
  });

  it('items: inventory is read-only; Microsoft.NAV.shipAndInvoice answers 204 and turns the order into a posted invoice', async () => {
    const item = (await api(sim, 'GET', `items?$filter=number eq 'SKU-0003'`)).body.value[0];
    const ro = await api(sim, 'PATCH', `items(${item.id})`, { body: { inventory: 5 }, headers: { 'if-match': item['@odata.etag'] } });
    expect(ro.status).toBe(400);
    expect(ro.body.error.message).toMatch(/'inventory' is read-only/);

    const created = (await api(sim, 'POST', 'salesOrders', { body: order('P-1', [itemLine('SKU-0003', 2, 10)]) })).body;
    const posted = await api(sim, 'POST', `salesOrders(${created.id})/Microsoft.NAV.shipAndInvoice`);
    expect(posted.status).toBe(204);
    expect(posted.body).toBeUndefined();
    expect((await api(sim, 'GET', `salesOrders(${created.id})`)).status).toBe(404);
    const invoices = (await api(sim, 'GET', `salesInvoices?$filter=externalDocumentNumber eq 'P-1'`)).body.value;
    expect(invoices).toEqual([expect.objectContaining({ orderNumber: created.number, totalAmountIncludingTax: 20, status: 'Open' })]);
    expect(sim.state().orders['P-1']).toEqual([expect.objectContaining({ document: 'salesInvoice', lines: 1 })]);
    const empty = (await api(sim, 'POST', 'salesOrders', { body: order('P-2', []) })).body;
    expect((await api(sim, 'POST', `salesOrders(${empty.id})/Microsoft.NAV.shipAndInvoice`)).body.error.message).toMatch(/nothing to post/);
  });

  it('journals: lines post with Microsoft.NAV.post when each document balances (positive = debit); an unbalanced one is refused', async () => {
    const journal = (await api(sim, 'GET', `journals?$filter=code eq 'DEFAULT'`)).body.value[0];
    const add = (amount: number, accountNumber: string, documentNumber = 'D-1') =>
      api(sim, 'POST', `journals(${journal.id})/journalLines`, {
        body: { accountNumber, amount, documentNumber, postingDate: '2025-03-14', description: 'settlement' },
      });
    expect((await add(100.1, '1100')).status).toBe(201);
    expect((await add(-90.1, '4000')).status).toBe(201);
    const unbalanced = await api(sim, 'POST', `journals(${journal.id})/Microsoft.NAV.post`);
    expect(unbalanced.status).toBe(400);
    expect(unbalanced.body.error.message).toMatch(/Document No. D-1 is out of balance by 10/);
    const third = await add(-10, '6100');
    expect(third.body).toMatchObject({ lineNumber: 30000, journalDisplayName: 'DEFAULT', accountNumber: '6100' });
    expect((await api(sim, 'POST', `journals(${journal.id})/Microsoft.NAV.post`)).status).toBe(204);
    const entries = (await api(sim, 'GET', 'generalLedgerEntries?$orderby=entryNumber')).body.value;
    expect(entries.map((e: any) => [e.accountNumber, e.debitAmount, e.creditAmount])).toEqual([
      ['1100', 100.1, 0],
      ['4000', 0, 90.1],
      ['6100', 0, 10],
    ]);
    expect((await api(sim, 'GET', `journals(${journal.id})/journalLines`)).body.value).toEqual([]);
    expect((await add(1, '9999')).body.error.message).toMatch(/G\/L Account does not exist/);
  });
});

describe('Business Central simulator: sales credit memos, order deletes and shipments', () => {
  const memo = (edn: string, lines: unknown[], extra: Record<string, unknown> = {}) => ({
    externalDocumentNumber: edn,
    customerNumber: '10000',
    salesCreditMemoLines: lines,
    ...extra,
  });

  it('salesCreditMemos: deep insert with exact read-only totals (GBP, JPY 0 decimals, KWD 3), $filter by externalDocumentNumber, $expand lines', async () => {
    sim = await startSimulator();
    const gbp = await api(sim, 'POST', 'salesCreditMemos?$expand=salesCreditMemoLines', {
      body: memo('RETURN:1', [
        itemLine('JEANS-SLIM-32-32', 2, 49.99, { discountAmount: 0.01 }),
        { lineType: 'Comment', description: 'Return of order S-ORD1' },
      ]),
    });
    expect(gbp.status).toBe(201);
    expect(gbp.headers.get('location')).toBe(`${sim.companyUrl}/salesCreditMemos(${gbp.body.id})`);
    expect(gbp.body).toMatchObject({
      number: 'S-CR104001',
      externalDocumentNumber: 'RETURN:1',
      customerNumber: '10000',
      pricesIncludeTax: true,
      status: 'Draft',
      totalAmountIncludingTax: 99.97,
      totalAmountExcludingTax: 83.31,
      totalTaxAmount: 16.66,
      invoiceId: '00000000-0000-0000-0000-000000000000',
      invoiceNumber: '',
    });
    expect(gbp.body.salesCreditMemoLines.map((l: any) => [l.lineType, l.sequence, l.amountIncludingTax])).toEqual([
      ['Item', 10000, 99.97],
      ['Comment', 20000, 0],
    ]);
    const jpy = await api(sim, 'POST', 'salesCreditMemos', {
      body: memo('RETURN:2', [itemLine('SENCHA-100G', 3, 334, { discountAmount: 2 })], { currencyCode: 'JPY' }),
    });
    expect(jpy.body).toMatchObject({ currencyCode: 'JPY', totalAmountIncludingTax: 1000, totalTaxAmount: 74 });
    const kwd = await api(sim, 'POST', 'salesCreditMemos', {
      body: memo('RETURN:3', [itemLine('SHAYLA-SILK-GRY', 3, 6.25, { discountAmount: 0.125 })], { currencyCode: 'KWD', customerNumber: '20000' }),
    });
    expect(kwd.body).toMatchObject({ currencyCode: 'KWD', pricesIncludeTax: false, totalAmountExcludingTax: 18.625, totalAmountIncludingTax: 18.625 });
    const found = await api(sim, 'GET', "salesCreditMemos?$filter=externalDocumentNumber eq 'RETURN:2'&$expand=salesCreditMemoLines");
    expect(found.body.value).toHaveLength(1);
    expect(found.body.value[0]).toMatchObject({ id: jpy.body.id, salesCreditMemoLines: [{ lineObjectNumber: 'SENCHA-100G', quantity: 3 }] });
    expect((await api(sim, 'GET', `salesCreditMemos(${jpy.body.id})/salesCreditMemoLines`)).body.value).toHaveLength(1);
    expect(sim.state().creditMemos['RETURN:3'][0]).toMatchObject({ number: 'S-CR104003', currencyCode: 'KWD', lines: 1, totalAmountIncludingTax: 18.625 });
  });

  it('salesCreditMemos: a bad line creates nothing; invoiceId/invoiceNumber must name a posted invoice of the same customer; PATCH/DELETE need If-Match', async () => {
    sim = await startSimulator();
    const bad = await api(sim, 'POST', 'salesCreditMemos', { body: memo('RETURN:X', [itemLine('JEANS-SLIM-32-32', 1, 10), itemLine('NOPE', 1, 1)]) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('Internal_RecordNotFound');
    expect(sim.state().counts).toMatchObject({ salesCreditMemos: 0, salesCreditMemoLines: 0 });
    expect((await api(sim, 'POST', 'salesCreditMemos', { body: memo('RETURN:X', [], { totalAmountIncludingTax: 1 }) })).body.error.code).toBe(
      'BadRequest_ReadOnlyProperty',
    );

    const o = (await api(sim, 'POST', 'salesOrders', { body: order('ORDER:1', [itemLine('JEANS-SLIM-32-32', 1, 49.99)]) })).body;
    expect((await api(sim, 'POST', `salesOrders(${o.id})/Microsoft.NAV.shipAndInvoice`)).status).toBe(204);
    const invoice = (await api(sim, 'GET', "salesInvoices?$filter=externalDocumentNumber eq 'ORDER:1'")).body.value[0];
    const unknown = await api(sim, 'POST', 'salesCreditMemos', { body: memo('RETURN:Y', [], { invoiceId: '11111111-1111-1111-1111-111111111111' }) });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'Internal_RecordNotFound']);
    const otherCustomer = await api(sim, 'POST', 'salesCreditMemos', { body: memo('RETURN:Y', [], { invoiceId: invoice.id, customerNumber: '20000' }) });
    expect(otherCustomer.status).toBe(400);
    const applied = await api(sim, 'POST', 'salesCreditMemos', {
      body: memo('RETURN:Y', [itemLine('JEANS-SLIM-32-32', 1, 49.99)], { invoiceNumber: invoice.number }),
    });
    expect(applied.body).toMatchObject({ invoiceId: invoice.id, invoiceNumber: invoice.number });

    const id = applied.body.id;
    expect((await api(sim, 'PATCH', `salesCreditMemos(${id})`, { body: { email: 'x@example.com' } })).body.error.code).toBe('BadRequest_InvalidToken');
    const lines = (await api(sim, 'GET', `salesCreditMemos(${id})/salesCreditMemoLines`)).body.value;
    const changed = await api(sim, 'PATCH', `salesCreditMemos(${id})/salesCreditMemoLines(${lines[0].id})`, {
      body: { quantity: 2 },
      headers: { 'if-match': lines[0]['@odata.etag'] },
    });
    expect(changed.status).toBe(200);
    expect((await api(sim, 'GET', `salesCreditMemos(${id})`)).body.totalAmountIncludingTax).toBe(99.98);
    expect((await api(sim, 'DELETE', `salesCreditMemos(${id})`, { headers: { 'if-match': applied.body['@odata.etag'] } })).status).toBe(409);
    expect((await api(sim, 'DELETE', `salesCreditMemos(${id})`, { headers: { 'if-match': '*' } })).status).toBe(204);
    expect(sim.state().counts.salesCreditMemoLines).toBe(0);
  });

  it('DELETE salesOrders: If-Match required (400 without, 409 stale), 204 deletes the lines too; refused while shipped lines are not invoiced', async () => {
    sim = await startSimulator();
    const o = (await api(sim, 'POST', 'salesOrders', { body: order('ORDER:2', [itemLine('JEANS-SLIM-32-32', 2, 49.99), itemLine('SOCK-3PK-BLK', 1, 8.99)]) }))
      .body;
    expect((await api(sim, 'DELETE', `salesOrders(${o.id})`)).body.error.code).toBe('BadRequest_InvalidToken');
    const shipment = sim.postShipment({ externalDocumentNumber: 'ORDER:2' }, { lines: { 'JEANS-SLIM-32-32': 1 } });
    expect(shipment).toMatchObject({ number: 'S-SHPT102001', orderNumber: o.number, externalDocumentNumber: 'ORDER:2' });
    const now = (await api(sim, 'GET', `salesOrders(${o.id})`)).body;
    expect(now.fullyShipped).toBe(false);
    expect((await api(sim, 'DELETE', `salesOrders(${o.id})`, { headers: { 'if-match': o['@odata.etag'] } })).status).toBe(409);
    const refused = await api(sim, 'DELETE', `salesOrders(${o.id})`, { headers: { 'if-match': now['@odata.etag'] } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/Qty\. Shipped Not Invoiced must be equal to '0'/);

    const o2 = (await api(sim, 'POST', 'salesOrders', { body: order('ORDER:3', [itemLine('SOCK-3PK-BLK', 1, 8.99)]) })).body;
    expect((await api(sim, 'DELETE', `salesOrders(${o2.id})`, { headers: { 'if-match': o2['@odata.etag'] } })).status).toBe(204);
    expect((await api(sim, 'GET', `salesOrders(${o2.id})`)).status).toBe(404);
    expect((await api(sim, 'DELETE', `salesOrders(${o2.id})`, { headers: { 'if-match': '*' } })).status).toBe(404);
    expect(sim.state().counts).toMatchObject({ salesOrders: 1, salesOrderLines: 2 });
  });

  it('salesShipments: posted by the test hook (in process or POST /__simulator/shipments), read-only, filterable, with lines', async () => {
    sim = await startSimulator();
    const o = (await api(sim, 'POST', 'salesOrders', { body: order('ORDER:4', [itemLine('JEANS-SLIM-32-32', 2, 49.99)]) })).body;
    const first = await fetch(`${sim.url}/__simulator/shipments`, {
      method: 'POST',
      body: JSON.stringify({ number: o.number, lines: { 'JEANS-SLIM-32-32': 1 }, postingDate: '2026-11-26' }),
    });
    expect(first.status).toBe(201);
    sim.postShipment({ number: o.number }, { postingDate: '2026-11-27' });
    const none = await fetch(`${sim.url}/__simulator/shipments`, { method: 'POST', body: JSON.stringify({ number: o.number }) });
    expect(none.status).toBe(400);
    const list = await api(sim, 'GET', "salesShipments?$filter=externalDocumentNumber eq 'ORDER:4'&$orderby=number&$expand=salesShipmentLines");
    expect(
      list.body.value.map((s: any) => [s.number, s.orderNumber, s.postingDate, s.salesShipmentLines.map((l: any) => [l.lineObjectNumber, l.quantity])]),
    ).toEqual([
      ['S-SHPT102001', o.number, '2026-11-26', [['JEANS-SLIM-32-32', 1]]],
      ['S-SHPT102002', o.number, '2026-11-27', [['JEANS-SLIM-32-32', 1]]],
    ]);
    expect((await api(sim, 'GET', `salesOrders(${o.id})`)).body.fullyShipped).toBe(true);
    expect((await api(sim, 'POST', 'salesShipments', { body: { number: 'X' } })).status).toBe(405);
  });
});

describe('Business Central simulator: throttling and faults', () => {
  it('per-user sliding window: request N+1 within the window is 429 with the BC envelope; the window slides', async () => {
    sim = await startSimulator({ throttle: { maxRequests: 5, windowMs: 150 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api(sim, 'GET', 'items?$top=1')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const throttled = await api(sim, 'GET', 'items?$top=1');
    expect(throttled.body.error.code).toBe('Application_TooManyRequests');
    const end = Date.now() + 2000;
    let status = 429;
    while (status === 429 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await api(sim, 'GET', 'items?$top=1')).status;
    }
    expect(status).toBe(200);
    expect(sim.state().requests.throttled).toBeGreaterThanOrEqual(2);
  });

  it('concurrency: a full queue is 429, a request queued too long is 503 with Retry-After', async () => {
    sim = await startSimulator({ latencyMs: 60, throttle: { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 1000 } });
    const results = await Promise.all([0, 1, 2, 3].map(() => api(sim, 'GET', 'items?$top=1')));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    await sim.close();
    sim = await startSimulator({ latencyMs: 80, throttle: { maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 20, retryAfterSeconds: 2 } });
    const slow = await Promise.all([0, 1].map(() => api(sim, 'GET', 'items?$top=1')));
    const unavailable = slow.find((r) => r.status === 503)!;
    expect(unavailable.headers.get('retry-after')).toBe('2');
    expect(unavailable.body.error.code).toBe('ServiceUnavailable');
  });

  it('a request slower than the gateway timeout is answered 504 although its work was done', async () => {
    sim = await startSimulator({ latencyMs: 30, gatewayTimeoutMs: 10 });
    const res = await api(sim, 'POST', 'salesOrders', { body: order('SLOW-1', [itemLine('SKU-0001', 1, 1)]) });
    expect(res.status).toBe(504);
    expect(sim.state().orders['SLOW-1']).toHaveLength(1);
  });

  it('faults are deterministic by seed: errors cycle 500/503/429, lost responses are committed, state and control work over HTTP', async () => {
    sim = await startSimulator();
    const control = (path: string, body?: unknown): Promise<any> =>
      fetch(`${sim.url}/__simulator/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.json());
    expect(await control('faults', { errorRate: 1, seed: 7 })).toMatchObject({ errorRate: 1, seed: 7 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api(sim, 'GET', 'items?$top=1')).status);
    expect(statuses).toEqual([500, 503, 429]);

    await control('faults', { lostResponseRate: 1 });
    await expect(api(sim, 'POST', 'salesOrders', { body: order('LOST-1', [itemLine('SKU-0001', 1, 1)]) })).rejects.toThrow();
    await control('faults', {});
    const state = await control('state');
    expect(state.orders['LOST-1']).toEqual([expect.objectContaining({ document: 'salesOrder', lines: 1, totalAmountIncludingTax: 1 })]);
    expect(state.requests.faults).toEqual({ errors: 3, timeouts: 0, lostResponses: 1 });

    await control('items', [{ number: 'NEW-ITEM', inventory: 7 }]);
    expect((await api(sim, 'GET', `items?$filter=number eq 'NEW-ITEM'`)).body.value[0].inventory).toBe(7);
    const counts = await control('reset', {});
    expect(counts).toMatchObject({ salesOrders: 0, items: 510 });

    // Same seed, same picks
    const pick = async () => {
      sim.setFaults({ errorRate: 0.5, seed: 42 });
      const out = [];
      for (let i = 0; i < 8; i++) out.push((await api(sim, 'GET', 'items?$top=1')).status);
      return out;
    };
    expect(await pick()).toEqual(await pick());
  });

  it('a timeout fault never answers: the client gives up on its own clock', async () => {
    sim = await startSimulator({ faults: { timeoutRate: 1 } });
    await expect(fetch(`${sim.companyUrl}/items`, { headers: { authorization: `Bearer ${sim.token}` }, signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(sim.state().requests.faults.timeouts).toBe(1);
  });
});

describe('Business Central simulator: subscriptions (webhooks)', () => {
  it('validates the subscriber by handshake, notifies changes after the delay with clientState, renews with PATCH, deletes on a non-retryable answer', async () => {
    sim = await startSimulator({ subscriptions: { notificationDelayMs: 20, retryDelaysMs: [10, 10] } });
    let answers = [200, 500, 200, 404];
    const hook = await webhookReceiver(() => answers.shift() ?? 200);
    try {
      const resource = `/api/v2.0/companies(${sim.companyId})/salesOrders`;
      const created = await api(sim, 'POST', `${sim.apiRoot}/subscriptions`, { body: { notificationUrl: hook.url, resource, clientState: 'shared-secret' } });
      expect(created.status).toBe(201);
      expect(hook.handshakes).toBe(1);
      const sub = created.body;
      expect(Date.parse(sub.expirationDateTime) - Date.now()).toBeGreaterThan(2.9 * 24 * 3600_000);

      await api(sim, 'POST', 'salesOrders', { body: order('W-1', [itemLine('SKU-0001', 1, 1)]) });
      await eventually(() => hook.notifications.length >= 1);
      expect(hook.notifications[0].body.value[0]).toMatchObject({
        subscriptionId: sub.subscriptionId,
        clientState: 'shared-secret',
        changeType: 'created',
        resource: expect.stringMatching(/\/salesOrders\([0-9a-f-]+\)$/),
      });

      // 500 is retried with the same batch
      await api(sim, 'POST', 'salesOrders', { body: order('W-2', [itemLine('SKU-0001', 1, 1)]) });
      await eventually(() => hook.notifications.length >= 3);
      expect(hook.notifications[1].status).toBe(500);
      expect(hook.notifications[2].body).toEqual(hook.notifications[1].body);

      const renewed = await api(sim, 'PATCH', `${sim.apiRoot}/subscriptions('${sub.subscriptionId}')`, {
        body: {},
        headers: { 'if-match': sub['@odata.etag'] },
      });
      expect(renewed.status).toBe(200);
      expect(hook.handshakes).toBe(2);

      // 404 deletes the subscription
      await api(sim, 'POST', 'salesOrders', { body: order('W-3', [itemLine('SKU-0001', 1, 1)]) });
      await eventually(() => hook.notifications.length >= 4);
      await eventually(() => sim.state().counts.subscriptions === 0);

      hook.refuseHandshake();
      const refused = await api(sim, 'POST', `${sim.apiRoot}/subscriptions`, { body: { notificationUrl: hook.url, resource, clientState: 'x' } });
      expect(refused.status).toBe(400);
      answers = [];
    } finally {
      await hook.close();
    }
  });

  it('more changes than the threshold collapse into one collection notification', async () => {
    sim = await startSimulator({ subscriptions: { notificationDelayMs: 200, collectionThreshold: 3 } });
    const hook = await webhookReceiver();
    try {
      await api(sim, 'POST', `${sim.apiRoot}/subscriptions`, {
        body: { notificationUrl: hook.url, resource: `/api/v2.0/companies(${sim.companyId})/salesOrders`, clientState: 's' },
      });
      await Promise.all([1, 2, 3, 4, 5].map((i) => api(sim, 'POST', 'salesOrders', { body: order(`C-${i}`, []) })));
      await eventually(() => hook.notifications.length >= 1);
      expect(hook.notifications[0].body.value).toEqual([
        expect.objectContaining({ changeType: 'collection', resource: expect.stringMatching(/salesOrders\?\$filter=lastModifiedDateTime gt /) }),
      ]);
    } finally {
      await hook.close();
    }
  });
});

describe('Business Central simulator: $batch (OData JSON batch)', () => {
  const batchUrl = () => `${sim.apiRoot}/$batch`;
  const post = (id: string, edn: string, extra: Record<string, unknown> = {}) => ({
    id,
    method: 'POST',
    url: `companies(${sim.companyId})/salesOrders`,
    headers: { 'content-type': 'application/json' },
    body: order(edn, [itemLine('SKU-0001', 1, 5)]),
    ...extra,
  });
  const bad = (id: string, extra: Record<string, unknown> = {}) => post(id, 'BATCH-BAD', { body: order('BATCH-BAD', [itemLine('NO-SUCH', 1, 5)]), ...extra });
  const run = (requests: unknown[], headers: Record<string, string> = {}) => api(sim, 'POST', batchUrl(), { body: { requests }, headers });
  const edns = () => Object.keys(sim.state().orders).sort();

  it('answers each inner request with its own status; stops at the first failure unless Prefer: odata.continue-on-error', async () => {
    sim = await startSimulator();
    const stopped = await run([post('1', 'BATCH-1'), bad('2'), post('3', 'BATCH-3')]);
    expect(stopped.status).toBe(200);
    expect(stopped.body.responses.map((r: any) => [r.id, r.status])).toEqual([
      ['1', 201],
      ['2', 400],
    ]);
    expect(stopped.body.responses[1].body.error.message).toMatch(/The Item does not exist/);
    expect(edns()).toEqual(['BATCH-1']);
    const all = await run(
      [
        post('1', 'BATCH-4'),
        bad('2'),
        post('3', 'BATCH-5'),
        {
          id: '4',
          method: 'GET',
          url: `companies(${sim.companyId})/salesOrders?$filter=externalDocumentNumber eq 'BATCH-1' or externalDocumentNumber eq 'BATCH-4'`,
        },
      ],
      {
        prefer: 'odata.continue-on-error',
      },
    );
    expect(all.body.responses.map((r: any) => r.status)).toEqual([201, 400, 201, 200]);
    expect(all.body.responses[3].body.value.map((o: any) => o.externalDocumentNumber).sort()).toEqual(['BATCH-1', 'BATCH-4']);
    expect(edns()).toEqual(['BATCH-1', 'BATCH-4', 'BATCH-5']);
    expect(sim.state().requests.batch).toEqual({ batches: 2, requests: 6 });
  });

  it('Isolation: snapshot makes the batch one transaction; an atomicity group is all or nothing (424 for the rest), the requests outside it stand', async () => {
    sim = await startSimulator();
    const snap = await run([post('1', 'SNAP-1'), bad('2')], { isolation: 'snapshot', prefer: 'odata.continue-on-error' });
    expect(snap.body.responses.map((r: any) => r.status)).toEqual([201, 400]);
    expect(edns()).toEqual([]);
    const grouped = await run([post('1', 'ALONE-1'), post('2', 'GROUP-1', { atomicityGroup: 'g' }), bad('3', { atomicityGroup: 'g' }), post('4', 'ALONE-2')], {
      prefer: 'odata.continue-on-error',
    });
    expect(grouped.body.responses.map((r: any) => r.status)).toEqual([201, 424, 400, 201]);
    expect(edns()).toEqual(['ALONE-1', 'ALONE-2']);
  });

  it('takes at most 100 requests, with the message BC gives; dependsOn must name an earlier request', async () => {
    sim = await startSimulator();
    const many = await run(Array.from({ length: 101 }, (_, i) => ({ id: String(i), method: 'GET', url: `companies(${sim.companyId})/items?$top=1` })));
    expect(many.status).toBe(400);
    expect(many.body.error.message).toMatch(/A maximum number of '100' query operations and change sets are allowed in a batch message/);
    const forward = await run([post('1', 'DEP-1', { dependsOn: ['2'] }), post('2', 'DEP-2')]);
    expect(forward.status).toBe(400);
    expect(edns()).toEqual([]);
  });

  it('test faults: a lost batch answer is carried out; an inner fault is refused before, or answered after the work is done', async () => {
    sim = await startSimulator();
    sim.setBatchFaults({
      loseAnswers: 1,
      requests: [
        { match: 'FAULT-2', status: 503 },
        { match: 'FAULT-3', status: 500, done: true },
      ],
    });
    await expect(
      fetch(batchUrl(), {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ requests: [post('1', 'LOST-1')] }),
      }),
    ).rejects.toThrow();
    expect(edns()).toEqual(['LOST-1']);
    const faulted = await run([post('1', 'FAULT-1'), post('2', 'FAULT-2'), post('3', 'FAULT-3')], { prefer: 'odata.continue-on-error' });
    expect(faulted.body.responses.map((r: any) => r.status)).toEqual([201, 503, 500]);
    expect(edns()).toEqual(['FAULT-1', 'FAULT-3', 'LOST-1']);
  });
});

describe('Business Central simulator: CLI', () => {
  it('parses the command line', () => {
    expect(parseCliArgs(['--port', '18070', '--token=abc', '--error-rate', '0.1', '--seed', '3', '--max-requests', '100'])).toMatchObject({
      port: 18070,
      token: 'abc',
      faults: { errorRate: 0.1, seed: 3 },
      throttle: { maxRequests: 100 },
    });
    expect(parseCliArgs(['--help'])).toBe('help');
    expect(() => parseCliArgs(['--bogus'])).toThrow(/unknown option/);
  });
});
