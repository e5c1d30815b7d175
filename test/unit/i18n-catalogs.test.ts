/**
 * The message catalogs are complete: every key an editor file (data-i18n, this._ / node._) or a
 * runtime file (statusTexts' t(...), commonText(...)) uses exists in the English catalog and in
 * every translation, each translation has exactly the English keys with the same __placeholders__,
 * and no edit dialog still carries text outside a data-i18n element. docs/translating.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MODULE } from '../../nodes/core/status-text';

const NODES = path.join(__dirname, '../../nodes');
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
/** The node sets, as Node-RED loads them: folder and file name of each .js. */
const SETS = Object.entries<string>(pkg['node-red'].nodes).map(([set, js]) => ({
  set,
  folder: path.basename(path.dirname(js)),
  name: path.basename(js, '.js'),
}));
const TRANSLATIONS = ['de'];

type Catalog = { [key: string]: string | Catalog };
function flatten(c: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}
function catalog(folder: string, lang: string, name: string): Map<string, string> | undefined {
  const file = path.join(NODES, folder, 'locales', lang, `${name}.json`);
  return fs.existsSync(file) ? flatten(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined;
}
const placeholders = (text: string) => [...text.matchAll(/__([A-Za-z0-9_]+?)__/g)].map((m) => m[1]).sort();

/** Keys an editor file uses, without the [attribute] prefix; keys of other namespaces left out. */
function editorKeys(html: string): string[] {
  const keys: string[] = [];
  for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) for (const k of m[1].split(';')) keys.push(k.replace(/^\[[^\]]+\]/, ''));
  for (const m of html.matchAll(/\b(?:this|node)\._\('([^']+)'/g)) keys.push(m[1]);
  return keys.filter((k) => !k.includes(':'));
}
/**
 * Keys a runtime file passes to its statusTexts function (`t`, `t.problem`) and to commonText /
 * commonProblem: the quoted key-shaped words (`status.counts`, or both branches of
 * `cond ? 'a.b' : 'a.c'`) between the call's opening parenthesis and its values object.
 */
function runtimeKeys(ts: string): { own: string[]; common: string[] } {
  const keysIn = (args: string) => [...args.matchAll(/'([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)'/g)].map((m) => m[1]);
  const calls = (re: RegExp) => [...ts.matchAll(re)].flatMap((m) => keysIn(m[1]));
  const own = ts.includes('statusTexts(RED, __filename)') ? calls(/\bt(?:\.problem)?\(([^{\n]*)/g).filter((k) => k.includes('.')) : [];
  const common = calls(/\bcommon(?:Text|Problem)\(RED,([^{\n]*)/g).map((k) => `common.${k}`);
  return { own, common };
}

describe.each(SETS)('$set catalogs', ({ folder, name }) => {
  const en = catalog(folder, 'en-US', name);
  const htmlFile = path.join(NODES, folder, `${name}.html`);
  const html = fs.readFileSync(htmlFile, 'utf8');

  it('has an English catalog with every key its editor file uses', () => {
    expect(en).toBeDefined();
    const missing = editorKeys(html).filter((k) => !en!.has(k));
    expect(missing).toEqual([]);
  });

  it.each(TRANSLATIONS)('has a %s catalog with exactly the English keys and placeholders', (lang) => {
    const tr = catalog(folder, lang, name);
    expect(tr).toBeDefined();
    const missing = [...en!.keys()].filter((k) => !tr!.has(k));
    const extra = [...tr!.keys()].filter((k) => !en!.has(k));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    const wrongVars = [...en!.entries()].filter(([k, v]) => placeholders(v).join() !== placeholders(tr!.get(k)!).join()).map(([k]) => k);
    expect(wrongVars).toEqual([]);
    const untranslated = [...tr!.entries()].filter(([, v]) => v.trim() === '').map(([k]) => k);
    expect(untranslated).toEqual([]);
  });

  it('leaves no text in its edit dialog outside a translated element', () => {
    const template = html.slice(html.indexOf('<script type="text/html" data-template-name='));
    const left = template
      .replace(/<script[^>]*>|<\/script>/g, '')
      .replace(/<([a-z0-9]+)[^>]*data-i18n="[^"]*"[^>]*>[^<]*<\/\1>/g, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/&nbsp;/g, ' ')
      .trim();
    expect(left).toBe('');
  });
});

describe('runtime status texts', () => {
  const files = fs.readdirSync(NODES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s: every key it looks up is in its catalogs', (rel) => {
    const ts = fs.readFileSync(path.join(NODES, rel), 'utf8');
    const { own, common } = runtimeKeys(ts);
    const folder = path.dirname(rel);
    const name = path.basename(rel, '.ts');
    const missing: string[] = [];
    for (const lang of ['en-US', ...TRANSLATIONS]) {
      const mine = catalog(folder, lang, name);
      for (const k of own) if (!mine?.has(k)) missing.push(`${lang} ${name}: ${k}`);
      const shared = catalog('core', lang, 'store-config');
      for (const k of common) if (!shared?.has(k)) missing.push(`${lang} store-config: ${k}`);
    }
    expect(missing).toEqual([]);
  });

  it('finds the keys of the nodes that use the catalogs (the scan itself works)', () => {
    const dedupe = runtimeKeys(fs.readFileSync(path.join(NODES, 'core/dedupe.ts'), 'utf8'));
    expect(dedupe.own).toEqual(expect.arrayContaining(['status.counts', 'status.waiting']));
    const kit = runtimeKeys(fs.readFileSync(path.join(NODES, 'core/node-kit.ts'), 'utf8'));
    expect(kit.common).toEqual(expect.arrayContaining(['common.noStore', 'common.storeUnavailable']));
    expect(kit.common).toEqual(expect.arrayContaining(['common.call.throttled', 'common.call.retrying']));
    const write = runtimeKeys(fs.readFileSync(path.join(NODES, 'core/channel-write.ts'), 'utf8'));
    expect(write.common).toEqual(expect.arrayContaining(['common.write.noAccount', 'common.write.unusable', 'common.write.sent']));
    const webhook = runtimeKeys(fs.readFileSync(path.join(NODES, 'core/webhook-node.ts'), 'utf8'));
    expect(webhook.common).toEqual(expect.arrayContaining(['common.webhook.counts', 'common.webhook.starting', 'common.webhook.httpDisabled']));
    const ship = runtimeKeys(fs.readFileSync(path.join(NODES, 'bol/bol-ship.ts'), 'utf8'));
    expect(ship.own).toEqual(expect.arrayContaining(['status.counts', 'status.noAccount', 'status.badCarrierMap']));
    expect(pollerKeys()).toEqual(expect.arrayContaining(['status.error', 'status.noAccount', 'status.orders', 'status.polling']));
  });

  /** The shared order poller looks its texts up in the catalog of the node that runs it. */
  const pollerKeys = () => [...fs.readFileSync(path.join(NODES, 'core/order-poller.ts'), 'utf8').matchAll(/\bt\('([A-Za-z0-9.]+)'/g)].map((m) => m[1]);
  const pollerNodes = files.filter((rel) => /\brunOrderPoller(<[^(]*>)?\(RED,/.test(fs.readFileSync(path.join(NODES, rel), 'utf8')));

  it('finds the poller nodes that run the shared order poller', () => {
    expect(pollerNodes.map((rel) => path.basename(rel, '.ts')).sort()).toEqual([
      'amazon-orders',
      'bol-invoices',
      'bol-orders',
      'shopify-orders',
      'square-orders',
    ]);
  });

  it.each(pollerNodes)('%s: its catalogs have every key the shared order poller looks up', (rel) => {
    const missing: string[] = [];
    for (const lang of ['en-US', ...TRANSLATIONS]) {
      const mine = catalog(path.dirname(rel), lang, path.basename(rel, '.ts'));
      for (const k of pollerKeys()) if (!mine?.has(k)) missing.push(`${lang}: ${k}`);
    }
    expect(missing).toEqual([]);
  });

  it('names the catalogs with the package name Node-RED uses for their namespace', () => {
    expect(MODULE).toBe(pkg.name);
  });
});

describe('German help pages', () => {
  const helpName = (file: string) => /data-help-name="([^"]+)"/.exec(fs.readFileSync(file, 'utf8'))?.[1];
  const hasHelp = (folder: string, lang: string, name: string) => fs.existsSync(path.join(NODES, folder, 'locales', lang, `${name}.html`));
  /** Node sets whose German help is being written on another branch; the merge empties this list. */
  const PENDING: string[] = [];
  const translated = SETS.filter(({ folder, name }) => hasHelp(folder, 'de', name));

  it.each(TRANSLATIONS)('exist in %s for every node with an English help', (lang) => {
    const withHelp = SETS.filter(({ folder, name }) => hasHelp(folder, 'en-US', name));
    expect(withHelp.length).toBeGreaterThan(20);
    const missing = withHelp.filter(({ set, folder, name }) => !PENDING.includes(set) && !hasHelp(folder, lang, name)).map((s) => s.set);
    expect(missing).toEqual([]);
    // A pending set that has its help now must leave the list, so the list cannot hide a gap later.
    const done = SETS.filter(({ set, folder, name }) => PENDING.includes(set) && hasHelp(folder, lang, name)).map((s) => s.set);
    expect(done).toEqual([]);
  });

  it.each(translated)('$set: the German help is for the same node type as the English one, with the same code samples', ({ folder, name }) => {
    const en = path.join(NODES, folder, 'locales/en-US', `${name}.html`);
    const de = path.join(NODES, folder, 'locales/de', `${name}.html`);
    expect(helpName(de)).toBe(helpName(en));
    const codes = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/<code>([^<]*)<\/code>/g)].map((m) => m[1]).sort();
    expect(codes(de)).toEqual(codes(en));
  });

  it.each(translated)('$set: the German help has the structure of the English one (the same blocks in the same order)', ({ folder, name }) => {
    // Block elements only: a translation may emphasise other words than the English text.
    const block = /<(h[1-6]|p|dl|dt|dd|ul|ol|li|pre|table|tr|th|td|div|script)\b/g;
    const tags = (lang: string) => [...fs.readFileSync(path.join(NODES, folder, 'locales', lang, `${name}.html`), 'utf8').matchAll(block)].map((m) => m[1]);
    expect(tags('de')).toEqual(tags('en-US'));
  });
});
