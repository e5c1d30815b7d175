/**
 * A settlement read as a stream: its header (everything of the canonical Settlement except the
 * lines) and its lines one at a time. Sources whose statements can be large (an Amazon settlement
 * report has up to millions of rows) produce this instead of one Settlement document, so that no
 * step ever holds the whole statement in memory; small sources can wrap a Settlement with
 * `streamOf`. Reconciliation and posting consume it line by line.
 */
import type { Settlement, SettlementLine } from './types.generated';

export type SettlementHeader = Omit<Settlement, 'lines' | 'netTotal'>;

export interface SettlementStream {
  header: SettlementHeader;
  lines: AsyncIterable<SettlementLine>;
}

/** The stream of a settlement already in memory. */
export function streamOf(settlement: Settlement): SettlementStream {
  const { lines, netTotal: _netTotal, ...header } = settlement;
  return {
    header,
    lines: (async function* () {
      yield* lines;
    })(),
  };
}
