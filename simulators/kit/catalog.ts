/**
 * The demo product catalogue shared by the simulators (store devices, ERPs, channels), so a SKU a
 * till sells is a product the ERP simulator knows. Deterministic: the same index always gives the
 * same SKU, name, price and tax rate.
 */
export interface CatalogItem {
  sku: string;
  name: string;
  /** Unit price in minor units, tax included (retail shelf price). */
  unitPrice: number;
  /** Tax rate as decimal text, e.g. "0.2000". */
  taxRate: string;
}

const NOUNS = ['tee', 'hoodie', 'jeans', 'cap', 'socks', 'scarf', 'jacket', 'shorts', 'belt', 'tote'];
const COLOURS = ['black', 'white', 'navy', 'olive', 'red', 'grey', 'sand', 'teal'];
const RATES = ['0.2000', '0.2000', '0.2000', '0.0500', '0.0000'];

export function catalogItem(index: number): CatalogItem {
  const n = index + 1;
  return {
    sku: `SKU-${String(n).padStart(4, '0')}`,
    name: `${COLOURS[index % COLOURS.length]} ${NOUNS[Math.floor(index / COLOURS.length) % NOUNS.length]} #${n}`,
    unitPrice: 499 + ((index * 37) % 60) * 100,
    taxRate: RATES[index % RATES.length],
  };
}

export const DEMO_CATALOG_SIZE = 500;

export function demoCatalog(size = DEMO_CATALOG_SIZE): CatalogItem[] {
  return Array.from({ length: size }, (_, i) => catalogItem(i));
}
