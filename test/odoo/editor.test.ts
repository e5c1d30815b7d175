/**
 * The editor side without a browser: each .html registers its type with a literal definition that
 * evaluates, its edit template has an input per property, its help has the expected sections, and
 * the icon is a white-on-transparent 40×60 SVG.
 */
import fs from 'node:fs';
import path from 'node:path';

const dir = path.join(__dirname, '..', '..', 'nodes', 'odoo');
const read = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

function definition(file: string): { type: string; def: any } {
  const html = read(file);
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1];
  let captured: { type: string; def: any } | undefined;
  const RED = {
    nodes: { registerType: (type: string, def: any) => (captured = { type, def }) },
    validators: { number: () => () => true, regex: () => () => true },
  };
  new Function('RED', '$', script)(RED, () => ({}));
  return captured!;
}

describe('odoo editor files', () => {
  it('tillwire-odoo: palette category, icon, defaults, edit rows and help', () => {
    const { type, def } = definition('odoo.html');
    expect(type).toBe('tillwire-odoo');
    expect(def).toMatchObject({ category: 'Tillwire ERP and finance', inputs: 1, outputs: 1, icon: 'tillwire-odoo.svg', paletteLabel: 'odoo' });
    expect(def.defaults.odoo).toEqual({ value: '', type: 'tillwire-odoo-config', required: true });
    expect(def.defaults.store).toMatchObject({ type: 'tillwire-store', required: false });
    expect(def.label.call({ operation: 'stock' })).toBe('odoo stock');
    const html = read('odoo.html');
    for (const key of Object.keys(def.defaults)) expect(html).toContain(`id="node-input-${key}"`);
    const help = read('locales/en-US/odoo.html');
    expect(help).toContain('data-help-name="tillwire-odoo"');
    for (const section of ['<h3>Inputs</h3>', '<h3>Outputs</h3>', '<h3>Details</h3>', '<h3>Example</h3>']) expect(help).toContain(section);
  });

  it('tillwire-odoo-config: config category, password credential, a row per property, help', () => {
    const { type, def } = definition('odoo-config.html');
    expect(type).toBe('tillwire-odoo-config');
    expect(def.category).toBe('config');
    expect(def.credentials).toEqual({ apiKey: { type: 'password' } });
    expect(Object.keys(def.defaults)).not.toContain('apiKey'); // secrets never in defaults
    const html = read('odoo-config.html');
    for (const key of [...Object.keys(def.defaults), 'apiKey']) expect(html).toContain(`id="node-config-input-${key}"`);
    expect(def.label.call({ database: 'tillwire', url: 'http://127.0.0.1:18069' })).toBe('tillwire @ http://127.0.0.1:18069');
    expect(read('locales/en-US/odoo-config.html')).toContain('data-help-name="tillwire-odoo-config"');
  });

  it('icon: white strokes on transparent, 40×60', () => {
    const svg = read('icons/tillwire-odoo.svg');
    expect(svg).toMatch(/width="40" height="60" viewBox="0 0 40 60"/);
    expect(svg).toContain('stroke="#fff"');
    expect(svg).not.toMatch(/fill="#(?!fff)/);
  });
});
