/**
 * Every connector keeps to its provider's version support window as its nodes/<system>/contract.ts
 * records it (`API_VERSION_SUPPORT`; `accessibleUntil: null` where no end is announced): the default version
 * must still be accessible today and for the next 90 days (so this fails, in CI, a quarter before
 * the provider cuts the version off), every version the config dialog offers must be one the
 * contract lists, and so must every version a shipped flow (flows/, examples/) pins.
 */
import fs from 'node:fs';
import path from 'node:path';
import { apiVersionWarning } from '../../nodes/shopify/contract';

interface VersionSupport {
  defaultVersion: string;
  versions: ReadonlyArray<{ version: string; accessibleUntil: string | null }>;
}

const root = path.join(__dirname, '..', '..');
const WARN_DAYS = 90;
const DAY = 86_400_000;

/** Why `version` is not safe to use from `today` for the next `days` days, or undefined when it is. */
function outsideWindow(support: VersionSupport, version: string, today: Date, days = WARN_DAYS): string | undefined {
  const entry = support.versions.find((v) => v.version === version);
  if (!entry) return `${version} is not in the contract's list (${support.versions.map((v) => v.version).join(', ')})`;
  if (entry.accessibleUntil === null) return undefined; // the provider has announced no end
  const until = Date.parse(`${entry.accessibleUntil}T00:00:00Z`);
  if (Number.isNaN(until)) return `${version}: '${entry.accessibleUntil}' is not a date`;
  const horizon = today.getTime() + days * DAY;
  if (until <= today.getTime()) return `${version} is out of support since ${entry.accessibleUntil}`;
  if (until <= horizon) return `${version} ends on ${entry.accessibleUntil}, within ${days} days: move the default to a newer version`;
  return undefined;
}

const systems = fs
  .readdirSync(path.join(root, 'nodes'))
  .filter((d) => fs.existsSync(path.join(root, 'nodes', d, 'contract.ts')))
  .map((system) => ({
    system,
    support: (require(path.join(root, 'nodes', system, 'contract.ts')) as { API_VERSION_SUPPORT?: VersionSupport }).API_VERSION_SUPPORT,
  }))
  .filter((c): c is { system: string; support: VersionSupport } => !!c.support);

it('finds the connectors whose contracts record version support (Shopify, bol, Square)', () => {
  expect(systems.map((s) => s.system)).toEqual(expect.arrayContaining(['shopify', 'bol', 'square']));
});

it('flags a version that ends within the warning window, one that has ended, and one not listed', () => {
  const support: VersionSupport = {
    defaultVersion: 'b',
    versions: [
      { version: 'a', accessibleUntil: '2027-01-16' },
      { version: 'b', accessibleUntil: '2027-10-16' },
      { version: 'c', accessibleUntil: null },
    ],
  };
  const today = new Date('2026-12-04T00:00:00Z');
  expect(outsideWindow(support, 'a', today)).toMatch(/within 90 days/);
  expect(outsideWindow(support, 'a', new Date('2027-02-01T00:00:00Z'))).toMatch(/out of support since 2027-01-16/);
  expect(outsideWindow(support, 'z', today)).toMatch(/not in the contract's list/);
  expect(outsideWindow(support, 'b', today)).toBeUndefined();
  expect(outsideWindow(support, 'c', today)).toBeUndefined();
});

describe.each(systems.map((s) => [s.system, s.support] as const))('%s', (system, support) => {
  const today = new Date();
  const configHtml = path.join(root, 'nodes', system, `${system}-config.html`);
  const html = fs.existsSync(configHtml) ? fs.readFileSync(configHtml, 'utf8') : '';

  it(`keeps the default version supported today and for the next ${WARN_DAYS} days`, () => {
    expect(outsideWindow(support, support.defaultVersion, today)).toBeUndefined();
  });

  it('offers in the config dialog only versions the contract lists, with the contract default', () => {
    const field = /apiVersion:\s*\{\s*value:\s*'([^']*)'/.exec(html);
    if (field) expect(field[1]).toBe(support.defaultVersion);
    const list = /<datalist[^>]*>([\s\S]*?)<\/datalist>/.exec(html);
    const offered = list ? [...list[1].matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]) : [];
    for (const version of offered) expect({ version, problem: outsideWindow(support, version, today, 0) }).toEqual({ version, problem: undefined });
    // A dialog with a list of versions offers at least the default.
    if (list) expect(offered).toContain(support.defaultVersion);
  });

  it('pins, in every shipped flow, only versions that are supported for the next 90 days', () => {
    const files = [
      path.join(root, 'flows', 'flows.json'),
      ...fs
        .readdirSync(path.join(root, 'examples'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(root, 'examples', f)),
    ];
    for (const file of files) {
      const nodes: Array<Record<string, any>> = JSON.parse(fs.readFileSync(file, 'utf8'));
      for (const n of nodes.filter((x) => x.type === `tillwire-${system}-config` && typeof x.apiVersion === 'string')) {
        expect({ file: path.relative(root, file), problem: outsideWindow(support, n.apiVersion, today) }).toEqual({
          file: path.relative(root, file),
          problem: undefined,
        });
      }
    }
  });
});

it('the Shopify config node warns about a version that is unlisted or past its end, not about a current one', () => {
  const today = new Date('2027-02-01T00:00:00Z');
  expect(apiVersionWarning('2025-01', today)).toMatch(/2025-01 is not one Tillwire is tested with.*default is 2026-10/);
  expect(apiVersionWarning('2026-01', today)).toMatch(/out of support since 2027-01-16.*Move to 2026-10/);
  expect(apiVersionWarning('2026-10', today)).toBeUndefined();
  expect(apiVersionWarning('unstable', today)).toBeUndefined();
});
