/**
 * The bounds every canonical document is held to before anything else looks at it: how deep it
 * nests, how long its arrays are, whether its whole numbers are exact. One iterative, breadth-first
 * walk checks them, so no input, however deep, can overflow the stack (a recursive walk failed from
 * about 1,650 levels). The walk also collects every {amount, currency} object for the money checks.
 */

/** How far from now the dates a document describes may lie (docs/canonical-model.md, "Business rules"). */
export interface DateWindow {
  /** Days before now a document's date may lie. */
  pastDays: number;
  /** Days after now a document's date may lie (clock drift, time zones). */
  futureDays: number;
}

export interface ValidationBounds {
  /** Deepest nesting of objects and arrays; the document itself is level 1. */
  maxDepth: number;
  /** Most items in any array of a document (lines, taxes, tenders, …). */
  maxLines: number;
  /** Most lines in a settlement or journal entry: statements that sum up many transactions. */
  maxStatementLines: number;
  /** Most units on one line (sale, order, return, shipment), as an absolute value. */
  maxQuantity: number;
  /** The window the clock check uses when one is asked for (see ValidationOptions.dateWindow). */
  dateWindow: DateWindow;
}

/**
 * The defaults. A real document nests about 6 levels; a till sale has a few dozen lines, a large
 * web order a few hundred; a two-week marketplace settlement can have tens of thousands of rows.
 * 30 days back covers a store offline for a week or two and a rejected sale corrected and sent
 * again before the month is closed; 1 day ahead covers a till clock running fast and a business
 * date in a time zone ahead of UTC.
 */
export const DEFAULT_BOUNDS: Readonly<ValidationBounds> = Object.freeze({
  maxDepth: 32,
  maxLines: 1_000,
  maxStatementLines: 100_000,
  maxQuantity: 10_000,
  dateWindow: Object.freeze({ pastDays: 30, futureDays: 1 }),
});

export const DEFAULT_DATE_WINDOW: Readonly<DateWindow> = DEFAULT_BOUNDS.dateWindow;

/**
 * Most properties of any one object. Canonical objects have a few dozen at most; only
 * `attributes` is free-form, and a thousand extension values is already far beyond any use.
 */
export const MAX_PROPERTIES = 1_000;

/** Document types whose top-level `lines` are statement lines (maxStatementLines). */
const STATEMENTS = new Set(['settlement', 'journal-entry']);

export interface WalkResult {
  /** Depth, list-length and exact-integer problems, in words. Non-empty: stop, run nothing else. */
  problems: string[];
  /** Money in an unknown currency, or in another currency than the document's. */
  moneyProblems: string[];
}

// One set of work arrays reused by every call (validation is synchronous and runs per till sale):
// the walk allocates nothing that grows with the number of calls, and releases the document after.
// Only objects and arrays are queued; index 0 is the document itself.
const nodes: object[] = [];
const parents: number[] = [];
const keys: Array<string | number> = [];
const depths: number[] = [];

function pathOf(index: number, last?: string | number): string {
  const segments: Array<string | number> = last === undefined ? [] : [last];
  for (let i = index; i > 0; i = parents[i]) segments.push(keys[i]);
  let out = '';
  for (let s = segments.length - 1; s >= 0; s--) {
    const seg = segments[s];
    out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

const MAX_PATH_TEXT = 120;

const shorten = (p: string) => (p.length > MAX_PATH_TEXT ? `${p.slice(0, MAX_PATH_TEXT)}…` : p);

/**
 * Walks `doc` breadth first with an explicit queue. Stops at the first container deeper than
 * maxDepth and never enters a list longer than its limit, so the work is bounded by the size of
 * the input and the stack use is constant. `isKnownCurrency` judges each {amount, currency}.
 */
export function walkDocument(
  type: string,
  doc: object,
  bounds: Pick<ValidationBounds, 'maxDepth' | 'maxLines' | 'maxStatementLines'>,
  isKnownCurrency: (code: string) => boolean,
): WalkResult {
  const problems: string[] = [];
  const moneyProblems: string[] = [];
  const docCurrency = (doc as { currency?: unknown }).currency;
  nodes.push(doc);
  parents.push(-1);
  keys.push('');
  depths.push(1);
  const visit = (parent: number, key: string | number, child: unknown): string | undefined => {
    if (typeof child === 'number') {
      if (Number.isInteger(child) && !Number.isSafeInteger(child)) {
        problems.push(`${pathOf(parent, key)} ${child} is beyond the exact integer range (±${Number.MAX_SAFE_INTEGER})`);
      }
      return undefined;
    }
    if (child === null || typeof child !== 'object') return undefined;
    const depth = depths[parent] + 1;
    if (depth > bounds.maxDepth) return `payload is nested more than ${bounds.maxDepth} levels deep (at ${shorten(pathOf(parent, key))})`;
    nodes.push(child);
    parents.push(parent);
    keys.push(key);
    depths.push(depth);
    return undefined;
  };
  try {
    for (let i = 0; i < nodes.length; i++) {
      const value = nodes[i];
      if (Array.isArray(value)) {
        const statementLines = parents[i] === 0 && keys[i] === 'lines' && STATEMENTS.has(type);
        const limit = statementLines ? bounds.maxStatementLines : bounds.maxLines;
        if (value.length > limit) {
          problems.push(`${pathOf(i)} has ${value.length} items, more than the limit of ${limit}`);
          continue;
        }
        for (let k = 0; k < value.length; k++) {
          const tooDeep = visit(i, k, value[k]);
          if (tooDeep) return { problems: [tooDeep], moneyProblems: [] };
        }
        continue;
      }
      const obj = value as Record<string, unknown>;
      const names = Object.keys(obj);
      if (names.length > MAX_PROPERTIES) {
        problems.push(`${pathOf(i) || 'payload'} has ${names.length} properties, more than the limit of ${MAX_PROPERTIES}`);
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(obj, 'amount') && Object.prototype.hasOwnProperty.call(obj, 'currency')) {
        const currency = obj.currency;
        if (typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) && !isKnownCurrency(currency)) {
          moneyProblems.push(`${pathOf(i)}.currency '${currency}' is not a known ISO 4217 currency`);
        } else if (typeof docCurrency === 'string' && typeof currency === 'string' && currency !== docCurrency) {
          moneyProblems.push(`${pathOf(i)} is in ${currency} but the document is in ${docCurrency}`);
        }
      }
      for (const name of names) {
        const tooDeep = visit(i, name, obj[name]);
        if (tooDeep) return { problems: [tooDeep], moneyProblems: [] };
      }
    }
    return { problems, moneyProblems };
  } finally {
    nodes.length = 0;
    parents.length = 0;
    keys.length = 0;
    depths.length = 0;
  }
}

/** True when `value` nests objects or arrays more than `maxDepth` levels deep (checked without recursion). */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  while (stack.length) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/**
 * JSON text of any value, however deep, written without recursion (JSON.stringify, and Node-RED's
 * message cloning, overflow the stack a few thousand levels down). Follows JSON.stringify: toJSON
 * is honoured, undefined and functions are left out of objects and become null in arrays; a value
 * that contains itself is written as "[circular]".
 */
export function jsonText(value: unknown): string {
  const out: string[] = [];
  interface Frame {
    container: object;
    keys?: string[];
    next: number;
    wrote: boolean;
  }
  const stack: Frame[] = [];
  const open = new Set<object>();
  const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';
  const write = (v: unknown) => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      if (open.has(v)) {
        out.push('"[circular]"');
        return;
      }
      open.add(v);
      if (Array.isArray(v)) {
        out.push('[');
        stack.push({ container: v, next: 0, wrote: false });
      } else {
        out.push('{');
        stack.push({ container: v, keys: Object.keys(v), next: 0, wrote: false });
      }
      return;
    }
    const text = typeof v === 'bigint' ? JSON.stringify(v.toString()) : JSON.stringify(v);
    out.push(text === undefined ? 'null' : text);
  };
  write(value);
  while (stack.length) {
    const f = stack[stack.length - 1];
    if (!f.keys) {
      const items = f.container as unknown[];
      if (f.next >= items.length) {
        out.push(']');
        open.delete(f.container);
        stack.pop();
        continue;
      }
      if (f.next > 0) out.push(',');
      write(items[f.next++]);
      continue;
    }
    const obj = f.container as Record<string, unknown>;
    while (f.next < f.keys.length && skipped(obj[f.keys[f.next]])) f.next++;
    if (f.next >= f.keys.length) {
      out.push('}');
      open.delete(f.container);
      stack.pop();
      continue;
    }
    if (f.wrote) out.push(',');
    f.wrote = true;
    const key = f.keys[f.next++];
    out.push(JSON.stringify(key), ':');
    write(obj[key]);
  }
  return out.join('');
}
