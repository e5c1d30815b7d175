/**
 * Shared pieces of the benchmarks: sale payloads from the store-device simulator's plan, a QoS 1
 * publisher that records when each sale left, the moment Odoo confirmed each order (taken inside
 * the simulator, so latency is exact), and a process's peak RSS.
 */
import fs from 'node:fs';
import mqtt from 'mqtt';
import { planSimulation } from '../simulators/pos-mqtt/device-simulator';
import { businessKey } from '../nodes/model/validate';
import { Database } from '../simulators/odoo/simulator';

export interface Sale {
  topic: string;
  payload: Buffer;
  key: string;
}

/**
 * `count` valid sales from 200 stores × 4 tills (no faults: a benchmark measures the good path),
 * `returnRate` of them returns.
 */
export function sales(count: number, brand = 'bench', returnRate = 0.05): Sale[] {
  const plan = planSimulation({ brand, stores: 200, tills: 4, count, seed: `bench-${count}`, close: false, keepPayloads: true, returnRate });
  const out: Sale[] = [];
  for (const a of plan.actions) {
    if (a.type !== 'publish') continue;
    const doc = JSON.parse(a.payload.toString('utf8'));
    const key = businessKey(doc);
    if (key) out.push({ topic: a.topic, payload: a.payload, key });
  }
  return out;
}

/** Publishes with QoS 1 and at most `window` unacknowledged; returns when every PUBACK is in. */
export async function publish(url: string, list: Sale[], sentAt: Map<string, number>, window = 500, protocolVersion: 4 | 5 = 5): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}-${Date.now()}`, protocolVersion });
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const s = list[next++];
      sentAt.set(s.key, performance.now());
      await client.publishAsync(s.topic, s.payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  await client.endAsync();
}

/** Records, inside the Odoo simulator, when each order (by client_order_ref) was confirmed. */
export function watchConfirmations(): { at: Map<string, number>; stop: () => void } {
  const at = new Map<string, number>();
  const original = Database.prototype.set;
  Database.prototype.set = function (this: Database, model: string, id: number, field: string, value: unknown) {
    original.call(this, model, id, field, value);
    if (model === 'sale.order' && field === 'state' && value === 'sale') {
      const ref = this.get(model, id)?.client_order_ref;
      if (typeof ref === 'string' && !at.has(ref)) at.set(ref, performance.now());
    }
  };
  return { at, stop: () => (Database.prototype.set = original) };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Peak resident set (VmHWM) of a running process, in MiB. */
export function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

export async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
