/**
 * Admin routes for held settlements (docs/settlements.md, "Releasing a held settlement"). Mounted
 * on Node-RED's admin app, so they sit behind adminAuth: listing needs a read permission, releasing
 * a write one.
 *
 *   GET  /tillwire/settlements/held?store=&limit=&offset=    → { total, settlements }
 *   POST /tillwire/settlements/release?store=
 *        body { system, account, settlementId, fingerprint, reason }  → { released, release, state, replayed }
 *
 * The held settlements are the pending dead letters (code settlement-held) of the deployed
 * reconcile nodes in mode settlement. A release is recorded in the settlement register for the
 * exact version held (its fingerprint) with who, when and why; then the held dead letter is
 * replayed into the reconcile node that held it, which finds the release and sends the settlement
 * on its normal way with the variance booked to suspense. The same release again records nothing
 * more and, once the dead letter has been replayed, replays nothing more.
 */
import type { NodeDef, NodeMessage, NodeRED, RequestLike } from '../core/node-red';
import { HttpError, resolveStore, respond } from '../core/admin-api';
import { connectionOf } from '../core/config-node';
import { formatMinor } from '../model/business-rules';
import { replay } from '../runtime/dead-letter';
import type { DeadLetterEntry, Store } from '../runtime/store';
import { SETTLEMENT_ACCOUNTS, type SettlementAccounts } from './node-config';
import { settlementInputOf, unreleasable } from './settlement-check';
import { fingerprintOf } from './settlement-reconcile';
import { tallySettlement } from './settlement-tally';
import { releaseOf, SettlementRegister, type SettlementKey, type SettlementRecord } from './settlement-register';

const registered = new WeakSet<object>();
const HELD = 'settlement-held';
/** Most pending dead letters read per reconcile node for a listing. */
const SCAN_LIMIT = 10_000;
const PAGE = 200;
const MAX_REASON = 2000;

type ReconcileNode = { type: string; receive?: (msg: NodeMessage) => void };

/** The running reconcile node of this id, if it is deployed now. */
function reconcileNode(RED: NodeRED, id: string | null | undefined): ReconcileNode | undefined {
  const node = id ? (RED.nodes.getNode(id) as ReconcileNode | null) : null;
  return node && node.type === 'tillwire-reconcile' && typeof node.receive === 'function' ? node : undefined;
}

/** The deployed reconcile nodes in mode settlement. */
function settlementReconcilers(RED: NodeRED): NodeDef[] {
  const defs: NodeDef[] = [];
  RED.nodes.eachNode((def) => {
    if (def.type === 'tillwire-reconcile' && def.mode === 'settlement') defs.push(def);
  });
  return defs;
}

/** The held dead letters, without their messages (a held settlement keeps up to 2,000 lines): a listing reads the full entry of its page only. */
async function heldEntries(store: Store, nodeIds: string[]): Promise<DeadLetterEntry[]> {
  const out: DeadLetterEntry[] = [];
  for (const nodeId of nodeIds) {
    for (let offset = 0; offset < SCAN_LIMIT; offset += PAGE) {
      const page = await store.listDeadLetters({ status: 'pending', nodeId, limit: PAGE, offset, withoutMessage: true });
      out.push(...page.filter((e) => e.error?.code === HELD));
      if (page.length < PAGE) break;
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

const causeText = (entry: DeadLetterEntry, name: string) => {
  const v = entry.error?.cause?.[name];
  return typeof v === 'string' ? v : '';
};

/** The key and version a held dead letter stands for (older entries lack the fingerprint: the register's, when it points at this entry). */
function heldVersion(entry: DeadLetterEntry, record: SettlementRecord | undefined): { key: SettlementKey; fingerprint: string } {
  const key = { system: causeText(entry, 'system'), account: causeText(entry, 'account'), settlementId: causeText(entry, 'settlementId') };
  return { key, fingerprint: causeText(entry, 'fingerprint') || (record?.deadLetterId === entry.id ? record.fingerprint : '') };
}

/**
 * Why this held version cannot be released as it stands, in words; undefined when it can. The
 * account mapping is checked separately (it belongs to the journal nodes after the reconcile node).
 */
function refusal(key: SettlementKey, fingerprint: string, record: SettlementRecord | undefined, entry: DeadLetterEntry | undefined): string | undefined {
  const id = key.settlementId;
  if (!record) return `settlement ${id} of ${key.system} account '${key.account}' is not in the settlement register`;
  if (record.state !== 'held') return `settlement ${id} is ${record.state}, not held: nothing to release`;
  if (record.fingerprint !== fingerprint)
    return `settlement ${id} changed: the version held now is ${record.fingerprint}, not ${fingerprint || 'the one named'}; list the held settlements again and review that version`;
  const refused = unreleasable(record.variances);
  if (refused.length) return `settlement ${id} cannot be released: ${refused.map((v) => v.message).join('; ')}`;
  if (!entry) return `the dead letter of settlement ${id} is gone (deleted): send the settlement again to have it checked`;
  if ((entry.message.payload as { kind?: unknown } | undefined)?.kind !== 'settlement')
    return `the lines of settlement ${id} were not kept (too many for its dead letter): send the file again with msg.release to the reconcile node`;
  return undefined;
}

/**
 * Why the held dead letter no longer holds the version that was held, in words (its message was
 * edited since: the dead-letter API allows that); undefined when it does. Checked before a release
 * is recorded, so the answer never says "released" for a replay that can only fail or be held
 * again, and the entry stays listed.
 */
async function editedSince(entry: DeadLetterEntry, key: SettlementKey, heldFingerprint: string): Promise<string | undefined> {
  let kept: string;
  try {
    kept = fingerprintOf(await tallySettlement(settlementInputOf(entry.message.payload).stream));
  } catch (err) {
    return `settlement ${key.settlementId}: its dead letter ${entry.id} was edited since it was held and no longer holds a valid settlement (${(err as Error).message}); send the settlement again to have it checked`;
  }
  if (kept === heldFingerprint) return undefined;
  return `settlement ${key.settlementId}: its dead letter ${entry.id} was edited since it was held (it holds version ${kept}, not the held ${heldFingerprint}); replay it to have that version checked, then list again`;
}

/** The nodes the reconcile node's first output reaches (through wires and link nodes), up to the settlement journal nodes. */
function journalsAfter(RED: NodeRED, reconcileId: string): NodeDef[] {
  const defs = new Map<string, NodeDef>();
  RED.nodes.eachNode((def) => defs.set(def.id, def));
  const start = defs.get(reconcileId);
  const outputs = (start?.wires as string[][] | undefined) ?? [];
  const queue = [...(outputs[0] ?? [])];
  const seen = new Set<string>([reconcileId]);
  const journals: NodeDef[] = [];
  while (queue.length && seen.size < 5000) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const def = defs.get(id);
    if (!def || def.d === true) continue;
    if (def.type === 'tillwire-journal' && def.mode === 'settlement') {
      journals.push(def);
      continue;
    }
    for (const wires of (def.wires as string[][] | undefined) ?? []) queue.push(...wires);
    if (def.type === 'link out' && def.mode !== 'return') queue.push(...((def.links as string[] | undefined) ?? []));
  }
  return journals;
}

/** Why a release through this reconcile node would have no suspense account to book its variance to; undefined when every journal after it has one. */
function suspenseProblem(RED: NodeRED, reconcileId: string, settlementId: string): string | undefined {
  const journals = journalsAfter(RED, reconcileId);
  if (!journals.length)
    return `settlement ${settlementId}: no tillwire-journal node in mode settlement is wired after the reconcile node ${reconcileId}, so a release would post nothing`;
  for (const j of journals) {
    const accounts = connectionOf<SettlementAccounts>(RED, j.accounts, SETTLEMENT_ACCOUNTS);
    if (!accounts?.mapping.suspenseAccount) {
      const name = (typeof j.accounts === 'string' && RED.nodes.getNode(j.accounts)?.name) || j.accounts || 'none chosen';
      return `settlement ${settlementId} cannot be released to suspense: the account mapping (${name}) of journal node ${j.name || j.id} has no suspense account; set one in the settlement accounts`;
    }
  }
  return undefined;
}

const text = (v: unknown, name: string, max: number, required = true): string => {
  if (v === undefined || v === null) {
    if (required) throw new HttpError(400, `${name} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new HttpError(400, `${name} must be text`);
  const s = v.trim();
  if (required && !s) throw new HttpError(400, `${name} is required`);
  if (s.length > max) throw new HttpError(400, `${name} is longer than ${max} characters`);
  return s;
};

/** Who is logged in to the editor: Node-RED's adminAuth puts the user on the request; null without a login. */
const userOf = (req: RequestLike): string | null => {
  const user = (req as RequestLike & { user?: { username?: unknown } }).user;
  return typeof user?.username === 'string' ? user.username : null;
};

export function registerSettlementRoutes(RED: NodeRED): void {
  if (!RED.httpAdmin || registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);

  RED.httpAdmin.get(
    '/tillwire/settlements/held',
    RED.auth.needsPermission('tillwire-settlement.read'),
    respond(async (req) => {
      const page: Record<'limit' | 'offset', number> = { limit: 100, offset: 0 };
      for (const k of ['limit', 'offset'] as const) {
        if (req.query[k] === undefined) continue;
        const n = Number(req.query[k]);
        if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${k} must be a whole number`);
        page[k] = n;
      }
      const store = await resolveStore(RED, req.query.store);
      const register = new SettlementRegister(store);
      const entries = await heldEntries(
        store,
        settlementReconcilers(RED).map((d) => d.id),
      );
      const settlements = [];
      for (const summary of entries.slice(page.offset, page.offset + page.limit)) {
        const entry = (await store.getDeadLetter(summary.id)) ?? summary;
        const first = heldVersion(entry, undefined);
        const record = first.key.settlementId ? await register.get(first.key) : undefined;
        const { key, fingerprint } = heldVersion(entry, record);
        const variance = causeText(entry, 'variance');
        const currency = causeText(entry, 'currency');
        const why = refusal(key, fingerprint, record, entry) ?? (entry.nodeId ? suspenseProblem(RED, entry.nodeId, key.settlementId) : undefined);
        settlements.push({
          ...key,
          fingerprint,
          currency,
          variance: variance ? Number(variance) : null,
          varianceText: variance && currency ? formatMinor(BigInt(variance), currency) : null,
          reasons: record?.fingerprint === fingerprint && record.state === 'held' ? record.variances : [{ kind: 'held', message: entry.error.message }],
          state: record?.state ?? null,
          heldAt: entry.updatedAt,
          deadLetterId: entry.id,
          nodeId: entry.nodeId,
          releasable: !why,
          ...(why ? { refusal: why } : {}),
        });
      }
      return { total: entries.length, settlements };
    }),
  );

  RED.httpAdmin.post(
    '/tillwire/settlements/release',
    RED.auth.needsPermission('tillwire-settlement.write'),
    respond(async (req) => {
      const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {};
      const key: SettlementKey = {
        system: text(body.system, 'system', 100),
        account: text(body.account, 'account', 200, false),
        settlementId: text(body.settlementId, 'settlementId', 200),
      };
      // Fingerprints are hex, listed in lower case: one pasted in upper case names the same version.
      const fingerprint = text(body.fingerprint, 'fingerprint (the held version you reviewed, from GET /tillwire/settlements/held)', 100).toLowerCase();
      const reason = text(body.reason, 'reason (why the variance may go to suspense)', MAX_REASON);
      if (body.accept !== undefined && body.accept !== 'suspense')
        throw new HttpError(400, 'accept must be "suspense": a held settlement is released with its variance booked to the suspense account');
      const store = await resolveStore(RED, req.query.store);
      const register = new SettlementRegister(store);
      const record = await register.get(key);
      if (!record) throw new HttpError(404, await notFound(RED, store, key));
      const entry = record.deadLetterId ? await store.getDeadLetter(record.deadLetterId) : undefined;
      // A release of this version already recorded: answered as it was, while this version is the register's.
      const already = record.fingerprint === fingerprint ? releaseOf(record, fingerprint) : undefined;
      const why = refusal(key, fingerprint, record, entry ?? undefined);
      if (why && !already) throw new HttpError(409, why);

      // While it is held its dead letter is replayed, pending or not (a replay whose message went
      // nowhere leaves it "replayed"): the journal step records a version once, so a second
      // message posts nothing.
      const replayable = !!entry && record.state === 'held';
      const notDeployed = (why = '') =>
        new HttpError(
          409,
          `settlement ${key.settlementId}: the reconcile node ${entry!.nodeId} that held it is not deployed${why}; deploy it to release the settlement`,
        );
      if (replayable && !reconcileNode(RED, entry!.nodeId)) throw notDeployed();
      const noSuspense = already ? undefined : suspenseProblem(RED, entry!.nodeId!, key.settlementId);
      if (noSuspense) throw new HttpError(409, noSuspense);
      const edited = replayable ? await editedSince(entry!, key, record.fingerprint) : undefined;
      if (edited) throw new HttpError(409, edited);

      const {
        release,
        record: now,
        fresh,
      } = already
        ? { release: already, record, fresh: false }
        : await register.recordRelease(key, {
            fingerprint,
            accept: 'suspense',
            by: userOf(req),
            via: 'admin-api',
            at: new Date().toISOString(),
            reason,
            variance: causeText(entry!, 'variance') || '0',
          });
      if (!release)
        throw new HttpError(409, refusal(key, fingerprint, now, entry ?? undefined) ?? `settlement ${key.settlementId} changed meanwhile: list it again`);
      // Replayed into the node that held it: the check runs again, finds the release and posts once.
      // The node is looked up when the message is delivered, after the entry is marked replayed: a
      // redeploy during the awaits before may have stopped the node found earlier, and a message
      // given to a stopped node is lost. Gone then: the entry goes back to how it was (still listed,
      // the release recorded), and the same release again delivers it once the node is deployed.
      let undelivered: DeadLetterEntry | undefined;
      // Only the request that recorded the release delivers it, or one that finds its entry back at
      // pending (the node was not deployed, below): a second request for the same release, at the
      // same moment or later, replays nothing (the reconcile node would report it ready twice).
      const replayed =
        replayable && (fresh || entry!.status === 'pending')
          ? await replay(store, { ids: [entry!.id], status: entry!.status }, (msg, marked) => {
              const live = reconcileNode(RED, entry!.nodeId);
              if (live) live.receive!(msg);
              else undelivered ??= marked;
            })
          : 0;
      if (undelivered) {
        await store.updateDeadLetter(undelivered.id, { status: entry!.status }, undelivered.version);
        throw notDeployed(' (redeployed or removed while the release was delivered: the release is recorded and stays held; send it again once the node runs)');
      }
      return { released: fresh, ...key, release, state: now?.state ?? record.state, deadLetterId: entry?.id ?? null, replayed };
    }),
  );
}

/** A 404 naming the problem: held under another account or system, or not known at all. */
async function notFound(RED: NodeRED, store: Store, key: SettlementKey): Promise<string> {
  const held = await heldEntries(
    store,
    settlementReconcilers(RED).map((d) => d.id),
  );
  const elsewhere = held
    .filter((e) => causeText(e, 'settlementId') === key.settlementId)
    .map((e) => `${causeText(e, 'system')} account '${causeText(e, 'account')}'`);
  const base = `settlement ${key.settlementId} of ${key.system} account '${key.account}' is not in the settlement register`;
  return elsewhere.length ? `${base}: a settlement with that id is held for ${[...new Set(elsewhere)].join(', ')}, not for this account` : base;
}
