/**
 * `tillwire-dedupe`: an idempotent consumer (Camel's Idempotent Consumer semantics, reliability-notes
 * §1.1). The key is claimed atomically in the store before the message passes; the claim is
 * confirmed when the message passes (confirm "on pass") or when it comes back from a Complete node
 * (confirm "on complete"), and released when it comes back from a Catch node, so a redelivery is
 * processed again. An unconfirmed claim is a lease that lapses after `leaseSeconds` (orphan recovery
 * after a crash).
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { bindStore, Claim, CLAIMS, onInput, StatusBoard } from './node-kit';
import { evaluateProperty } from './property';

interface DedupeDef extends NodeDef {
  store: string;
  key?: string;
  keyType?: 'msg' | 'jsonata';
  scope?: string;
  confirm?: 'pass' | 'complete';
  duplicates?: 'drop' | 'output';
  leaseSeconds?: number | string;
  retentionHours?: number | string;
}

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export = function register(RED: NodeRED) {
  function TillwireDedupeNode(this: RuntimeNode, def: DedupeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const scope = def.scope?.trim() || `node:${def.id}`;
    const keyExpr = def.key?.trim() || 'tillwire.idempotencyKey';
    const keyType = def.keyType === 'jsonata' ? 'jsonata' : 'msg';
    const leaseMs = positive(def.leaseSeconds, 300) * 1000;
    const retentionMs = positive(def.retentionHours, 168) * 3600_000;
    const confirmOnPass = def.confirm !== 'complete';
    const duplicatesToOutput = def.duplicates === 'output';
    const counts = { passed: 0, duplicates: 0, released: 0 };
    const show = () =>
      board.set({ fill: 'green', shape: 'dot', text: `passed ${counts.passed}, duplicates ${counts.duplicates}` });
    if (binding.configured) show();

    async function settle(msg: NodeMessage, claim: Claim): Promise<void> {
      const store = await binding.acquire();
      if (msg.error) {
        // Came back from a Catch node: the work failed, let a redelivery through again.
        if (await store.release(claim.scope, claim.key, claim.token)) counts.released++;
      } else if (!confirmOnPass) {
        // Came back from a Complete node: the work is done.
        const ok = await store.confirm(claim.scope, claim.key, claim.token, retentionMs);
        if (!ok) node.warn(`claim on '${claim.key}' had already lapsed when its completion arrived (lease ${leaseMs / 1000}s)`);
      }
      delete msg[CLAIMS][node.id];
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const returning: Claim | undefined = msg[CLAIMS]?.[node.id];
      if (returning) return settle(msg, returning);

      const key = await evaluateProperty(RED, node, keyType, keyExpr, msg);
      if (key === undefined || key === null || key === '') {
        throw new Error(`dedupe: the message has no idempotency key at ${keyType === 'msg' ? 'msg.' : ''}${keyExpr}`);
      }
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new Error(`dedupe: the idempotency key at ${keyExpr} must be text or a number, got ${typeof key}`);
      }
      const store = await binding.acquire();
      const keyText = String(key);
      const result = await store.claim(scope, keyText, leaseMs);
      if (result.outcome === 'duplicate') {
        counts.duplicates++;
        show();
        if (duplicatesToOutput) {
          msg.duplicate = { key: keyText, state: result.state };
          send([null, msg]);
        }
        return;
      }
      if (confirmOnPass) await store.confirm(scope, keyText, result.token, retentionMs);
      msg[CLAIMS] = { ...(msg[CLAIMS] ?? {}), [node.id]: { scope, key: keyText, token: result.token } satisfies Claim };
      counts.passed++;
      show();
      send([msg, null]);
    });
  }
  RED.nodes.registerType('tillwire-dedupe', TillwireDedupeNode);
};
