/**
 * How a node finds the connection of its config node. Every Tillwire connector config node keeps
 * what it offers the nodes using it (client, settings, problem…) as `connection`, typed by its
 * connector. `connectionOf` returns it only when the id names a deployed config node of the
 * expected type: a missing id, a deleted config node or one of another type all give undefined,
 * so the node reports "no … connection configured" instead of failing on a foreign object later.
 */
import type { NodeRED, RuntimeNode } from './node-red';

/** A config node as the runtime holds it: its type and the connection it offers. */
export type ConfigNode<T> = RuntimeNode & { connection?: T };

export function connectionOf<T>(RED: NodeRED, id: unknown, expectedType: string): T | undefined {
  if (typeof id !== 'string' || !id) return undefined;
  const node = RED.nodes.getNode(id) as ConfigNode<T> | null | undefined;
  return node?.type === expectedType ? node.connection : undefined;
}
