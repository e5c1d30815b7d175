/**
 * The reserve node's editor file without a browser: its definition evaluates, it has the three
 * outputs, the tolerance fields accept whole units (and a node saved before they existed), and each
 * setting has its input in the edit template.
 */
import fs from 'node:fs';
import path from 'node:path';

const html = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'inventory', 'inventory-reserve.html'), 'utf8');

function definition(): { type: string; def: any } {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1];
  let captured: { type: string; def: any } | undefined;
  const RED = { nodes: { registerType: (type: string, def: any) => (captured = { type, def }) }, validators: {} };
  new Function('RED', script)(RED);
  return captured!;
}

it('tillwire-inventory-reserve: three outputs, drift tolerances in whole units, an input per setting', () => {
  const { type, def } = definition();
  expect(type).toBe('tillwire-inventory-reserve');
  expect(def).toMatchObject({ category: 'Tillwire inventory', inputs: 1, outputs: 3 });
  const labels: string[] = [0, 1, 2].map((i) => def.outputLabels.call({ _: (k: string) => k }, i));
  expect(labels).toEqual(['node.output1', 'node.output2', 'node.output3']);
  for (const name of ['driftOnHand', 'driftReserved', 'driftChannel']) {
    const valid = def.defaults[name].validate;
    expect([def.defaults[name].value, '', ' 3 ', undefined, 12].map((v) => valid(v))).toEqual([true, true, true, true, true]);
    expect(['-1', '1.5', 'two'].map((v) => valid(v))).toEqual([false, false, false]);
  }
  for (const name of Object.keys(def.defaults)) expect(html).toContain(`id="node-input-${name}"`);
});
