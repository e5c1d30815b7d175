/** Shared pieces of the QuickBooks tests: a simulator on loopback, a client and a poster for it, journals. */
import { QboSimulator, QboSimulatorOptions } from '../../simulators/quickbooks/simulator';
import { QboClient, QboClientOptions } from '../../nodes/quickbooks/client';
import { QboPoster, QboPostOptions } from '../../nodes/quickbooks/post';
import type { JournalEntry } from '../../nodes/model/types.generated';

export const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 2000, timeoutMs: 5000 };

export async function startSimulator(opts: QboSimulatorOptions = {}): Promise<QboSimulator> {
  const sim = new QboSimulator(opts);
  await sim.start();
  return sim;
}

export function clientFor(sim: QboSimulator, extra: Partial<QboClientOptions> = {}): QboClient {
  return new QboClient({
    baseUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    realmId: sim.realmId,
    credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.currentRefreshToken },
    policy: FAST,
    // Intuit's advised minute after a 429 is replaced by half a second, so a 429 met on a loaded
    // machine does not stall a test that is not about throttling.
    throttlePauseMs: 500,
    ...extra,
  });
}

export function posterFor(sim: QboSimulator, extra: Partial<QboClientOptions> = {}, post: Partial<QboPostOptions> = {}): QboPoster {
  return new QboPoster(clientFor(sim, extra), { homeCurrency: sim.homeCurrency, ...post });
}

/** A balanced settlement journal: sales credited, fees and the payout debited (account codes of the simulator's chart). */
export function journal(id: string, overrides: Partial<JournalEntry> = {}): JournalEntry {
  const currency = overrides.currency ?? 'USD';
  return {
    kind: 'journal',
    journalId: id,
    date: '2026-11-30',
    currency,
    narration: `Amazon US settlement ${id}`,
    lines: [
      { account: '1000', debit: { amount: 9_000, currency }, memo: 'payout' },
      { account: '6000', debit: { amount: 1_234, currency }, memo: 'fees' },
      { account: '4000', credit: { amount: 10_234, currency }, memo: 'sales' },
    ],
    ...overrides,
  };
}
