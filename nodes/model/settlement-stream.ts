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
  /**
   * The same lines in batches (those the source had read at once), offered by sources of millions
   * of lines: a consumer then pays one await per batch, not per line. The lines are read once,
   * through `lines` or through `batches`; `lineBatches` reads either.
   */
  batches?: AsyncIterable<readonly SettlementLine[]>;
}

/** The stream's lines in batches: its own when it has them, else one line a batch. */
export async function* lineBatches(stream: SettlementStream): AsyncGenerator<readonly SettlementLine[]> {
  if (stream.batches) {
    yield* stream.batches;
    return;
  }
  for await (const line of stream.lines) yield [line];
}

/** The stream of a source that reads its lines in batches: `lines` hands the same lines out one at a time. */
export function batchedStream(header: SettlementHeader, batches: AsyncIterable<readonly SettlementLine[]>): SettlementStream {
  return {
    header,
    batches,
    lines: (async function* () {
      for await (const batch of batches) yield* batch;
    })(),
  };
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
