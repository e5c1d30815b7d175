/**
 * `npm run bench [-- <scenario>…] [--profile] [--heap] [--decimal-comma]`: every scenario, or the ones named
 * (`sales`, `settlement`, `inventory`, `inventory-snapshot`, `store-writes`; bench/README.md). Each writes bench/results/<timestamp>-<scenario>.json and .md.
 *
 * sales: store sales from till publish to the ERP, every row of issue 12's goal table (bench/sales.ts).
 */
import { ROOT } from '../test/support/node-red-process';
import { salesBench } from './sales';
import { settlementBench } from './settlement';
import { inventoryBench } from './inventory';
import { inventorySnapshotBench } from './inventory-snapshot';
import { storeWritesBench } from './store-writes';

const SCENARIOS = ['sales', 'settlement', 'inventory', 'inventory-snapshot', 'store-writes'] as const;
const FLAGS = ['--profile', '--heap', '--decimal-comma'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !(SCENARIOS as readonly string[]).includes(a) && !FLAGS.includes(a));
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(', ')}: scenarios are ${SCENARIOS.join(', ')}, flags ${FLAGS.join(', ')}`);
  const named = SCENARIOS.filter((s) => args.includes(s));
  const chosen = named.length ? named : SCENARIOS;
  if (chosen.includes('sales')) await salesBench({ root: ROOT, profile: args.includes('--profile'), heap: args.includes('--heap') });
  if (chosen.includes('settlement')) await settlementBench({ root: ROOT, profile: args.includes('--profile'), decimalComma: args.includes('--decimal-comma') });
  if (chosen.includes('inventory')) await inventoryBench({ root: ROOT, profile: args.includes('--profile') });
  if (chosen.includes('inventory-snapshot')) await inventorySnapshotBench({ root: ROOT });
  if (chosen.includes('store-writes')) await storeWritesBench({ root: ROOT });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
