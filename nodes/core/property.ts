import type { NodeMessage, NodeRED, RuntimeNode } from './node-red';

const prepared = new WeakMap<object, Map<string, unknown>>();

/** Reads a typed-input value (`msg` property path or JSONata expression) from a message. */
export function evaluateProperty(RED: NodeRED, node: RuntimeNode, type: 'msg' | 'jsonata', expr: string, msg: NodeMessage): Promise<unknown> {
  if (type === 'msg') {
    try {
      return Promise.resolve(RED.util.getMessageProperty(msg, expr));
    } catch {
      return Promise.resolve(undefined); // a missing parent object means the property is missing
    }
  }
  let cache = prepared.get(node);
  if (!cache) prepared.set(node, (cache = new Map()));
  let compiled = cache.get(expr);
  if (!compiled) {
    compiled = RED.util.prepareJSONataExpression(expr, node);
    cache.set(expr, compiled);
  }
  return new Promise((resolve, reject) => RED.util.evaluateJSONataExpression(compiled, msg, (err, value) => (err ? reject(err) : resolve(value))));
}
