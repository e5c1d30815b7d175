/**
 * OData v4 as the Business Central simulator reads it: a `$filter` parser and evaluator,
 * `$orderby` and `$select`, for the subset Business Central's API v2.0 speaks. The client's side
 * (literal quoting, query building) is nodes/business-central/odata.ts.
 */

export type FieldType = 'string' | 'number' | 'boolean' | 'date' | 'datetime' | 'guid';

export class ODataError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number; text: string }
  | { kind: 'date'; value: string }
  | { kind: 'guid'; value: string };

export type Operand = { type: 'prop'; name: string } | { type: 'lit'; lit: Literal };
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type Expr =
  | { type: 'and' | 'or'; left: Expr; right: Expr }
  | { type: 'not'; expr: Expr }
  | { type: 'cmp'; op: CompareOp; left: Operand; right: Operand }
  | { type: 'call'; name: 'contains' | 'startswith' | 'endswith'; args: Operand[] };

type Token = { t: 'punct'; v: '(' | ')' | ',' } | { t: 'word'; v: string } | { t: 'lit'; lit: Literal };

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);

function bad(message: string): ODataError {
  return new ODataError(400, 'BadRequest', message);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const rest = () => text.slice(i);
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw bad(`Unterminated string literal in $filter: ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ t: 'lit', lit: { kind: 'string', value } });
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/.exec(rest()))) {
      const ms = Date.parse(m[0]);
      if (Number.isNaN(ms)) throw bad(`'${m[0]}' is not a valid DateTimeOffset`);
      tokens.push({ t: 'lit', lit: { kind: 'datetime', value: ms, text: m[0] } });
      i += m[0].length;
      continue;
    }
    if ((m = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/.exec(rest()))) {
      tokens.push({ t: 'lit', lit: { kind: 'guid', value: m[0].toLowerCase() } });
      i += m[0].length;
      continue;
    }
    if ((m = /^\d{4}-\d{2}-\d{2}(?![\w:])/.exec(rest()))) {
      tokens.push({ t: 'lit', lit: { kind: 'date', value: m[0] } });
      i += m[0].length;
      continue;
    }
    if ((m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])/.exec(rest()))) {
      tokens.push({ t: 'lit', lit: { kind: 'number', value: Number(m[0]) } });
      i += m[0].length;
      continue;
    }
    if ((m = /^[A-Za-z_][\w/]*/.exec(rest()))) {
      const word = m[0];
      if (word === 'true' || word === 'false') tokens.push({ t: 'lit', lit: { kind: 'boolean', value: word === 'true' } });
      else if (word === 'null') tokens.push({ t: 'lit', lit: { kind: 'null' } });
      else tokens.push({ t: 'word', v: word });
      i += word.length;
      continue;
    }
    throw bad(`Syntax error at position ${i} in $filter '${text}'`);
  }
  return tokens;
}

/** Parses a `$filter` expression: eq ne gt ge lt le, and, or, not, parentheses, contains/startswith/endswith. */
export function parseFilter(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (v: string) => peek()?.t === 'word' && (peek() as { v: string }).v === v;
  const expectPunct = (v: string) => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== 'punct' || tok.v !== v) throw bad(`Expected '${v}' in $filter '${text}'`);
  };

  function operand(): Operand {
    const tok = tokens[pos++];
    if (!tok) throw bad(`Unexpected end of $filter '${text}'`);
    if (tok.t === 'lit') return { type: 'lit', lit: tok.lit };
    if (tok.t === 'word' && !COMPARE.has(tok.v) && tok.v !== 'and' && tok.v !== 'or' && tok.v !== 'not') {
      return { type: 'prop', name: tok.v };
    }
    throw bad(`Unexpected '${tok.t === 'punct' ? tok.v : tok.t === 'word' ? tok.v : 'literal'}' in $filter '${text}'`);
  }

  function primary(): Expr {
    const tok = peek();
    if (tok?.t === 'punct' && tok.v === '(') {
      pos++;
      const e = or();
      expectPunct(')');
      return e;
    }
    if (tok?.t === 'word' && FUNCTIONS.has(tok.v) && tokens[pos + 1]?.t === 'punct') {
      pos++;
      expectPunct('(');
      const args = [operand()];
      expectPunct(',');
      args.push(operand());
      expectPunct(')');
      return { type: 'call', name: tok.v as 'contains', args };
    }
    const left = operand();
    const op = tokens[pos++];
    if (!op || op.t !== 'word' || !COMPARE.has(op.v)) throw bad(`Expected a comparison operator (eq, ne, gt, ge, lt, le) in $filter '${text}'`);
    const right = operand();
    return { type: 'cmp', op: op.v as CompareOp, left, right };
  }

  function not(): Expr {
    if (isWord('not')) {
      pos++;
      return { type: 'not', expr: not() };
    }
    return primary();
  }

  function and(): Expr {
    let left = not();
    while (isWord('and')) {
      pos++;
      left = { type: 'and', left, right: not() };
    }
    return left;
  }

  function or(): Expr {
    let left = and();
    while (isWord('or')) {
      pos++;
      left = { type: 'or', left, right: and() };
    }
    return left;
  }

  const expr = or();
  if (pos < tokens.length) throw bad(`Unexpected text after position ${pos} in $filter '${text}'`);
  return expr;
}

export interface EntityType {
  /** e.g. Microsoft.NAV.salesOrder, used in error messages. */
  name: string;
  fields: Record<string, { type: FieldType }>;
}

function fieldOf(type: EntityType, name: string): FieldType {
  const f = type.fields[name];
  if (!f) throw bad(`Could not find a property named '${name}' on type '${type.name}'.`);
  return f.type;
}

const EDM: Record<FieldType, string> = {
  string: 'Edm.String',
  number: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
  date: 'Edm.Date',
  datetime: 'Edm.DateTimeOffset',
  guid: 'Edm.Guid',
};

function literalEdm(l: Literal): string {
  return {
    string: 'Edm.String',
    number: 'Edm.Decimal',
    boolean: 'Edm.Boolean',
    null: 'null',
    datetime: 'Edm.DateTimeOffset',
    date: 'Edm.Date',
    guid: 'Edm.Guid',
  }[l.kind];
}

/** Checks every property exists and every comparison is between compatible types (BC answers 400 otherwise). */
/** The properties an expression names. */
function propsOf(expr: Expr): Set<string> {
  switch (expr.type) {
    case 'and':
    case 'or':
      return new Set([...propsOf(expr.left), ...propsOf(expr.right)]);
    case 'not':
      return propsOf(expr.expr);
    default: {
      const operands = expr.type === 'cmp' ? [expr.left, expr.right] : expr.args;
      return new Set(operands.flatMap((o) => (o.type === 'prop' ? [o.name] : [])));
    }
  }
}

export function checkFilter(expr: Expr, type: EntityType): void {
  switch (expr.type) {
    case 'and':
    case 'or':
      // Business Central's OData refuses an `or` over two different fields (its known limitations).
      if (expr.type === 'or' && propsOf(expr).size > 1)
        throw new ODataError(400, 'BadRequest_NotSupported', "The 'OR' operator is not supported on distinct fields on an OData filter.");
      checkFilter(expr.left, type);
      checkFilter(expr.right, type);
      return;
    case 'not':
      checkFilter(expr.expr, type);
      return;
    case 'call': {
      const [a, b] = expr.args;
      if (a.type !== 'prop' || fieldOf(type, a.name) !== 'string' || b.type !== 'lit' || b.lit.kind !== 'string') {
        throw bad(`${expr.name}() takes a text property and a text literal`);
      }
      return;
    }
    case 'cmp': {
      const types = [expr.left, expr.right].map((o) => (o.type === 'prop' ? EDM[fieldOf(type, o.name)] : literalEdm(o.lit)));
      const [l, r] = types;
      const compatible =
        l === r ||
        l === 'null' ||
        r === 'null' ||
        (l === 'Edm.Date' && r === 'Edm.DateTimeOffset') ||
        (l === 'Edm.DateTimeOffset' && r === 'Edm.Date') ||
        (l === 'Edm.Guid' && r === 'Edm.String') ||
        (l === 'Edm.String' && r === 'Edm.Guid');
      if (!compatible)
        throw bad(`A binary operator with incompatible types was detected. Found operand types '${l}' and '${r}' for operator kind '${expr.op}'.`);
      return;
    }
  }
}

type Value = string | number | boolean | null;

function valueOf(o: Operand, row: Record<string, unknown>, type: EntityType): { v: Value; t: FieldType | 'null' } {
  if (o.type === 'prop') {
    const t = fieldOf(type, o.name);
    const v = row[o.name];
    return { v: v === undefined ? null : (v as Value), t };
  }
  const l = o.lit;
  switch (l.kind) {
    case 'null':
      return { v: null, t: 'null' };
    case 'datetime':
      return { v: l.value, t: 'datetime' };
    default:
      return { v: l.value, t: l.kind };
  }
}

function comparable(a: { v: Value; t: string }, b: { v: Value; t: string }): [Value, Value] {
  // Normalise the two sides to one comparable representation.
  const dt = (x: { v: Value; t: string }) => (x.t === 'datetime' && typeof x.v === 'string' ? Date.parse(x.v) : x.v);
  if (a.t === 'datetime' || b.t === 'datetime') {
    if (a.t === 'date' || b.t === 'date') {
      // Compare on the calendar date.
      const d = (x: { v: Value; t: string }) =>
        x.t === 'date' ? x.v : typeof x.v === 'number' ? new Date(x.v).toISOString().slice(0, 10) : String(x.v).slice(0, 10);
      return [d(a), d(b)];
    }
    return [dt(a), dt(b)];
  }
  if (a.t === 'guid' || b.t === 'guid') return [String(a.v).toLowerCase(), String(b.v).toLowerCase()];
  return [a.v, b.v];
}

export function evaluate(expr: Expr, row: Record<string, unknown>, type: EntityType): boolean {
  switch (expr.type) {
    case 'and':
      return evaluate(expr.left, row, type) && evaluate(expr.right, row, type);
    case 'or':
      return evaluate(expr.left, row, type) || evaluate(expr.right, row, type);
    case 'not':
      return !evaluate(expr.expr, row, type);
    case 'call': {
      const hay = String(valueOf(expr.args[0], row, type).v ?? '');
      const needle = String(valueOf(expr.args[1], row, type).v ?? '');
      if (expr.name === 'contains') return hay.includes(needle);
      if (expr.name === 'startswith') return hay.startsWith(needle);
      return hay.endsWith(needle);
    }
    case 'cmp': {
      const a = valueOf(expr.left, row, type);
      const b = valueOf(expr.right, row, type);
      if (a.v === null || b.v === null) {
        if (expr.op === 'eq') return a.v === b.v;
        if (expr.op === 'ne') return a.v !== b.v;
        return false;
      }
      const [x, y] = comparable(a, b);
      switch (expr.op) {
        case 'eq':
          return x === y;
        case 'ne':
          return x !== y;
        case 'gt':
          return (x as number) > (y as number);
        case 'ge':
          return (x as number) >= (y as number);
        case 'lt':
          return (x as number) < (y as number);
        case 'le':
          return (x as number) <= (y as number);
      }
    }
  }
}

export interface OrderBy {
  field: string;
  desc: boolean;
}

export function parseOrderBy(text: string, type: EntityType): OrderBy[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z_]\w*)(?:\s+(asc|desc))?$/.exec(part);
      if (!m) throw bad(`Invalid $orderby clause '${part}'`);
      fieldOf(type, m[1]);
      return { field: m[1], desc: m[2] === 'desc' };
    });
}

export function compareRows(order: OrderBy[], type: EntityType): (a: Record<string, unknown>, b: Record<string, unknown>) => number {
  return (a, b) => {
    for (const { field, desc } of order) {
      const t = type.fields[field].type;
      let x = a[field] as Value;
      let y = b[field] as Value;
      if (t === 'datetime') {
        x = typeof x === 'string' ? Date.parse(x) : x;
        y = typeof y === 'string' ? Date.parse(y) : y;
      }
      if (x === y) continue;
      if (x === null || x === undefined) return desc ? 1 : -1;
      if (y === null || y === undefined) return desc ? -1 : 1;
      const c = x < y ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  };
}

export function parseSelect(text: string, type: EntityType): string[] {
  const fields = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of fields) fieldOf(type, f);
  return fields;
}
