/**
 * Settlement tally: one pass over a settlement's lines (a SettlementStream) that keeps only what
 * reconciliation and posting need, never the lines themselves (docs/settlements.md, "How a
 * settlement is read"):
 *
 *  - one group per (posting month, line type, category): its exact total, its line count and the
 *    rows behind it (1-based positions of the lines in the settlement, in a growable Int32Array);
 *  - per order (by the channel's order id, orderRef.channel.id, else orderRef.id): what the
 *    settlement charged for it (principal, tax, shipping, promotion) and its net (every line of
 *    the order), for matching against Tillwire's orders and the ERP;
 *  - Σ lines, exact as a bigint.
 *
 * Memory is O(groups + orders): a million-line Amazon settlement costs 4 bytes per line (its row
 * number) plus the order map. The per-line work is a few Map lookups and integer additions; a
 * BigInt is created only when a running sum leaves the safe-integer range (ExactSum).
 *
 * The posting month is the UTC month of the line's postedAt; a line without postedAt takes the
 * settlement's deposit date, else the last instant of its period. Reserve lines without a
 * category are read by their sign: negative is a hold, positive a release.
 *
 * The header is validated as a canonical settlement without lines. Every line is checked as it passes (type, currency, exact amount, category, postedAt, order
 * id); the first bad line ends the tally with a SettlementTallyError naming the line and the rule.
 * Line ids are not checked for uniqueness here (that would hold every id); the parser that numbers
 * the lines owns that.
 */
import type { SettlementLine } from '../model/types.generated';
import { lineBatches, type SettlementHeader, type SettlementStream } from '../model/settlement-stream';
import { validateDocument } from '../model/validate';

export const LINE_TYPES = ['principal', 'tax', 'shipping', 'fee', 'promotion', 'refund', 'reserve', 'adjustment', 'other'] as const;
export type LineType = (typeof LINE_TYPES)[number];

/** The types whose sum is what the settlement charged the customer for an order. */
const CHARGED_TYPES: ReadonlySet<string> = new Set(['principal', 'tax', 'shipping', 'promotion']);
const TYPE_SET: ReadonlySet<string> = new Set(LINE_TYPES);

export type TallyRule =
  'header' | 'type' | 'currency' | 'amount' | 'category' | 'posted-at' | 'order' | 'too-many-lines' | 'too-many-groups' | 'too-many-orders';

export class SettlementTallyError extends Error {
  override name = 'SettlementTallyError';
  constructor(
    readonly rule: TallyRule,
    message: string,
    /** 1-based position of the offending line, when a line is at fault. */
    readonly row?: number,
  ) {
    super(message);
  }
}

export interface TallyLimits {
  /** Most lines read (default 5,000,000). */
  maxLines?: number;
  /** Most (month, type, category) groups (default 10,000): categories are free text, so a hostile file could invent one per line. */
  maxGroups?: number;
  /** Most distinct orders (default 2,000,000). */
  maxOrders?: number;
}

const DEFAULT_LIMITS: Required<TallyLimits> = { maxLines: 5_000_000, maxGroups: 10_000, maxOrders: 2_000_000 };

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * An exact running sum of safe integers: a plain number while it stays in the safe range, spilling
 * into a bigint only when the next addition could leave it (so no BigInt per line).
 */
export class ExactSum {
  private small = 0;
  private big = 0n;

  add(amount: number): void {
    if (Math.abs(this.small) > SAFE - Math.abs(amount)) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
    this.small += amount;
  }

  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}

/** Ascending row numbers in a growable Int32Array: 4 bytes a row, no object per row. */
export class RowList {
  private rows = new Int32Array(8);
  private n = 0;

  push(row: number): void {
    if (this.n === this.rows.length) {
      const grown = new Int32Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    this.rows[this.n++] = row;
  }

  get length(): number {
    return this.n;
  }

  /** The rows as a view (no copy). */
  toArray(): Int32Array {
    return this.rows.subarray(0, this.n);
  }

  /** Compact ranges, e.g. "1-4,9,12-20"; undefined when longer than maxChars. */
  toRanges(maxChars = Infinity): string | undefined {
    return formatRanges(this.toArray(), maxChars);
  }
}

/**
 * "1-4,9,12-20" from ascending rows; undefined as soon as the text would pass maxChars, so the
 * rows of a large interleaved group are never written out in full only to be dropped.
 */
export function formatRanges(rows: ArrayLike<number>, maxChars = Infinity): string | undefined {
  let text = '';
  let i = 0;
  while (i < rows.length) {
    let j = i;
    while (j + 1 < rows.length && rows[j + 1] === rows[j] + 1) j++;
    text += (text ? ',' : '') + (j === i ? String(rows[i]) : `${rows[i]}-${rows[j]}`);
    if (text.length > maxChars) return undefined;
    i = j + 1;
  }
  return text;
}

/** The rows of "1-4,9,12-20"; throws on anything else. */
export function parseRanges(text: string): number[] {
  if (text === '') return [];
  const rows: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`'${part}' is not a row range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`row range '${part}' runs backwards`);
    for (let r = from; r <= to; r++) rows.push(r);
  }
  return rows;
}

/** One (posting month, type, category) group of lines. */
export interface TallyGroup {
  /** "2026-03|fee|commission"; category "" when the lines have none. */
  readonly key: string;
  readonly month: string;
  readonly type: LineType;
  readonly category: string;
  readonly sum: ExactSum;
  count: number;
  readonly rows: RowList;
}

export interface GroupTotal {
  type: LineType;
  category: string;
  total: bigint;
  count: number;
}

/** What the settlement holds for one order. */
export interface OrderFigures {
  /** Σ principal, tax, shipping and promotion lines: what the customer was charged. */
  charged: number;
  /** Σ every line of the order (fees and refunds included). */
  net: number;
}

/** The result of one pass over a settlement. */
export class SettlementTally {
  lineCount = 0;
  /** Lines without postedAt, posted in the fallback month. */
  undatedLines = 0;
  readonly fallbackMonth: string;
  private readonly sum = new ExactSum();
  private readonly months = new Map<string, Map<string, Map<string, TallyGroup>>>();
  private readonly groupList: TallyGroup[] = [];
  private readonly orderIndex = new Map<string, number>();
  private orderCharged = new Float64Array(1024);
  private orderNet = new Float64Array(1024);

  constructor(
    readonly header: SettlementHeader,
    private readonly limits: Required<TallyLimits> = DEFAULT_LIMITS,
  ) {
    // The header is small: it is checked as a canonical settlement without lines.
    const asDocument = { ...header, netTotal: { amount: 0, currency: header?.currency }, lines: [] };
    const { valid, errors } =
      header && typeof header === 'object' ? validateDocument('settlement', asDocument) : { valid: false, errors: ['it is not an object'] };
    if (!valid) throw new SettlementTallyError('header', `the settlement header is not valid: ${errors.join('; ')}`);
    this.fallbackMonth = fallbackMonth(header);
  }

  get currency(): string {
    return this.header.currency;
  }

  /** Σ every line, exact. */
  get total(): bigint {
    return this.sum.value;
  }

  /** Every group, in the order first seen. */
  get groups(): readonly TallyGroup[] {
    return this.groupList;
  }

  group(key: string): TallyGroup | undefined {
    const [month, type, category] = key.split('|');
    return this.months
      .get(month)
      ?.get(type)
      ?.get(category ?? '');
  }

  /** Posting months, ascending. */
  get monthList(): string[] {
    return [...this.months.keys()].sort();
  }

  /** Σ per posting month, ascending by month; the parts add up to `total`. */
  monthTotals(): Array<{ month: string; total: bigint; count: number }> {
    return this.monthList.map((month) => {
      let total = 0n;
      let count = 0;
      for (const byCategory of this.months.get(month)!.values()) {
        for (const g of byCategory.values()) {
          total += g.sum.value;
          count += g.count;
        }
      }
      return { month, total, count };
    });
  }

  /** Σ per type and category over every month, in LINE_TYPES order, categories alphabetical. */
  typeTotals(): GroupTotal[] {
    const merged = new Map<string, GroupTotal>();
    for (const g of this.groupList) {
      const key = `${g.type}|${g.category}`;
      const t = merged.get(key) ?? { type: g.type, category: g.category, total: 0n, count: 0 };
      t.total += g.sum.value;
      t.count += g.count;
      merged.set(key, t);
    }
    return [...merged.values()].sort(compareGroups);
  }

  /** Σ of one type (every category), or of one type and category. */
  totalOf(type: LineType, category?: string): bigint {
    let total = 0n;
    for (const g of this.groupList) if (g.type === type && (category === undefined || g.category === category)) total += g.sum.value;
    return total;
  }

  get orderCount(): number {
    return this.orderIndex.size;
  }

  orderIds(): IterableIterator<string> {
    return this.orderIndex.keys();
  }

  order(id: string): OrderFigures | undefined {
    const i = this.orderIndex.get(id);
    return i === undefined ? undefined : { charged: this.orderCharged[i], net: this.orderNet[i] };
  }

  /** The orders in the order first seen, `size` at a time: their ids and what the settlement charged for each (same positions). */
  *orderBatches(size: number): IterableIterator<{ ids: string[]; charged: Float64Array }> {
    let ids: string[] = [];
    let from = 0;
    for (const orderId of this.orderIndex.keys()) {
      ids.push(orderId);
      if (ids.length === size) {
        yield { ids, charged: this.orderCharged.subarray(from, from + size) };
        from += size;
        ids = [];
      }
    }
    if (ids.length) yield { ids, charged: this.orderCharged.subarray(from, from + ids.length) };
  }

  /**
   * Every order with its figures, in the order first seen, without a lookup per order: an
   * order's position in the map is its index in the figure arrays (orders are only ever added).
   */
  *orderList(): IterableIterator<{ orderId: string } & OrderFigures> {
    let i = 0;
    for (const orderId of this.orderIndex.keys()) {
      yield { orderId, charged: this.orderCharged[i], net: this.orderNet[i] };
      i++;
    }
  }

  /** Adds one line; `row` is its 1-based position in the settlement. */
  add(line: SettlementLine, row: number): void {
    if (row > this.limits.maxLines) {
      throw new SettlementTallyError('too-many-lines', `the settlement has more than ${this.limits.maxLines} lines`, row);
    }
    if (line === null || typeof line !== 'object') throw new SettlementTallyError('type', `line ${row} is not an object`, row);
    const type = line.type;
    if (!TYPE_SET.has(type)) throw new SettlementTallyError('type', `line ${row}${idOf(line)}: type '${String(type)}' is not a settlement line type`, row);
    const amount = line.amount?.amount;
    if (line.amount?.currency !== this.header.currency) {
      throw new SettlementTallyError(
        'currency',
        `line ${row}${idOf(line)}: currency '${String(line.amount?.currency)}' is not the settlement's ${this.header.currency}`,
        row,
      );
    }
    if (!Number.isSafeInteger(amount)) {
      throw new SettlementTallyError('amount', `line ${row}${idOf(line)}: amount ${String(amount)} is not an exact integer of minor units`, row);
    }
    let category = line.category;
    if (category === undefined) {
      category = type === 'reserve' ? (amount < 0 ? 'held' : 'released') : '';
    } else if (typeof category !== 'string' || category.length === 0 || category.length > 64 || category.includes('|')) {
      throw new SettlementTallyError('category', `line ${row}${idOf(line)}: category must be 1 to 64 characters without '|'`, row);
    }
    const month = line.postedAt === undefined ? this.undated() : this.monthOf(line.postedAt, row, line);

    let byType = this.months.get(month);
    if (!byType) this.months.set(month, (byType = new Map()));
    let byCategory = byType.get(type);
    if (!byCategory) byType.set(type, (byCategory = new Map()));
    let group = byCategory.get(category);
    if (!group) {
      if (this.groupList.length >= this.limits.maxGroups) {
        throw new SettlementTallyError('too-many-groups', `the settlement has more than ${this.limits.maxGroups} (month, type, category) groups`, row);
      }
      group = { key: `${month}|${type}|${category}`, month, type: type as LineType, category, sum: new ExactSum(), count: 0, rows: new RowList() };
      byCategory.set(category, group);
      this.groupList.push(group);
    }
    group.sum.add(amount);
    group.count++;
    group.rows.push(row);
    this.sum.add(amount);
    this.lineCount = row;

    // Orders go by the channel's own order id when the line gives it (orderRef.channel.id): the id
    // the order index, the ERP and the settled-order rows know the order by. orderRef.id is the
    // canonical id ("amazon:<seller>:<id>"), which nothing Tillwire records is keyed by.
    const ref = line.orderRef;
    const orderId = ref?.channel?.id ?? ref?.id;
    if (orderId !== undefined) this.addOrder(orderId, type, amount, row, line);
  }

  private addOrder(orderId: string, type: string, amount: number, row: number, line: SettlementLine): void {
    if (typeof orderId !== 'string' || orderId.length === 0 || orderId.length > 255) {
      throw new SettlementTallyError(
        'order',
        `line ${row}${idOf(line)}: the order id (orderRef.channel.id, else orderRef.id) must be 1 to 255 characters`,
        row,
      );
    }
    // A settlement lists an order's lines together, so most lines repeat the previous line's order:
    // comparing with it spares a lookup in a map of hundreds of thousands of orders.
    let i = orderId === this.lastOrderId ? this.lastOrder : this.orderIndex.get(orderId);
    if (i === undefined) {
      i = this.orderIndex.size;
      if (i >= this.limits.maxOrders) throw new SettlementTallyError('too-many-orders', `the settlement names more than ${this.limits.maxOrders} orders`, row);
      if (i === this.orderNet.length) {
        this.orderNet = grow(this.orderNet);
        this.orderCharged = grow(this.orderCharged);
      }
      this.orderIndex.set(orderId, i);
    }
    const net = this.orderNet[i] + amount;
    const charged = CHARGED_TYPES.has(type) ? this.orderCharged[i] + amount : this.orderCharged[i];
    if (!Number.isSafeInteger(net) || !Number.isSafeInteger(charged)) {
      throw new SettlementTallyError('amount', `line ${row}${idOf(line)}: the lines of order ${orderId} add up beyond the exact range`, row);
    }
    this.orderNet[i] = net;
    this.orderCharged[i] = charged;
    this.lastOrderId = orderId;
    this.lastOrder = i;
  }

  private lastOrderId = '';
  private lastOrder = -1;

  private undated(): string {
    this.undatedLines++;
    return this.fallbackMonth;
  }

  // A settlement's lines mostly share a month, so the last month found is tried first: a UTC
  // timestamp of that month costs one startsWith and no allocation. A UTC timestamp of another
  // month is read from its text; only an offset other than UTC needs the date arithmetic.
  private lastMonth = '';
  // The lines of one order share their postedAt (a source reading a file shares the string itself).
  private lastPostedAt: string | undefined;

  private monthOf(postedAt: string, row: number, line: SettlementLine): string {
    if (postedAt === this.lastPostedAt) return this.lastMonth;
    const month = this.monthOfNew(postedAt, row, line);
    this.lastPostedAt = postedAt;
    return month;
  }

  private monthOfNew(postedAt: string, row: number, line: SettlementLine): string {
    const utc = typeof postedAt === 'string' && postedAt.length >= 20 && (postedAt.endsWith('Z') || postedAt.endsWith('+00:00'));
    if (utc && this.lastMonth !== '' && postedAt.startsWith(this.lastMonth)) return this.lastMonth;
    const ms = typeof postedAt === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(postedAt) ? Date.parse(postedAt) : NaN;
    if (Number.isNaN(ms))
      throw new SettlementTallyError('posted-at', `line ${row}${idOf(line)}: postedAt '${String(postedAt)}' is not an RFC 3339 timestamp`, row);
    this.lastMonth = utc ? postedAt.slice(0, 7) : new Date(ms).toISOString().slice(0, 7);
    return this.lastMonth;
  }
}

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(a.length * 2);
  grown.set(a);
  return grown;
}

function idOf(line: SettlementLine): string {
  return typeof line.lineId === 'string' ? ` (lineId ${line.lineId.slice(0, 40)})` : '';
}

/** The month of lines without postedAt: the deposit date's, else the period's last instant's (UTC). */
function fallbackMonth(header: SettlementHeader): string {
  if (typeof header.depositDate === 'string' && /^\d{4}-\d{2}/.test(header.depositDate)) return header.depositDate.slice(0, 7);
  const end = Date.parse(header.periodEnd);
  if (Number.isNaN(end)) throw new SettlementTallyError('header', `periodEnd '${String(header.periodEnd)}' is not a timestamp and there is no depositDate`);
  return new Date(end - 1).toISOString().slice(0, 7);
}

export function compareGroups(a: { type: string; category: string }, b: { type: string; category: string }): number {
  const t = LINE_TYPES.indexOf(a.type as LineType) - LINE_TYPES.indexOf(b.type as LineType);
  return t !== 0 ? t : a.category < b.category ? -1 : a.category > b.category ? 1 : 0;
}

/** Reads a settlement stream once. */
export async function tallySettlement(stream: SettlementStream, limits: TallyLimits = {}): Promise<SettlementTally> {
  const tally = new SettlementTally(stream.header, { ...DEFAULT_LIMITS, ...limits });
  let row = 0;
  for await (const batch of lineBatches(stream)) for (const line of batch) tally.add(line, ++row);
  return tally;
}
