/**
 * The hand-wired peers Tillwire's templates are compared with (bench/sales.ts; Tillwire's side is
 * the shipped template, test/e2e/harness e2eFlows). A peer is what an integration engineer would
 * hand-wire today from core nodes: mqtt in (QoS 1, JSON) → function → node-red-node-sqlite for
 * dedupe (INSERT … ON CONFLICT DO NOTHING RETURNING) → switch → the ERP calls:
 *
 * - Odoo (`peerFlows`): function → http request (create the order with its lines, by product id
 *   from a product map loaded at start) → function → http request (action_confirm): 2 calls a sale.
 * - Business Central (`bcPeerFlows`): function → http request (POST salesOrders with the lines
 *   deep-inserted, externalDocumentNumber = the sale's key, the item number = the SKU): 1 call a
 *   sale. That is the business work Tillwire's BC node does for a till sale (one sales order with
 *   its item lines at the sale's prices), without its look-up by externalDocumentNumber before the
 *   create (open orders, then posted invoices) and its item check (cached).
 *
 * It acknowledges each message as the core MQTT node does, on receipt (docs/architecture.md,
 * "Delivery through Node-RED and MQTT"), so it loses sales on a crash, and a retried create makes
 * a second order: it does less than Tillwire, which is the point of the comparison.
 */
const z = 'peer-tab';
const json = (o: unknown) => JSON.stringify(o);

/** The till side of a peer: broker, dedupe database, mqtt in → key → sqlite → switch (new only) → `next`. */
/** The till side of a peer (topics of `brand`): broker, dedupe database, mqtt in → key → sqlite → switch (new sales only) → `next`; GET /peer/ready. */
function intake(brokerPort: number, dbFile: string, brand: string, next: string): any[] {
  return [
    { id: z, type: 'tab', label: 'hand-wired peer' },
    {
      id: 'peer-broker',
      type: 'mqtt-broker',
      name: 'bench broker',
      broker: '127.0.0.1',
      port: String(brokerPort),
      clientid: `bench-peer-${brand}`,
      autoConnect: true,
      usetls: false,
      protocolVersion: '5',
      keepalive: '60',
      cleansession: false,
      sessionExpiry: '600',
      birthTopic: '',
      closeTopic: '',
      willTopic: '',
    },
    { id: 'peer-db', type: 'sqlitedb', db: dbFile, mode: 'RWC' },
    { id: 'peer-ready-in', type: 'http in', z, url: '/peer/ready', method: 'get', wires: [['peer-ready']] },
    { id: 'peer-ready', type: 'function', z, func: "msg.payload = { ready: !!flow.get('ready') }; return msg;", outputs: 1, wires: [['peer-ready-out']] },
    { id: 'peer-ready-out', type: 'http response', z, wires: [] },
    // the sales path
    {
      id: 'peer-in',
      type: 'mqtt in',
      z,
      name: '',
      topic: `tillwire/${brand}/stores/+/tills/+/+`,
      qos: '1',
      datatype: 'json',
      broker: 'peer-broker',
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      wires: [['peer-key']],
    },
    {
      id: 'peer-key',
      type: 'function',
      z,
      name: 'dedupe key',
      func: "msg.sale = msg.payload; msg.params = { $k: 'sale:' + msg.payload.storeId + ':' + msg.payload.terminalId + ':' + msg.payload.saleId }; return msg;",
      outputs: 1,
      wires: [['peer-sqlite']],
    },
    {
      id: 'peer-sqlite',
      type: 'sqlite',
      z,
      mydb: 'peer-db',
      sqlquery: 'prepared',
      sql: 'INSERT INTO seen (k) VALUES ($k) ON CONFLICT DO NOTHING RETURNING k',
      name: 'dedupe',
      wires: [['peer-new']],
    },
    {
      id: 'peer-new',
      type: 'switch',
      z,
      property: 'payload',
      propertyType: 'msg',
      rules: [{ t: 'nempty' }],
      checkall: 'true',
      repair: false,
      outputs: 1,
      wires: [[next]],
    },
  ];
}

/** An inject that fires once, just after the flow starts. */
function onceAtStart(id: string, name: string, wire: string): any {
  return {
    id,
    type: 'inject',
    z,
    name,
    props: [{ p: 'payload' }],
    repeat: '',
    once: true,
    onceDelay: 0.1,
    topic: '',
    payload: '',
    payloadType: 'date',
    wires: [[wire]],
  };
}

/** An http request node that takes its method, URL and headers from the message and parses a JSON answer. */
function httpRequest(id: string, wire?: string): any {
  return { id, type: 'http request', z, method: 'use', ret: 'obj', paytoqs: 'ignore', url: '', wires: [wire ? [wire] : []] };
}

/** The peer against Odoo's JSON-RPC: log in and load the product ids at start, then create and confirm each order. */
export function peerFlows(brokerPort: number, odooUrl: string, dbFile: string, apiKey: string, brand = 'peer'): any[] {
  return [
    ...intake(brokerPort, dbFile, brand, 'peer-create'),
    // start-up: log in and cache the product ids by SKU
    onceAtStart('peer-start', 'start', 'peer-auth'),
    {
      id: 'peer-auth',
      type: 'function',
      z,
      name: 'authenticate',
      func: `msg.url = ${json(odooUrl + '/jsonrpc')}; msg.method = 'POST'; msg.headers = {'content-type':'application/json'}; msg.payload = {jsonrpc:'2.0', method:'call', id:1, params:{service:'common', method:'authenticate', args:['tillwire','admin',${json(apiKey)},{}]}}; return msg;`,
      outputs: 1,
      wires: [['peer-auth-req']],
    },
    httpRequest('peer-auth-req', 'peer-products'),
    {
      id: 'peer-products',
      type: 'function',
      z,
      name: 'load products',
      func: `flow.set('uid', msg.payload.result); msg.payload = {jsonrpc:'2.0', method:'call', id:2, params:{service:'object', method:'execute_kw', args:['tillwire', msg.payload.result, ${json(apiKey)}, 'product.product', 'search_read', [[]], {fields:['default_code']}]}}; return msg;`,
      outputs: 1,
      wires: [['peer-products-req']],
    },
    httpRequest('peer-products-req', 'peer-products-keep'),
    {
      id: 'peer-products-keep',
      type: 'function',
      z,
      name: 'keep products',
      func: "const m = {}; for (const p of msg.payload.result) m[p.default_code] = p.id; flow.set('products', m); flow.set('ready', true); return null;",
      outputs: 1,
      wires: [[]],
    },
    {
      id: 'peer-create',
      type: 'function',
      z,
      name: 'create order',
      func: `const s = msg.sale; const products = flow.get('products'); const key = msg.params.$k;
msg.url = ${json(odooUrl + '/jsonrpc')}; msg.method = 'POST'; msg.headers = {'content-type':'application/json'};
msg.payload = {jsonrpc:'2.0', method:'call', id:3, params:{service:'object', method:'execute_kw', args:['tillwire', flow.get('uid'), ${json(apiKey)}, 'sale.order', 'create', [{partner_id: 2, client_order_ref: key, order_line: s.lines.map(l => [0, 0, {product_id: products[l.sku], product_uom_qty: l.quantity, price_unit: l.unitPrice.amount / 100}])}]]}};
return msg;`,
      outputs: 1,
      wires: [['peer-create-req']],
    },
    httpRequest('peer-create-req', 'peer-confirm'),
    {
      id: 'peer-confirm',
      type: 'function',
      z,
      name: 'confirm order',
      func: `if (msg.payload.error) { node.error(msg.payload.error.data ? msg.payload.error.data.message : 'odoo error', msg); return null; }
msg.payload = {jsonrpc:'2.0', method:'call', id:4, params:{service:'object', method:'execute_kw', args:['tillwire', flow.get('uid'), ${json(apiKey)}, 'sale.order', 'action_confirm', [[msg.payload.result]]]}};
return msg;`,
      outputs: 1,
      wires: [['peer-confirm-req']],
    },
    httpRequest('peer-confirm-req'),
  ];
}

/**
 * The peer against Business Central's API v2.0 (`companyUrl`: …/api/v2.0/companies({id})): one
 * POST salesOrders a sale, its item lines deep-inserted, as the BC connector's mapping would write
 * them (item number = SKU, unit price and the line discount in the currency's units, the business
 * date as order date, the default customer).
 */
export function bcPeerFlows(brokerPort: number, companyUrl: string, dbFile: string, token: string, brand = 'bcpeer'): any[] {
  return [
    ...intake(brokerPort, dbFile, brand, 'peer-bc-order'),
    onceAtStart('peer-bc-start', 'ready', 'peer-bc-ready'),
    { id: 'peer-bc-ready', type: 'function', z, name: 'ready', func: "flow.set('ready', true); return null;", outputs: 1, wires: [[]] },
    {
      id: 'peer-bc-order',
      type: 'function',
      z,
      name: 'sales order',
      func: `const s = msg.sale;
msg.url = ${json(companyUrl + '/salesOrders')}; msg.method = 'POST';
msg.headers = { 'content-type': 'application/json', authorization: ${json('Bearer ' + token)} };
msg.payload = { externalDocumentNumber: msg.params.$k.toUpperCase(), customerNumber: '10000', orderDate: s.businessDate,
  salesOrderLines: s.lines.map(l => { const line = { lineType: 'Item', lineObjectNumber: l.sku, quantity: l.quantity, unitPrice: l.unitPrice.amount / 100 };
    const discount = l.quantity * l.unitPrice.amount - l.lineTotal.amount; if (discount) line.discountAmount = discount / 100; return line; }) };
return msg;`,
      outputs: 1,
      wires: [['peer-bc-order-req']],
    },
    httpRequest('peer-bc-order-req', 'peer-bc-check'),
    {
      id: 'peer-bc-check',
      type: 'function',
      z,
      name: 'check',
      func: "if (msg.statusCode !== 201) node.error('BC answered ' + msg.statusCode + ': ' + JSON.stringify(msg.payload), msg); return null;",
      outputs: 1,
      wires: [[]],
    },
  ];
}
