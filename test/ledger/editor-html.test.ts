/**
 * Static checks of the ledger nodes' editor files (the test helper does not load .html): the
 * registerType script runs against a stub RED and defines what the runtime node reads, the edit
 * template and help exist, and the icon is there.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const DIR = path.join(__dirname, '../../nodes/ledger');

const NODES = [
  {
    file: 'journal',
    type: 'tillwire-journal',
    outputs: 1,
    props: ['store', 'defaultRevenueAccount', 'revenueRates', 'taxCodes', 'tenderAccounts', 'roundingAccount', 'narration'],
  },
  {
    file: 'journal-file',
    type: 'tillwire-journal-file',
    outputs: 1,
    props: ['directory', 'layout', 'defaultTaxRate', 'trackingNames', 'dateFormat', 'accountNames', 'classFrom', 'locationFrom'],
  },
  { file: 'reconcile', type: 'tillwire-reconcile', outputs: 2, props: ['store', 'mode', 'erpSystem'] },
];

function registered(html: string): { type: string; def: any } {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1];
  let captured: { type: string; def: any } | undefined;
  const RED = {
    nodes: { registerType: (type: string, def: any) => (captured = { type, def }) },
    validators: { number: () => () => true, regex: (re: RegExp) => (v: string) => re.test(v) },
  };
  vm.runInNewContext(script, { RED, $: () => undefined });
  return captured!;
}

describe.each(NODES)('$type editor files', ({ file, type, outputs, props }) => {
  const html = fs.readFileSync(path.join(DIR, `${file}.html`), 'utf8');
  const help = fs.readFileSync(path.join(DIR, 'locales/en-US', `${file}.html`), 'utf8');

  it('registers the type inline in the ERP & finance category with defaults for every property the runtime reads', () => {
    expect(html).toContain(`RED.nodes.registerType('${type}', {`);
    const { type: t, def } = registered(html);
    expect(t).toBe(type);
    expect(def.category).toBe('Tillwire ERP and finance');
    expect(def.outputs).toBe(outputs);
    expect(def.inputs).toBe(1);
    expect(Object.keys(def.defaults)).toEqual(expect.arrayContaining(['name', ...props]));
    expect(fs.existsSync(path.join(DIR, 'icons', def.icon))).toBe(true);
    expect(def.icon).toBe(`${type}.svg`);
    expect(typeof def.label).toBe('function');
  });

  it('has an edit template with an input for each simple property, and sidebar help', () => {
    expect(html).toContain(`data-template-name="${type}"`);
    const { def } = registered(html);
    for (const [prop, spec] of Object.entries<any>(def.defaults)) {
      if (Array.isArray(spec.value) || (spec.value && typeof spec.value === 'object')) continue; // edited in oneditprepare
      expect(html).toContain(`id="node-input-${prop}"`);
    }
    expect(help).toContain(`data-help-name="${type}"`);
    expect(help).toMatch(/<h3>Inputs<\/h3>[\s\S]*<h3>Outputs<\/h3>[\s\S]*<h3>Details<\/h3>/);
  });

  it('the icon is a white-on-transparent 40×60 SVG', () => {
    const svg = fs.readFileSync(path.join(DIR, 'icons', `${type}.svg`), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="40" height="60" viewBox="0 0 40 60">/);
    expect(svg).toContain('stroke="#fff"');
    expect(svg).not.toMatch(/fill="#(?!fff)/i);
  });
});

it('the reconcile ERP field accepts system names only', () => {
  const { def } = registered(fs.readFileSync(path.join(DIR, 'reconcile.html'), 'utf8'));
  expect(def.defaults.erpSystem.validate('odoo')).toBe(true);
  expect(def.defaults.erpSystem.validate('')).toBe(true);
  expect(def.defaults.erpSystem.validate('Odoo ERP')).toBe(false);
});
