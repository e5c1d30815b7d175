/**
 * Reads Amazon's V2 settlement report (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2; layout and
 * formats in contract.ts) as a stream: the header from the file's summary row, then one canonical
 * SettlementLine per later row, parsed as the bytes arrive (csv-parse's stream API, gzip through
 * node:zlib), so a settlement of millions of rows never sits in memory.
 *
 * A row that cannot be read (wrong column count, an amount that is not one, an amount type the
 * table in settlement-map.ts does not know, another currency or settlement) is not a line: it is
 * handed to `onProblem` with its row number and cells, so the caller can dead-letter it, and it
 * makes the whole settlement not postable (`postable()` stays false), because its lines would no
 * longer add up to what Amazon paid. Failures of the file as a whole (not a settlement report,
 * a summary row that cannot be read, corrupt gzip, a row or file beyond the limits) throw a
 * SettlementReportError. No Node-RED import.
 */
import { parse, type Options as CsvParseOptions } from 'csv-parse';
import { finished, pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isKnownCurrency } from '../model/currencies';
import { currencyExponent, MoneyError, toMinor } from '../model/money';
import { batchedStream, type SettlementStream, type SettlementHeader } from '../model/settlement-stream';
import type { SettlementLine } from '../model/types.generated';
import { COMPRESSION_ALGORITHMS, SETTLEMENT_COLUMNS } from './contract';
import { lineKind } from './settlement-map';

/** Empty lines tolerated in a file (they are not rows; see readSettlementReport). */
const MAX_BLANK_LINES = 1000;
/** Lines between two turns of the event loop (a power of two less one, as a mask). */
const YIELD_EVERY = 0x1fff;

export class SettlementReportError extends Error {
  override name = 'SettlementReportError';
  constructor(
    message: string,
    /** The file's row (1 = the column names) the failure concerns, when it concerns one. */
    readonly row?: number,
  ) {
    super(message);
  }
}

export type RowProblemKind = 'columns' | 'amount' | 'unknown-type' | 'currency' | 'settlement' | 'date';

/** A row that is not a line; the settlement it belongs to must not be posted as it stands. */
export interface SettlementRowProblem {
  settlementId: string;
  /** Row in the file: 1 is the column names, 2 the summary row, 3 the first transaction. */
  row: number;
  kind: RowProblemKind;
  reason: string;
  /** The row's cells by column name (by position beyond the header's columns). */
  cells: Record<string, string>;
}

export interface SettlementTally {
  /** Transaction rows read so far (lines and problems). */
  rows: number;
  lines: number;
  problems: number;
  /** Σ amount of the lines read so far, in minor units. */
  lineSum: bigint;
  /** Every row of the file has been read. */
  complete: boolean;
}

export interface SettlementReportStream extends SettlementStream {
  readonly tally: Readonly<SettlementTally>;
  /** Every row was read and none was a problem: only then may the settlement be posted. */
  postable(): boolean;
  /** Stops reading (the source is destroyed); for a caller that leaves `lines` early. */
  close(): void;
}

export type SettlementInput = Readable | NodeJS.ReadableStream | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface ReadSettlementOptions {
  /** The seller (canonical order ids are `amazon:<account>:<order-id>`, as the order mapping writes them). */
  account: string;
  /** The report document's compressionAlgorithm; GZIP is decompressed while reading. */
  compression?: string;
  /** Called for each bad row, in order, before reading goes on (awaited: a dead-letter write may be async). */
  onProblem?: (problem: SettlementRowProblem) => void | Promise<void>;
  /** The report's id and creation time, kept on the header (attributes.amazonReportId, issuedAt). */
  reportId?: string;
  issuedAt?: string;
  /** The decimal mark; by default the first amount written with one decides, and every other amount must agree. */
  decimalSeparator?: '.' | ',';
  /** Transaction rows at most (default 5,000,000). */
  maxRows?: number;
  /** Characters in one row at most (default 65,536). */
  maxRowChars?: number;
}

const SYSTEM = 'amazon';
const SOURCE_TYPE = 'settlement-report';

/** Reads the column names and the summary row, and returns the header with the lines still to be read. */
export async function readSettlementReport(input: SettlementInput, opts: ReadSettlementOptions): Promise<SettlementReportStream> {
  if (opts.compression !== undefined && !(COMPRESSION_ALGORITHMS as readonly string[]).includes(opts.compression)) {
    throw new SettlementReportError(`unknown compressionAlgorithm ${JSON.stringify(opts.compression)} (Amazon defines ${COMPRESSION_ALGORITHMS.join(', ')})`);
  }
  const source = toReadable(input);
  const parser = parse(flatFileParseOptions(opts.maxRowChars));
  const streams: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream> = [source, ...(opts.compression === 'GZIP' ? [createGunzip()] : []), parser];
  // Errors of any stage destroy the parser with that error, and so reach the reader below.
  pipeline(streams, () => undefined);
  const take = recordReader(parser);
  const close = () => {
    source.destroy();
    parser.destroy();
  };
  const unreadable = (err: unknown) => {
    close();
    return new SettlementReportError(`the settlement file cannot be read: ${(err as Error).message}`);
  };
  // The records parsed and not yet read: `records[at]` is the next.
  let records: string[][] = [];
  let at = 0;
  /** Refills `records`; false at the end of the file. */
  const more = async (): Promise<boolean> => {
    try {
      records = await take();
    } catch (err) {
      throw unreadable(err);
    }
    at = 0;
    return records.length > 0;
  };
  // Without quoting a record is one line, so rows are counted here (cheaper than csv-parse's `info`); empty lines are skipped but counted.
  let lineNo = 0;
  // A real report has at most a trailing empty line or two. Empty lines are not rows, so without a
  // bound of their own a small gzip of nothing but line breaks would keep the parser busy for minutes.
  let blank = 0;
  const skipBlank = () => {
    if (++blank > MAX_BLANK_LINES) throw new SettlementReportError(`more than ${MAX_BLANK_LINES} empty lines: this is not a settlement report`, lineNo);
  };
  const isBlank = (record: string[]) => record.length === 1 && record[0] === '';
  /** The next non-empty record; its row is `lineNo`. */
  const next = async (): Promise<string[] | undefined> => {
    for (;;) {
      if (at === records.length && !(await more())) return undefined;
      const record = records[at++];
      lineNo++;
      if (!isBlank(record)) return record;
      skipBlank();
    }
  };

  try {
    const names = await next();
    if (!names) throw new SettlementReportError('the settlement file is empty');
    const columns = columnIndex(names);
    const summary = await next();
    if (!summary) throw new SettlementReportError('the settlement file has no summary row (row 2)', 2);
    const reader = new RowReader(columns, opts);
    const header = reader.header(summary, lineNo);
    const sum = new LineSum();
    const tally: SettlementTally = {
      rows: 0,
      lines: 0,
      problems: 0,
      get lineSum() {
        return sum.value;
      },
      complete: false,
    };
    const maxRows = opts.maxRows ?? 5_000_000;
    let turned = lineNo;
    // The lines of the records parsed so far, a batch at a time: one await per batch, not per line.
    const batches = async function* (): AsyncGenerator<SettlementLine[]> {
      try {
        while (at < records.length || (await more())) {
          // Records already parsed are handed over without a turn of the event loop: without one
          // now and then, a file given as one Buffer would hold up every other flow until its end.
          if (lineNo - turned > YIELD_EVERY) {
            turned = lineNo;
            await new Promise((resolve) => setImmediate(resolve));
          }
          let batch: SettlementLine[] = [];
          while (at < records.length) {
            const record = records[at++];
            lineNo++;
            if (isBlank(record)) {
              skipBlank();
              continue;
            }
            if (++tally.rows > maxRows) throw new SettlementReportError(`the settlement file has more than ${maxRows} transaction rows`, lineNo);
            const result = reader.line(record, lineNo);
            if (result instanceof BadRow) {
              tally.problems++;
              // The lines before the bad row go first: onProblem sees the rows in the file's order.
              if (batch.length) yield batch;
              batch = [];
              await opts.onProblem?.(result.problem);
              continue;
            }
            tally.lines++;
            sum.add(result.amount.amount);
            batch.push(result);
          }
          if (batch.length) yield batch;
        }
        tally.complete = true;
      } finally {
        if (!tally.complete) close();
      }
    };
    return {
      ...batchedStream(header, batches()),
      tally,
      postable: () => tally.complete && tally.problems === 0,
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/** Records per batch at most (a 64 KiB chunk of a settlement file is about 400). */
const BATCH = 1024;

/**
 * The parser's records as they are parsed, in arrays: what it holds now (read() until it has no
 * more), or, when it holds none, what it parses next; an empty array at the end, the stream's
 * error if it failed. Reading the parser's buffer this way costs one await per chunk of the file
 * where the stream's async iterator costs one per record.
 */
function recordReader(parser: Readable): () => Promise<string[][]> {
  let wake: (() => void) | undefined;
  let done = false;
  let failure: Error | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  parser.on('readable', signal);
  finished(parser, (err) => {
    if (err) failure = err;
    done = true;
    signal();
  });
  return async () => {
    for (;;) {
      const out: string[][] = [];
      let record: string[] | null;
      while (out.length < BATCH && !parser.destroyed && (record = parser.read()) !== null) out.push(record);
      if (out.length) return out;
      if (failure) throw failure;
      // Destroyed but not yet finished: the error (or the end) is on its way.
      if (done) return out;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}

/** csv-parse's options for the flat file (exported so the benchmark's bare csv-parse reads it the same way). */
export function flatFileParseOptions(maxRowChars = 65_536): CsvParseOptions {
  return {
    delimiter: '\t',
    quote: null, // a flat file, not CSV: a '"' in a description is a character like any other
    bom: true,
    relax_column_count: true,
    max_record_size: maxRowChars,
  };
}

/** An exact Σ of safe integers: a number while it stays safe, spilling into a bigint only then (no BigInt per line). */
class LineSum {
  private small = 0;
  private big = 0n;

  add(amount: number): void {
    if (Math.abs(this.small) > Number.MAX_SAFE_INTEGER - Math.abs(amount)) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
    this.small += amount;
  }

  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}

/** Bytes handed over whole are fed in 64 KiB pieces: csv-parse slows down badly on one huge chunk. */
const PIECE = 64 * 1024;

function toReadable(input: SettlementInput): Readable {
  if (input instanceof Readable) return input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    return Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += PIECE) yield bytes.subarray(i, i + PIECE);
      })(),
    );
  }
  if (typeof (input as ReadableStream).getReader === 'function') return Readable.fromWeb(input as import('node:stream/web').ReadableStream<Uint8Array>);
  return Readable.from(input as AsyncIterable<Uint8Array | string>);
}

/** Column name → position; every column Amazon lists must be there, once. */
function columnIndex(names: string[]): Map<string, number> {
  const index = new Map<string, number>();
  names.forEach((raw, i) => {
    const name = raw.trim();
    if (index.has(name)) throw new SettlementReportError(`column ${name} appears twice in the header row`, 1);
    index.set(name, i);
  });
  const missing = SETTLEMENT_COLUMNS.filter((c) => !index.has(c));
  if (missing.length) {
    throw new SettlementReportError(`not a V2 settlement report: the header row lacks ${missing.join(', ')}`, 1);
  }
  return index;
}

class RowProblem extends Error {
  constructor(
    readonly kind: RowProblemKind,
    message: string,
  ) {
    super(message);
  }
}

/** What RowReader.line gives for a row that is not a line. */
class BadRow {
  constructor(readonly problem: SettlementRowProblem) {}
}

/** 10^n for the currency exponents (0 to 4). */
const POW10 = [1, 10, 100, 1000, 10_000];

/** Reads rows against the header's columns, the settlement's currency and the file's decimal mark. */
class RowReader {
  private separator: '.' | ',' | undefined;
  private settlementId = '';
  private currency = '';
  private exponent = 0;
  private readonly orderPrefix: string;
  // Positions of the columns read on every row (looked up once, not per cell).
  private readonly at: {
    settlementId: number;
    currency: number;
    transactionType: number;
    amountType: number;
    description: number;
    amount: number;
    orderId: number;
    sku: number;
    postedDateTime: number;
    postedDate: number;
  };
  // The rows of one order follow each other and share its reference and posted time: the last ones
  // are kept, so consecutive lines share one (read-only) orderRef and one timestamp instead of
  // building each again.
  private lastOrderId = '';
  private lastOrderRef: NonNullable<SettlementLine['orderRef']> = { id: '' };
  private lastPosted = '';
  private lastPostedAt = '';

  constructor(
    private readonly columns: Map<string, number>,
    private readonly opts: ReadSettlementOptions,
  ) {
    this.separator = opts.decimalSeparator;
    this.orderPrefix = `amazon:${opts.account}:`;
    const at = (name: (typeof SETTLEMENT_COLUMNS)[number]) => columns.get(name)!;
    this.at = {
      settlementId: at('settlement-id'),
      currency: at('currency'),
      transactionType: at('transaction-type'),
      amountType: at('amount-type'),
      description: at('amount-description'),
      amount: at('amount'),
      orderId: at('order-id'),
      sku: at('sku'),
      postedDateTime: at('posted-date-time'),
      postedDate: at('posted-date'),
    };
  }

  private cell(record: string[], name: string): string {
    return (record[this.columns.get(name)!] ?? '').trim();
  }

  header(record: string[], row: number): SettlementHeader {
    const fail = (message: string) => new SettlementReportError(`summary row: ${message}`, row);
    if (record.length !== this.columns.size) throw fail(`${record.length} columns where the header row has ${this.columns.size}`);
    const id = this.cell(record, 'settlement-id');
    if (!/^\d{1,20}$/.test(id)) throw fail(`settlement-id ${JSON.stringify(id)} is not 1 to 20 digits`);
    const currency = this.cell(record, 'currency');
    if (!isKnownCurrency(currency)) throw fail(`currency ${JSON.stringify(currency)} is not an ISO 4217 code`);
    this.settlementId = id;
    this.currency = currency;
    this.exponent = currencyExponent(currency);
    const at = (name: string) => {
      const d = readDate(this.cell(record, name));
      if (!d) throw fail(`${name} ${JSON.stringify(this.cell(record, name))} is not a date and time the report uses`);
      return d;
    };
    let total: number;
    try {
      total = this.amount(this.cell(record, 'total-amount'));
    } catch (err) {
      throw fail(`total-amount: ${(err as Error).message}`);
    }
    const start = at('settlement-start-date');
    const end = at('settlement-end-date');
    const header: SettlementHeader = {
      kind: 'settlement',
      settlementId: id,
      channel: { system: SYSTEM, account: this.opts.account, id },
      periodStart: start.timestamp,
      periodEnd: end.timestamp,
      currency,
      statedTotal: { amount: total, currency },
    };
    if (this.cell(record, 'deposit-date')) header.depositDate = at('deposit-date').date;
    if (this.opts.issuedAt) header.issuedAt = this.opts.issuedAt;
    if (this.opts.reportId) header.attributes = { amazonReportId: this.opts.reportId };
    return header;
  }

  line(record: string[], row: number): SettlementLine | BadRow {
    try {
      return this.toLine(record, row);
    } catch (err) {
      if (!(err instanceof RowProblem)) throw err;
      return new BadRow({ settlementId: this.settlementId, row, kind: err.kind, reason: `row ${row}: ${err.message}`, cells: this.cells(record) });
    }
  }

  private toLine(record: string[], row: number): SettlementLine {
    if (record.length !== this.columns.size) throw new RowProblem('columns', `${record.length} columns where the header row has ${this.columns.size}`);
    const at = this.at;
    // Every column the header names is in the row (checked above), so no cell is undefined.
    const id = record[at.settlementId].trim();
    if (id && id !== this.settlementId) throw new RowProblem('settlement', `settlement-id ${id} is not this settlement's (${this.settlementId})`);
    const currency = record[at.currency].trim();
    if (currency && currency !== this.currency) throw new RowProblem('currency', `currency ${currency} differs from the settlement's ${this.currency}`);
    const transactionType = record[at.transactionType].trim();
    const amountType = record[at.amountType].trim();
    const description = record[at.description].trim();
    const kind = lineKind(transactionType, amountType, description);
    if (!kind) {
      throw new RowProblem(
        'unknown-type',
        `unknown amount: transaction-type ${q(transactionType)}, amount-type ${q(amountType)}, amount-description ${q(description)}`,
      );
    }
    let amount: number;
    try {
      amount = this.amount(record[at.amount].trim());
    } catch (err) {
      throw new RowProblem('amount', `amount: ${(err as Error).message}`);
    }
    const line = { lineId: String(row), type: kind.type } as SettlementLine;
    if (kind.category) line.category = kind.category;
    line.description = description || amountType;
    line.amount = { amount, currency: this.currency };
    const orderId = record[at.orderId].trim();
    if (orderId) {
      if (orderId !== this.lastOrderId) {
        this.lastOrderId = orderId;
        this.lastOrderRef = { id: this.orderPrefix + orderId, channel: { system: SYSTEM, account: this.opts.account, id: orderId } };
      }
      line.orderRef = this.lastOrderRef;
    }
    const sku = record[at.sku].trim();
    if (sku) line.sku = sku;
    const posted = record[at.postedDateTime].trim() || record[at.postedDate].trim();
    if (posted) {
      if (posted !== this.lastPosted) {
        const d = readDate(posted);
        if (!d) throw new RowProblem('date', `posted date ${q(posted)} is not a date the report uses`);
        this.lastPosted = posted;
        this.lastPostedAt = d.timestamp;
      }
      line.postedAt = this.lastPostedAt;
    }
    line.source = { system: SYSTEM, type: SOURCE_TYPE, id: this.settlementId, line: row };
    return line;
  }

  /** An amount in minor units of the settlement's currency, with the file's one decimal mark. */
  private amount(text: string): number {
    const plain = this.plainAmount(text);
    if (plain !== undefined) return plain;
    if (!text) throw new MoneyError('empty');
    const comma = text.includes(','),
      point = text.includes('.');
    if (comma && point) throw new MoneyError(`'${text}' has both a decimal point and a comma (grouping marks are not written in settlement files)`);
    const mark = comma ? ',' : point ? '.' : undefined;
    if (mark && this.separator && mark !== this.separator) {
      throw new MoneyError(
        `'${text}' uses a decimal ${mark === ',' ? 'comma' : 'point'} but this file's amounts use a decimal ${this.separator === ',' ? 'comma' : 'point'}`,
      );
    }
    const minor = toMinor(text, this.currency, { decimalSeparator: mark ?? '.' });
    if (mark) this.separator ??= mark;
    return minor;
  }

  /**
   * The form nearly every amount has, read from its characters without the BigInt arithmetic of
   * toMinor: an optional '-', 1 to 15 digits in all, at most one decimal mark (the file's, when it
   * has shown one) followed by 1 to the currency's exponent digits. Anything else (a '+', too
   * many decimals, a second mark, the other mark) is undefined, and the general path reads it or
   * names what is wrong with it.
   */
  private plainAmount(text: string): number | undefined {
    const n = text.length;
    if (n === 0 || n > 17) return undefined;
    let i = text.charCodeAt(0) === 45 ? 1 : 0; // '-'
    let units = 0;
    let digits = 0;
    let decimals = -1;
    let mark = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        units = units * 10 + (c - 48);
        digits++;
        if (decimals >= 0) decimals++;
      } else if ((c === 46 || c === 44) && decimals < 0 && digits > 0) {
        decimals = 0;
        mark = c;
      } else return undefined;
    }
    if (digits === 0 || digits > 15 || decimals === 0 || decimals > this.exponent) return undefined;
    const separator = mark === 44 ? ',' : mark === 46 ? '.' : undefined;
    if (separator && this.separator && separator !== this.separator) return undefined;
    const minor = units * POW10[this.exponent - (decimals < 0 ? 0 : decimals)];
    if (!Number.isSafeInteger(minor)) return undefined;
    if (separator) this.separator ??= separator;
    return text.charCodeAt(0) === 45 && minor !== 0 ? -minor : minor;
  }

  private cells(record: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, i] of this.columns) if (i < record.length) out[name] = record[i];
    for (let i = this.columns.size; i < record.length; i++) out[String(i + 1)] = record[i];
    return out;
  }
}

function q(text: string): string {
  return JSON.stringify(text);
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const SPACED_UTC = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (?:UTC|GMT)$/;
const DAY_FIRST_UTC = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:UTC|GMT)$/;
const ISO_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_ONLY_DAY_FIRST = /^(\d{2})\.(\d{2})\.(\d{4})$/;

/**
 * A date of the report as an RFC 3339 timestamp and its calendar date, or undefined when the text
 * is none of the forms the report uses (contract.ts): `2026-11-03 08:00:00 UTC`,
 * `03.11.2026 08:00:00 UTC`, `2026-11-03T08:00:00-07:00`, or a date alone (midnight UTC).
 */
export function readDate(text: string): { timestamp: string; date: string } | undefined {
  let y: string, mo: string, d: string;
  let h = '00',
    mi = '00',
    s = '00',
    fraction = '',
    zone = 'Z';
  let m: RegExpExecArray | null;
  // Indexed rather than destructured: an array pattern goes through the match's iterator (one per posted time of a file).
  if ((m = SPACED_UTC.exec(text)) || (m = ISO_OFFSET.exec(text))) {
    y = m[1];
    mo = m[2];
    d = m[3];
    h = m[4];
    mi = m[5];
    s = m[6];
    if (m[8] !== undefined) {
      fraction = m[7] ?? '';
      zone = m[8];
      if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4)) > 59)) return undefined;
    }
  } else if ((m = DAY_FIRST_UTC.exec(text))) {
    d = m[1];
    mo = m[2];
    y = m[3];
    h = m[4];
    mi = m[5];
    s = m[6];
  } else if ((m = DATE_ONLY.exec(text))) [, y, mo, d] = m;
  else if ((m = DATE_ONLY_DAY_FIRST.exec(text))) [, d, mo, y] = m;
  else return undefined;
  // Two digits each (the patterns say so): compared as text, without a number made of each.
  if (h > '23' || mi > '59' || s > '59') return undefined;
  const month = Number(mo);
  const day = Number(d);
  const year = Number(y);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && !leap ? 28 : DAYS[month - 1])) return undefined;
  const date = `${y}-${mo}-${d}`;
  return { timestamp: `${date}T${h}:${mi}:${s}${fraction}${zone}`, date };
}
