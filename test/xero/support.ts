/** What the Xero tests share: a simulator on a free port and a client of it with quick retries. */
import { XeroClient, type RefreshTokenStore, type XeroClientOptions } from '../../nodes/xero/client';
import { XeroSimulator, type XeroSimulatorOptions } from '../../simulators/xero/simulator';
import type { JournalEntry } from '../../nodes/model/types.generated';

export async function startXero(opts: XeroSimulatorOptions = {}): Promise<XeroSimulator> {
  const sim = new XeroSimulator({ port: 0, retryAfterSeconds: 0.02, ...opts });
  await sim.start();
  return sim;
}

export function clientOf(sim: XeroSimulator, extra: Partial<XeroClientOptions> = {}): XeroClient {
  return new XeroClient({
    apiUrl: sim.apiUrl,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    tenantId: sim.tenantId,
    refreshToken: sim.validRefreshTokens()[0],
    policy: { baseDelayMs: 1, maxDelayMs: 50, timeoutMs: 2000, maxAttempts: 6 },
    ...extra,
  });
}

/** A refresh-token store in memory, counting saves. */
export function memoryTokenStore(initial?: string): RefreshTokenStore & { value?: string; saves: number } {
  const store = {
    value: initial,
    saves: 0,
    load: async () => store.value,
    save: async (t: string) => {
      store.value = t;
      store.saves++;
    },
  };
  return store;
}

/** A balanced settlement journal: sales credited, fees debited, the payout to the clearing account. */
export function journal(id: string, over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    kind: 'journal',
    journalId: id,
    date: '2026-11-30',
    currency: 'GBP',
    narration: `Amazon UK settlement ${id}`,
    lines: [
      { account: '615', debit: { amount: 8_450, currency: 'GBP' }, memo: 'payout' },
      { account: '480', debit: { amount: 1_550, currency: 'GBP' }, memo: 'fees', tracking: { Channel: 'amazon-uk' } },
      { account: '200', credit: { amount: 10_000, currency: 'GBP' }, memo: 'sales', tracking: { Channel: 'amazon-uk', Store: 'LDN-042' } },
    ],
    ...over,
  };
}
