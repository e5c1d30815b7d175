/**
 * One entry point for the simulators, as a sandbox to try flows against without touching a real
 * account: `node dist/simulators/cli.js <system> [flags]` (`npm run simulator -- <system> …` from a
 * checkout), `--help` after the system lists its flags. Each simulator file also runs on its own.
 * The simulators are not in the published package; this runs from a Tillwire checkout.
 */
import { runMain } from './kit/cli';

const SYSTEMS: Record<string, { what: string; main: (argv: string[]) => Promise<unknown> }> = {
  odoo: { what: 'Odoo JSON-RPC / JSON-2 (port 18069)', main: (a) => import('./odoo/simulator').then((m) => m.main(a)) },
  'business-central': { what: 'Business Central API v2.0 (port 18070)', main: (a) => import('./business-central/simulator').then((m) => m.main(a)) },
  shopify: { what: 'Shopify Admin API (port 18080)', main: (a) => import('./shopify/simulator').then((m) => m.main(a)) },
  square: { what: 'Square API (port 18091)', main: (a) => import('./square/simulator').then((m) => m.main(a)) },
  amazon: { what: 'Amazon SP-API (port 18443)', main: (a) => import('./amazon/simulator').then((m) => m.main(a)) },
  bol: { what: 'bol.com Retailer API v10 (port 18444)', main: (a) => import('./bol/simulator').then((m) => m.main(a)) },
  quickbooks: { what: 'QuickBooks Online Accounting API (port 18445)', main: (a) => import('./quickbooks/simulator').then((m) => m.main(a)) },
  xero: { what: 'Xero Accounting API, manual journals (port 18092)', main: (a) => import('./xero/simulator').then((m) => m.main(a)) },
  tills: {
    what: 'store tills publishing sales over MQTT (the device simulator)',
    main: (a) => import('./pos-mqtt/device-simulator').then(async (m) => (process.exitCode = await m.main(a))),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SYSTEMS).map((k) => k.length)) + 2;
  return [
    'Tillwire simulators',
    '',
    '  node dist/simulators/cli.js <system> [flags]      (<system> --help lists its flags)',
    '',
    ...Object.entries(SYSTEMS).map(([name, s]) => `  ${name.padEnd(width)}${s.what}`),
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [system, ...rest] = argv;
  if (!system || system === '--help' || system === '-h') {
    process.stdout.write(usage());
    return;
  }
  const entry = SYSTEMS[system];
  if (!entry) {
    process.stderr.write(`unknown simulator ${JSON.stringify(system)}\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await entry.main(rest);
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
