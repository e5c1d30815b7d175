/**
 * Shared pieces of the Odoo tests: a simulator seeded with the fixtures' SKUs, clients on either
 * API with a fast retry policy, and canonical fixtures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OdooSimulator, OdooSimulatorOptions, SEED } from '../../simulators/odoo/simulator';
import { OdooApi, OdooClient, OdooClientOptions } from '../../nodes/odoo/client';
import { catalogItem } from '../../simulators/kit/catalog';
import type { Sale } from '../../nodes/model/types.generated';

export const FIXTURE_SKUS = [
  'JEANS-SLIM-32-32',
  'SOCK-3PK-BLK',
  'KIDS-TEE-7Y',
  'TEE-BLK-M',
  'MUG-WHT-12OZ',
  'SENCHA-100G',
  'KYUSU-TEAPOT-350',
  'ABAYA-BLK-54',
  'ABAYA-BLK-52',
  'SHAYLA-SILK-GRY',
];

/** The canonical tax codes of the fixtures, mapped to the simulator's seeded taxes. */
export const TAX_MAP = {
  'VAT-STD': SEED.taxes.vat20Included,
  'VAT-ZERO': SEED.taxes.vat0,
  'JP-CT8': SEED.taxes.jpCt8Included,
  'JP-CT10': SEED.taxes.jpCt10Included,
  'US-NY-NYC': SEED.taxes.vat20, // any excluded tax: the USD order is used for variance reporting
};

export function fixture<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'canonical', name), 'utf8'));
}

/**
 * A stock count of `sku` booked in Odoo's API as a warehouse user books it: the counted quantity on
 * its quant in inventory mode, then applied (a done move for the difference, the quant set).
 */
export async function countStock(sim: OdooSimulator, sku: string, quantity: number, locationId: number = SEED.stockLocationId): Promise<void> {
  const client = clientFor(sim, 'jsonrpc');
  try {
    const productId = Number(sim.records('product.product', [['default_code', '=', sku]], ['id'])[0].id);
    const [quant] = await client.create(
      'stock.quant',
      { product_id: productId, location_id: locationId, inventory_quantity: quantity },
      { context: { inventory_mode: true } },
    );
    await client.call('stock.quant', 'action_apply_inventory', { ids: [quant] });
  } finally {
    await client.close();
  }
}

export async function startSimulator(opts: OdooSimulatorOptions = {}): Promise<OdooSimulator> {
  const sim = new OdooSimulator({
    catalogSize: 50,
    extraProducts: FIXTURE_SKUS.map((sku, i) => ({ sku, name: sku.toLowerCase(), listPrice: 10, stock: 5 + i })),
    ...opts,
  });
  await sim.start();
  return sim;
}

export const FAST = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 2000 };

export function clientFor(sim: OdooSimulator, api: OdooApi = 'jsonrpc', extra: Partial<OdooClientOptions> = {}): OdooClient {
  return new OdooClient({
    url: sim.url,
    database: sim.database,
    login: sim.login,
    apiKey: sim.apiKey,
    api,
    version: sim.version,
    policy: FAST,
    ...extra,
  });
}

/** A till sale of demo-catalogue items (prices tax included), numbered `n`. */
export function demoSale(n: number, opts: { store?: string; lines?: number } = {}): Sale {
  const count = opts.lines ?? 1 + (n % 3);
  const lines = Array.from({ length: count }, (_, i) => {
    const item = catalogItem((n * 7 + i * 3) % 50);
    const quantity = 1 + ((n + i) % 2);
    return {
      lineId: String(i + 1),
      sku: item.sku,
      description: item.name,
      quantity,
      unitPrice: { amount: item.unitPrice, currency: 'GBP' },
      lineTotal: { amount: item.unitPrice * quantity, currency: 'GBP' },
    };
  });
  const total = lines.reduce((s, l) => s + l.lineTotal.amount, 0);
  return {
    kind: 'sale',
    saleId: `S-${String(n).padStart(6, '0')}`,
    storeId: opts.store ?? 'LDN-042',
    terminalId: 'T01',
    sequence: n + 1,
    occurredAt: new Date(Date.UTC(2025, 2, 14, 9, 0, n % 60)).toISOString().replace('.000Z', 'Z'),
    businessDate: '2025-03-14',
    currency: 'GBP',
    lines,
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

export function saleKey(sale: Sale): string {
  return `sale:${sale.storeId}:${sale.terminalId}:${sale.saleId}`;
}
