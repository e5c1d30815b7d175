/** Shared pieces of the bol.com tests: a simulator on loopback, a client for it, a business clock. */
import { ManualClock as SharedClock, spawnSimulator as spawnSimulatorProcess, type SimulatorProcess } from '../support/simulators';
import { BolSimulator, BolSimulatorOptions, MEDIA_TYPE } from '../../simulators/bol/simulator';
import { BolClient, BolClientOptions } from '../../nodes/bol/client';

export const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 5000, timeoutMs: 5000 };

export async function startSimulator(opts: BolSimulatorOptions = {}): Promise<BolSimulator> {
  const sim = new BolSimulator(opts);
  await sim.start();
  return sim;
}

export function clientFor(sim: BolSimulator, extra: Partial<BolClientOptions> = {}): BolClient {
  return new BolClient({
    endpoint: sim.url,
    tokenUrl: sim.tokenUrl,
    credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret },
    policy: FAST,
    now: sim.now,
    ...extra,
  });
}

export async function token(sim: BolSimulator): Promise<string> {
  const res = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`, accept: 'application/json' },
  });
  return ((await res.json()) as any).access_token;
}

export async function get(sim: BolSimulator, path: string, accessToken?: string, accept = MEDIA_TYPE) {
  const res = await fetch(sim.url + path, { headers: { accept, ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A business clock the tests move by hand, starting at 2026-11-01T12:00:00Z. */
export class ManualClock extends SharedClock {
  constructor(t = Date.parse('2026-11-01T12:00:00Z')) {
    super(t);
  }
}

/** The bol simulator in a child process (see test/support/simulators.ts). */
export function spawnSimulator(args: string[]): Promise<SimulatorProcess> {
  return spawnSimulatorProcess('simulators/bol/simulator.ts', args);
}
