/** Shared helpers for the Square tests: a simulator on loopback and a few order builders. */
import { SquareSimulator, SquareSimulatorOptions } from '../../simulators/square/simulator';
import { SquareClient } from '../../nodes/square/client';

export async function startSim(opts: SquareSimulatorOptions = {}): Promise<SquareSimulator> {
  const sim = new SquareSimulator({ seed: 11, ...opts });
  await sim.start();
  return sim;
}

export function clientFor(sim: SquareSimulator, extra: Partial<ConstructorParameters<typeof SquareClient>[0]> = {}): SquareClient {
  return new SquareClient({ baseUrl: sim.url, accessToken: sim.accessToken, policy: { baseDelayMs: 5, maxDelayMs: 50 }, ...extra });
}

export const SKU_MAP = SquareSimulator.demoSkuMap(50);

export async function api(sim: SquareSimulator, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(sim.url + path, {
    method,
    headers: { authorization: `Bearer ${sim.accessToken}`, 'square-version': '2025-08-20', 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
