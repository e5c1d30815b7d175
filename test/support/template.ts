/**
 * A shipped template (examples/<name>.json) as a test deploys it: on one tab, every inject and
 * debug node stood in for by a helper node (the test sends and watches), and each config node
 * pointed at the test's simulators by `configure`.
 */
import fs from 'node:fs';
import path from 'node:path';

export type FlowNode = Record<string, any>;

export function readTemplate(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples', `${name}.json`), 'utf8'));
}

/** `configure(node)` returns the node as deployed here, or undefined to keep it as it is. */
export function templateFlow(template: FlowNode[], label: string, configure: (n: FlowNode) => FlowNode | undefined): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label },
    ...template
      .filter((n) => n.type !== 'comment')
      .map((n) => {
        const configured = configure(n);
        if (configured) return configured;
        if (n.type === 'inject' || n.type === 'debug') return { id: n.id, type: 'helper', z: 'f1', wires: n.wires ?? [] };
        return n.type.endsWith('-config') || n.type === 'tillwire-store' ? n : { ...n, z: 'f1' };
      }),
  ];
}

/** The id of the template's (only) node of `type`. */
export function idOf(template: FlowNode[], type: string): string {
  const found = template.filter((n) => n.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} in the template, found ${found.length}`);
  return found[0].id;
}
