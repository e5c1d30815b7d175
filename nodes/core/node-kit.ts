/**
 * The shared mechanism every Tillwire node uses: safe async input handling (an async handler never
 * rejects; failures go to done(err) so Catch nodes fire), binding to a `tillwire-store` config node,
 * and a status badge that shows store trouble over the node's own activity.
 */
import { EventEmitter } from 'node:events';
import type { NodeMessage, NodeRED, RuntimeNode, SendFn, NodeStatus } from './node-red';
import type { Store } from '../runtime/store';
import { StoreUnavailableError } from '../runtime/store';
import type { StoreManager, StoreState } from '../runtime/store-manager';
import { observeCalls, type CallEvent } from '../runtime/call-observer';
import { commonText } from './status-text';

export { statusTexts, commonText, commonProblem, joinProblems, type Problem, type Texts } from './status-text';

import { asError } from '../runtime/errors';
import { DEFAULT_BOUNDS, jsonText, nestedDeeperThan } from '../model/bounds';

export { asError };

/** Registers an async input handler whose failure always reaches done(err). */
export function onInput(node: RuntimeNode, handler: (msg: NodeMessage, send: SendFn) => Promise<void>): void {
  node.on('input', (msg, send, done) => {
    const fail = (err: unknown) => {
      keepCloneable(msg);
      done(asError(err));
    };
    let result: Promise<void>;
    try {
      result = handler(msg, send);
    } catch (err) {
      fail(err);
      return;
    }
    result.then(() => done(), fail);
  });
}

/**
 * Node-RED hands a failed message to Catch nodes as a clone, made recursively: a payload refused for
 * its nesting (thousands of levels in a few KB of JSON) would overflow the stack there and stop the
 * process. Such a payload goes on as its JSON text, as the canonical node passes it on.
 */
function keepCloneable(msg: NodeMessage): void {
  if (nestedDeeperThan(msg.payload, DEFAULT_BOUNDS.maxDepth)) msg.payload = jsonText(msg.payload);
}

/** Status text is kept short for the canvas (Node-RED suggests about 20 characters). */
export function shortText(text: string, max = 40): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** How often a tallied badge changes at most (StatusBoard.tally). */
const TALLY_MS = 250;

/**
 * A node's badge: its own activity (green dot, or yellow ring while retrying or throttled),
 * overridden by a red ring while its store is unavailable.
 */
export class StatusBoard {
  private activity: NodeStatus = {};
  private storeProblem?: string;

  /** `RED` gives the retry and throttle texts in the runtime's language (bindStore hands it to a board made without). */
  constructor(
    private readonly node: RuntimeNode,
    private RED?: NodeRED,
  ) {}

  /** The runtime whose language the board's own texts use, unless it was given one already. */
  speaks(RED: NodeRED): void {
    this.RED ??= RED;
  }

  set(status: NodeStatus): void {
    this.counting = undefined;
    this.activity = status;
    this.render();
  }

  /**
   * A badge that changes with every message (passed and finished counts): `make` runs, and the
   * badge changes, at most every TALLY_MS, always ending on the latest state. Making a translated
   * text and sending a status event for each of thousands of messages a second cost more than
   * the message's own store writes.
   */
  tally(make: () => NodeStatus): void {
    this.counting = make;
    if (this.tallyTimer) return;
    const wait = this.lastTally + TALLY_MS - Date.now();
    if (wait <= 0) return this.showTally();
    this.tallyTimer = setTimeout(() => this.showTally(), wait);
    this.tallyTimer.unref();
  }

  private counting?: () => NodeStatus;
  private tallyTimer?: NodeJS.Timeout;
  private lastTally = 0;

  private showTally(): void {
    this.tallyTimer = undefined;
    const make = this.counting;
    this.counting = undefined;
    if (!make) return;
    this.lastTally = Date.now();
    this.activity = make();
    this.render();
  }

  /**
   * Runs `work` with every retry and throttle wait of its connector calls shown as a yellow ring
   * (the one way retries reach a badge: runtime/call-observer.ts).
   */
  watch<T>(work: () => Promise<T>): Promise<T> {
    return observeCalls((event) => this.set({ fill: 'yellow', shape: 'ring', text: shortText(callText(event, this.RED)) }), work);
  }

  store(state: StoreState | undefined): void {
    this.storeProblem = state && !state.ok && !state.opening ? (state.reason ?? 'store unavailable') : undefined;
    this.render();
  }

  private render(): void {
    if (this.storeProblem) this.node.status({ fill: 'red', shape: 'ring', text: shortText(this.storeProblem) });
    else this.node.status(this.activity);
  }
}

/**
 * "throttled: inventorySetQuantities", "retrying: HTTP 503", "retrying: timeout" in the runtime's
 * language (English without a RED). The operation and the error kind are codes and stay as they are.
 */
export function callText(event: CallEvent, RED?: NodeRED): string {
  if (event.type === 'throttle') return commonText(RED, 'call.throttled', { operation: event.operation });
  return commonText(RED, 'call.retrying', { reason: event.status !== undefined && event.status !== 200 ? `HTTP ${event.status}` : (event.kind ?? 'error') });
}

export interface StoreBinding {
  acquire(): Promise<Store>;
  /** Keeps the store open through a redeploy until `work` settles (StoreManager.hold). */
  hold<T>(work: Promise<T>): Promise<T>;
  readonly configured: boolean;
}

/** Connects a node to its `tillwire-store` config node and mirrors the store state on its badge. */
export function bindStore(RED: NodeRED, node: RuntimeNode, storeId: unknown, board: StatusBoard): StoreBinding {
  board.speaks(RED);
  const config = typeof storeId === 'string' && storeId ? RED.nodes.getNode(storeId) : undefined;
  const manager: StoreManager | undefined = config?.manager;
  if (!manager) {
    board.store({ ok: false, opening: false, reason: commonText(RED, 'noStore'), description: '' });
    return {
      configured: false,
      acquire: () => Promise.reject(new StoreUnavailableError('no store configured: choose a Tillwire store in the node')),
      hold: (work) => work,
    };
  }
  // A store that fails without a reason still says so in the runtime's language.
  const show = (state: StoreState) => board.store(state.ok || state.reason ? state : { ...state, reason: commonText(RED, 'storeUnavailable') });
  const listener = show;
  manager.on('state', listener);
  show(manager.state);
  node.on('close', (_removed: boolean, done: () => void) => {
    manager.off('state', listener);
    done();
  });
  return { configured: true, acquire: () => manager.acquire(), hold: (work) => manager.hold(work) };
}

export interface Claim {
  scope: string;
  key: string;
  token: string;
}

/** Where a passing message carries its claims, per dedupe node, so Catch/Complete can return them. */
export const CLAIMS = 'tillwireClaims';

/**
 * Tells inbound connectors in this process that one of their inbox entries was finished
 * (`inbox-done` with source and id), so they can bound how much work is in flight.
 */
export const inboxEvents = new EventEmitter().setMaxListeners(0);

/** Where a message carries its durable-inbox entry, so `tillwire-ack` can mark it finished. */
export const INBOX_REF = 'tillwireInbox';

export interface InboxRef {
  source: string;
  id: string;
}

/**
 * Tells the message's inbound connector that the flow has let go of its inbox entry without
 * finishing it (the store refused to record the completion or the failure). The entry stays pending
 * in the store, no longer counts as in flight here, and the inbox delivers it again once its lease
 * runs out: the downstream dedupe and idempotent writes make that harmless, and after its attempts
 * it goes to the dead-letter store. Without this, such an entry would hold its in-flight slot until
 * a restart.
 */
export function letGoOfInboxEntry(msg: NodeMessage): void {
  const ref: InboxRef | undefined = msg[INBOX_REF];
  if (ref && typeof ref.id === 'string') inboxEvents.emit('inbox-done', ref.source, ref.id);
}

const deploys = new WeakMap<object, { deploying: boolean; waiting: Array<() => void> }>();

/**
 * Follows the runtime's deploys (flows:stopping … flows:started). Call it when a node is created,
 * so it is listening before the deploy that stops that node begins.
 */
export function trackDeploys(RED: NodeRED): { deploying: boolean; waiting: Array<() => void> } | undefined {
  const events = RED.events;
  if (!events) return undefined;
  let state = deploys.get(events);
  if (!state) {
    const s = { deploying: false, waiting: [] as Array<() => void> };
    events.on('flows:stopping', () => (s.deploying = true));
    events.on('flows:started', () => {
      s.deploying = false;
      for (const wake of s.waiting.splice(0)) wake();
    });
    deploys.set(events, s);
    state = s;
  }
  return state;
}

/**
 * Resolves once no deploy is under way (at once when none is): between Node-RED stopping the
 * flows it redeploys and starting them again, a failure reaches no Catch node that is being
 * restarted too, and is lost.
 */
export function afterDeploy(RED: NodeRED): Promise<void> {
  const state = trackDeploys(RED);
  if (!state?.deploying) return Promise.resolve();
  return new Promise((resolve) => state.waiting.push(resolve));
}
