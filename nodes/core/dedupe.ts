/**
 * `tillwire-dedupe`: an idempotent consumer (the Idempotent Consumer pattern). The key is claimed
 * atomically in the store before the message passes; the claim is
 * confirmed when the message passes (confirm "on pass") or when it comes back from a Complete node
 * (confirm "on complete"), and released when it comes back from a Catch node, so a redelivery is
 * processed again. An unconfirmed claim belongs to this process: it lives while the process does
 * (the store's heartbeat) and lapses when it stops or dies (docs/core-nodes.md, "Claims and crashes").
 * A copy arriving while the first is in flight waits up to `waitSeconds` for the first one's outcome.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { statusTexts, bindStore, Claim, CLAIMS, InboxRef, INBOX_REF, letGoOfInboxEntry, onInput, StatusBoard } from './node-kit';
import type { ClaimOptions, ClaimResult, Store } from '../runtime/store';
import { evaluateProperty } from './property';

interface DedupeDef extends NodeDef {
  store: string;
  key?: string;
  keyType?: 'msg' | 'jsonata';
  scope?: string;
  confirm?: 'pass' | 'complete';
  duplicates?: 'drop' | 'output';
  /** How long a copy waits for an in-flight first copy's outcome (0: a duplicate at once). */
  waitSeconds?: number | string;
  /** Before claims had owners: how long an unconfirmed claim lasted. Read as `waitSeconds` when that is absent. */
  leaseSeconds?: number | string;
  retentionHours?: number | string;
}

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function atLeastZero(value: unknown, fallback: number): number {
  const n = value === '' || value === undefined || value === null ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Polling a claim held elsewhere: soon at first (a confirm on pass takes a moment), then every 2 s. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

/** The claim options of a message: its inbox entry, and whether the inbox is delivering it again. */
function claimOptionsOf(msg: NodeMessage): ClaimOptions {
  const ref: InboxRef | undefined = msg[INBOX_REF];
  if (!ref || typeof ref.source !== 'string' || typeof ref.id !== 'string') return {};
  return { holder: `${ref.source}#${ref.id}`, redelivery: Number(msg.tillwire?.attempts) > 0 };
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireDedupeNode(this: RuntimeNode, def: DedupeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const scope = def.scope?.trim() || `node:${def.id}`;
    const keyExpr = def.key?.trim() || 'tillwire.idempotencyKey';
    const keyType = def.keyType === 'jsonata' ? 'jsonata' : 'msg';
    const waitMs = atLeastZero(def.waitSeconds ?? def.leaseSeconds, 300) * 1000;
    const retentionMs = positive(def.retentionHours, 168) * 3600_000;
    const confirmOnPass = def.confirm !== 'complete';
    const duplicatesToOutput = def.duplicates === 'output';
    const counts = { passed: 0, duplicates: 0, released: 0, waiting: 0 };
    const show = () =>
      board.tally(() => ({
        fill: 'green',
        shape: 'dot',
        text:
          t('status.counts', { passed: counts.passed, duplicates: counts.duplicates }) + (counts.waiting ? t('status.waiting', { count: counts.waiting }) : ''),
      }));
    if (binding.configured) show();

    // Copies waiting for an in-flight first copy; on close they stop waiting (the inbox, or the
    // sender, delivers them again).
    const waits = new Set<() => void>();
    let closed = false;
    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      for (const wake of waits) wake();
      done();
    });
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waits.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        waits.add(wake);
      });

    /**
     * Claims the key; while another copy holds it in flight, tries again until that copy finishes
     * (then this one is a duplicate 'done'), gives it up or its process dies (then this one claims
     * it), or `waitMs` has passed (a duplicate 'in-flight'). Undefined when the node closed meanwhile.
     */
    async function claimOrWait(store: Store, key: string, options: ClaimOptions): Promise<ClaimResult | undefined> {
      let result = await store.claim(scope, key, options);
      if (result.outcome === 'claimed' || result.state === 'done' || waitMs === 0) return result;
      const deadline = Date.now() + waitMs;
      counts.waiting++;
      show();
      try {
        for (let delay = FIRST_RETRY_MS; Date.now() < deadline; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
          await pause(Math.min(delay, deadline - Date.now()));
          if (closed) return undefined;
          result = await store.claim(scope, key, options);
          if (result.outcome === 'claimed' || result.state === 'done') return result;
        }
        return result;
      } finally {
        counts.waiting--;
      }
    }

    async function settle(msg: NodeMessage, claim: Claim): Promise<void> {
      const store = await binding.acquire();
      if (msg.error) {
        // Came back from a Catch node: the work failed, let a redelivery through again.
        if (await store.release(claim.scope, claim.key, claim.token)) counts.released++;
      } else if (!confirmOnPass) {
        // Came back from a Complete node: the work is done.
        const ok = await store.confirm(claim.scope, claim.key, claim.token, retentionMs);
        if (!ok) {
          node.warn(`the claim on '${claim.key}' was no longer this message's when it completed: it was released, or taken over by a redelivery`);
        }
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
      const keyText = String(key);
      let store;
      let result;
      try {
        store = await binding.acquire();
        result = await claimOrWait(store, keyText, claimOptionsOf(msg));
      } catch (err) {
        // The store could not be asked (it is down): the message's inbox delivers it again later
        // rather than it holding its in-flight slot until a restart.
        letGoOfInboxEntry(msg);
        throw err;
      }
      if (!result) return;
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
