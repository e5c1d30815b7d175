/** Shared pieces of the Amazon tests: a simulator on loopback, a client for it, a business clock. */
import { ManualClock as SharedClock, spawnSimulator as spawnSimulatorProcess, type SimulatorProcess } from '../support/simulators';
import { AmazonSimulator, AmazonSimulatorOptions } from '../../simulators/amazon/simulator';
import { AmazonClient, AmazonClientOptions } from '../../nodes/amazon/client';
import type { Order } from '../../nodes/model/types.generated';

export async function startSimulator(opts: AmazonSimulatorOptions = {}): Promise<AmazonSimulator> {
  const sim = new AmazonSimulator(opts);
  await sim.start();
  return sim;
}

export const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 2000, timeoutMs: 5000 };

export function clientFor(sim: AmazonSimulator, extra: Partial<AmazonClientOptions> = {}): AmazonClient {
  return new AmazonClient({
    endpoint: sim.url,
    tokenUrl: sim.tokenUrl,
    credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.refreshToken },
    policy: FAST,
    now: sim.now,
    ...extra,
  });
}

export async function token(sim: AmazonSimulator): Promise<string> {
  const res = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: sim.refreshToken,
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    }).toString(),
  });
  return ((await res.json()) as any).access_token;
}

export async function get(sim: AmazonSimulator, path: string, accessToken?: string) {
  const res = await fetch(sim.url + path, { headers: accessToken ? { 'x-amz-access-token': accessToken } : {} });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** What the customer pays according to the canonical lines and charges alone (not `totals`). */
export function payable(doc: Order): number {
  const lines = doc.lines.reduce((s, l) => s + l.lineTotal.amount, 0);
  const ship = (doc.shipping ?? []).reduce((s, c) => s + c.amount.amount, 0);
  const taxes = [...doc.lines.flatMap((l) => l.taxes ?? []), ...(doc.shipping ?? []).flatMap((c) => c.taxes ?? [])].reduce((s, t) => s + t.amount.amount, 0);
  return lines + ship + (doc.taxesIncluded ? 0 : taxes);
}

/** A business clock the tests move by hand, starting at 2025-04-01T00:00:00Z. */
export class ManualClock extends SharedClock {
  constructor(t = Date.parse('2025-04-01T00:00:00Z')) {
    super(t);
  }
}

/** The amazon simulator in a child process (see test/support/simulators.ts). */
export function spawnSimulator(args: string[]): Promise<SimulatorProcess> {
  return spawnSimulatorProcess('simulators/amazon/simulator.ts', args);
}
