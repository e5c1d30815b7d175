import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BusinessCentralSimulator, SimulatorOptions } from '../../simulators/business-central/simulator';
import { BusinessCentralClient, BusinessCentralClientOptions } from '../../nodes/business-central/client';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'canonical');

export function fixture(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** Items the canonical fixtures sell (the demo catalogue is SKU-0001…SKU-0500). */
export const FIXTURE_ITEMS = [
  { number: 'JEANS-SLIM-32-32', displayName: 'Slim Jeans', unitPrice: 49.99, taxPercent: 20, inventory: 12 },
  { number: 'SOCK-3PK-BLK', displayName: 'Socks 3-pack', unitPrice: 8.99, taxPercent: 20, inventory: 40 },
  { number: 'KIDS-TEE-7Y', displayName: 'Kids tee', unitPrice: 12, taxPercent: 0, inventory: 7 },
  { number: 'TEE-BLK-M', displayName: 'Organic tee', unitPrice: 25, taxPercent: 8.875, inventory: 148 },
  { number: 'MUG-WHT-12OZ', displayName: 'Mug', unitPrice: 18, taxPercent: 8.875, inventory: 30 },
  { number: 'SENCHA-100G', displayName: 'Sencha 100g', unitPrice: 1620, taxPercent: 8, inventory: 90 },
  { number: 'KYUSU-TEAPOT-350', displayName: 'Kyusu teapot', unitPrice: 5500, taxPercent: 10, inventory: 5 },
  { number: 'ABAYA-BLK-54', displayName: 'Abaya 54', unitPrice: 24.5, taxPercent: 0, inventory: 3 },
  { number: 'ABAYA-BLK-52', displayName: 'Abaya 52', unitPrice: 24.5, taxPercent: 0, inventory: 4 },
  { number: 'SHAYLA-SILK-GRY', displayName: 'Silk shayla', unitPrice: 6.25, taxPercent: 0, inventory: 22 },
];

/** A demo-catalogue sale (the SKUs every simulator seeds). */
export function demoSale(n: number, lines = 2): any {
  const items = Array.from({ length: lines }, (_, i) => {
    const sku = `SKU-${String(((n * 7 + i * 13) % 500) + 1).padStart(4, '0')}`;
    const unit = 499 + ((n + i) % 50) * 100;
    const qty = 1 + ((n + i) % 3);
    return { lineId: String(i + 1), sku, quantity: qty, unitPrice: { amount: unit, currency: 'GBP' }, lineTotal: { amount: unit * qty, currency: 'GBP' } };
  });
  const total = items.reduce((a, l) => a + l.lineTotal.amount, 0);
  return {
    kind: 'sale',
    saleId: `S-${String(n).padStart(6, '0')}`,
    storeId: 'LDN-042',
    terminalId: 'T03',
    sequence: n,
    occurredAt: '2025-03-14T17:42:10Z',
    businessDate: '2025-03-14',
    currency: 'GBP',
    lines: items,
    tenders: [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
    totals: {
      subtotal: { amount: total, currency: 'GBP' },
      discountTotal: { amount: 0, currency: 'GBP' },
      taxTotal: { amount: 0, currency: 'GBP' },
      grandTotal: { amount: total, currency: 'GBP' },
    },
    taxesIncluded: true,
  };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<BusinessCentralSimulator> {
  return new BusinessCentralSimulator({ port: 0, items: FIXTURE_ITEMS, ...opts }).start();
}

/** A client against the simulator with fast retries (tests must be quick, not sleepy). */
export function clientFor(sim: BusinessCentralSimulator, opts: Partial<BusinessCentralClientOptions> = {}): BusinessCentralClient {
  return new BusinessCentralClient({
    baseUrl: sim.baseUrl,
    tenant: sim.tenant,
    environment: sim.environment,
    companyId: sim.companyId,
    auth: { mode: 'token', token: sim.token },
    throttleCooloffMs: 5,
    policy: { maxAttempts: 6, baseDelayMs: 2, maxDelayMs: 50, timeoutMs: 5_000 },
    ...opts,
  });
}

export interface ApiResult {
  status: number;
  headers: Headers;
  body: any;
}

/** A raw HTTP call to the simulator's company API (path relative to companies({id})). */
export async function api(
  sim: BusinessCentralSimulator,
  method: string,
  pathOrUrl: string,
  opts: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
): Promise<ApiResult> {
  const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${sim.companyUrl}/${pathOrUrl}`;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? sim.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body };
}

/** A loopback receiver for webhook tests: answers the validation handshake and records notifications. */
export async function webhookReceiver(answer: (n: number) => number = () => 200) {
  const notifications: any[] = [];
  let handshakes = 0;
  let echo = true;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        handshakes++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(echo ? token : 'nope');
        return;
      }
      const status = answer(notifications.length);
      notifications.push({ status, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/bc`;
  return {
    url,
    notifications,
    get handshakes() {
      return handshakes;
    },
    refuseHandshake() {
      echo = false;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Resolves once `predicate` holds, polling every few ms (bounded). */
export async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
