/**
 * Sending a canonical Shipment to bol.com, once (no Node-RED import).
 *
 * bol has no idempotency key and ships asynchronously (202 + a process status). Idempotency is
 * therefore kept in the store, under `bol-ship:<account>:<shipmentId>`:
 * - a record with a process status id means the shipment was accepted by bol: it is not sent
 *   again, its process status is read instead;
 * - no record: the record is claimed compare-and-set ({ state: 'sending' }) and the shipment is
 *   POSTed once (never re-sent blindly by the HTTP layer);
 * - a 'sending' record younger than `inProgressMs` is a send in progress (another node, instance or
 *   copy of the message): retryable error, nothing sent;
 * - an older 'sending' record means an earlier attempt ended without an answer. The order is read
 *   first: if every line's item already has at least the quantity shipped, the shipment is taken
 *   as sent; otherwise it is sent.
 * A 429 or 401 means bol refused the request before doing anything: it is sent again, paced by
 * the bucket.
 */
import type { Store } from '../runtime/store';
import { ConnectorError } from '../runtime/http';
import type { Shipment } from '../model/types.generated';
import type { BolClient, ProcessStatus } from './client';
import { itemIdsBySku, toShipmentRequest } from './map';

export interface ShipRecord {
  state: 'sending' | 'sent';
  /** When the send was claimed (ms): a young claim is a send in progress, an old one a crash. */
  claimedAt?: number;
  processStatusId?: string;
  status?: ProcessStatus['status'];
  errorMessage?: string;
}

export interface ShipResult {
  orderId: string;
  processStatusId?: string;
  status: ProcessStatus['status'] | 'ALREADY_SHIPPED';
  errorMessage?: string;
  /** True when this call did not send anything (a repeat of a shipment already sent). */
  repeat: boolean;
}

export class ShipmentRefused extends Error {
  override name = 'ShipmentRefused';
}

export async function shipOnce(o: {
  client: BolClient;
  store: Store;
  account: string;
  shipment: Shipment;
  transporters?: Record<string, string>;
  /** Sends after a 429/401 refusal (each paced by the bucket). */
  attempts?: number;
  /** A claim younger than this is a send still in progress elsewhere, not a crashed one (default 2 min). */
  inProgressMs?: number;
  now?: () => number;
}): Promise<ShipResult> {
  const { shipment } = o;
  const now = o.now ?? Date.now;
  const channel = shipment.order.channel;
  if (!channel || channel.system !== 'bol')
    throw new ShipmentRefused(`shipment ${shipment.shipmentId} is for ${channel?.system ?? 'an unknown channel'}, not bol`);
  const orderId = channel.id;
  const key = `bol-ship:${o.account}:${shipment.shipmentId}`;
  const previous = (await o.store.kvGet(key)) as ShipRecord | undefined;

  // Sent before: report what bol made of it, whatever the order looks like now.
  if (previous?.processStatusId) return follow(o, key, previous, orderId, true);
  if (previous?.state === 'sent') return { orderId, status: 'ALREADY_SHIPPED', repeat: true };
  const inProgress = (r: ShipRecord | undefined) => r?.state === 'sending' && now() - (r.claimedAt ?? 0) < (o.inProgressMs ?? 120_000);
  if (inProgress(previous)) {
    throw new ConnectorError('bol', 'shipments:create', `shipment ${shipment.shipmentId} is being sent by another node or instance`, {
      kind: 'conflict',
      retryable: true,
    });
  }
  if (previous?.state === 'sending') {
    // An earlier attempt ended without an answer (it crashed): it may or may not have reached bol.
    // Look at the order before sending; lines known only by SKU match shipped items too here.
    const order = await o.client.getOrder(orderId);
    const sent = toShipmentRequest(shipment, o.transporters, itemIdsBySku(shipment, order, { includeShipped: true }));
    const done = sent.orderItems.every((line) => {
      const it = (order.orderItems ?? []).find((x: any) => x.orderItemId === line.orderItemId);
      return it && (it.quantityShipped ?? 0) >= line.quantity;
    });
    if (done) {
      await o.store.kvPut(key, { state: 'sent', status: 'SUCCESS' } satisfies ShipRecord, previous);
      return { orderId, status: 'ALREADY_SHIPPED', repeat: true };
    }
  }
  // Lines the ERP knows only by SKU are matched to the order's open items (before claiming, so a
  // shipment that cannot be mapped leaves no claim behind).
  const itemIds = shipment.lines.every((l) => l.lineId) ? [] : itemIdsBySku(shipment, await o.client.getOrder(orderId));
  const request = toShipmentRequest(shipment, o.transporters, itemIds);
  const claim: ShipRecord = { state: 'sending', claimedAt: now() };
  if (!(await o.store.kvPut(key, claim, previous))) {
    const current = (await o.store.kvGet(key)) as ShipRecord | undefined;
    if (current?.processStatusId) return follow(o, key, current, orderId, true);
    throw new ConnectorError('bol', 'shipments:create', `shipment ${shipment.shipmentId} is being sent by another node or instance`, {
      kind: 'conflict',
      retryable: true,
    });
  }

  let status: ProcessStatus | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      status = await o.client.createShipment(request);
      break;
    } catch (err) {
      const refusedBeforeWork = err instanceof ConnectorError && (err.status === 429 || err.status === 401);
      if (!refusedBeforeWork || attempt >= (o.attempts ?? 6)) throw err;
    }
  }
  const record: ShipRecord = { state: 'sent', processStatusId: status.processStatusId, status: status.status };
  await o.store.kvPut(key, record, claim);
  return follow(o, key, record, orderId, false);
}

/** Reads the process status of an accepted shipment (once) and records its outcome. */
async function follow(o: { client: BolClient; store: Store }, key: string, record: ShipRecord, orderId: string, repeat: boolean): Promise<ShipResult> {
  let current = record;
  if (current.status !== 'SUCCESS' && current.status !== 'FAILURE') {
    const ps = await o.client.getProcessStatus(current.processStatusId!);
    const next: ShipRecord = { ...current, status: ps.status, ...(ps.errorMessage ? { errorMessage: ps.errorMessage } : {}) };
    await o.store.kvPut(key, next, current);
    current = next;
  }
  if (current.status === 'FAILURE') {
    throw new ShipmentRefused(`bol refused shipment (process status ${current.processStatusId}): ${current.errorMessage ?? 'FAILURE'}`);
  }
  return { orderId, processStatusId: current.processStatusId, status: current.status ?? 'PENDING', repeat };
}
