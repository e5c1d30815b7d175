/**
 * Validation of canonical documents, in this order:
 * 1. bounds (nodes/model/bounds.ts): nesting depth, array lengths and exact integers, checked by
 *    one iterative walk before anything else touches the document, so no input can overflow the
 *    stack or hold up the schema check with a hundred thousand lines;
 * 2. JSON Schema (ajv, draft 2020-12, each schema compiled once);
 * 3. what a schema cannot express about money: a known ISO 4217 currency, one currency per document;
 * 4. the business rules (nodes/model/business-rules.ts): exact sums, signs, unique line ids,
 *    quantities, and dates within a window of now when one is asked for.
 * Errors are sentences a person can act on, e.g. "lines[2].quantity must be > 0". It never throws.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isKnownCurrency } from './currencies';
import { DEFAULT_BOUNDS, DateWindow, walkDocument } from './bounds';
import { businessRuleViolations, RuleViolation } from './business-rules';

export { DEFAULT_BOUNDS, DEFAULT_DATE_WINDOW } from './bounds';
export type { DateWindow, ValidationBounds } from './bounds';
export type { RuleViolation } from './business-rules';

export const SCHEMA_BASE = 'https://schemas.tillwire.dev/v1/';

export const DOCUMENT_TYPES = {
  order: { kind: 'order', schema: 'order.schema.json' },
  sale: { kind: 'sale', schema: 'sale.schema.json' },
  return: { kind: 'return', schema: 'return.schema.json' },
  'inventory-position': { kind: 'inventory.position', schema: 'inventory-position.schema.json' },
  'inventory-adjustment': { kind: 'inventory.adjustment', schema: 'inventory-adjustment.schema.json' },
  'available-to-sell': { kind: 'inventory.ats', schema: 'available-to-sell.schema.json' },
  settlement: { kind: 'settlement', schema: 'settlement.schema.json' },
  'journal-entry': { kind: 'journal', schema: 'journal-entry.schema.json' },
  'till-close': { kind: 'till.close', schema: 'till-close.schema.json' },
  shipment: { kind: 'shipment', schema: 'shipment.schema.json' },
} as const;

export type DocumentType = keyof typeof DOCUMENT_TYPES;

export const SCHEMA_DIR = path.join(__dirname, 'schemas');

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function getAjv(): Ajv2020 {
  if (ajv) return ajv;
  const instance = new Ajv2020({ allErrors: true, strict: true });
  addFormats(instance);
  for (const file of fs
    .readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.schema.json'))
    .sort()) {
    instance.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), 'utf8')));
  }
  ajv = instance;
  return instance;
}

export function schemaValidator(schemaFile: string): ValidateFunction {
  let fn = compiled.get(schemaFile);
  if (!fn) {
    fn = getAjv().getSchema(SCHEMA_BASE + schemaFile);
    if (!fn) throw new Error(`no canonical schema ${schemaFile}`);
    compiled.set(schemaFile, fn);
  }
  return fn;
}

export function isDocumentType(value: unknown): value is DocumentType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DOCUMENT_TYPES, value);
}

export interface ValidationResult {
  valid: boolean;
  errors: string[];
}

/** Bounds for one call; anything left out takes its DEFAULT_BOUNDS value. */
export interface ValidationOptions {
  maxDepth?: number;
  maxLines?: number;
  maxStatementLines?: number;
  maxQuantity?: number;
  /**
   * Compare the document's dates with the clock: they must lie within this window of `now`.
   * Left out, dates are not compared with the clock: a document checked again inside a flow (a
   * ledger day, an ERP write, a replay) is legitimately old. Every input that takes documents in
   * from outside passes one (DEFAULT_DATE_WINDOW unless configured).
   */
  dateWindow?: DateWindow | null;
  /** The clock, for tests (a Date or epoch milliseconds); default Date.now(). */
  now?: Date | number;
}

/**
 * Validates a canonical document of the given type: bounds, schema, money, business rules.
 * Synchronous and never throws, whatever `doc` is.
 */
export function validateDocument(type: DocumentType, doc: unknown, options: ValidationOptions = {}): ValidationResult {
  try {
    const errors = documentProblems(type, doc, options);
    return { valid: errors.length === 0, errors };
  } catch (err) {
    // A defect here must not turn one bad message into a poison message: report it as a rejection.
    return { valid: false, errors: [`the ${type} could not be validated: ${describeThrown(err)}`] };
  }
}

/** Every business rule the document breaks, with its rule name (empty when schema or money fail first). */
export function ruleViolations(type: DocumentType, doc: unknown, options: ValidationOptions = {}): RuleViolation[] {
  try {
    if (preliminaryProblems(type, doc, options).length) return [];
    return businessRuleViolations(type, doc as Record<string, unknown>, ruleContext(options));
  } catch (err) {
    return [{ rule: 'internal', message: `the ${type} could not be validated: ${describeThrown(err)}` }];
  }
}

function documentProblems(type: DocumentType, doc: unknown, options: ValidationOptions): string[] {
  const problems = preliminaryProblems(type, doc, options);
  if (problems.length) return problems;
  return businessRuleViolations(type, doc as Record<string, unknown>, ruleContext(options)).map((v) => v.message);
}

/** Bounds, schema and money: everything the business rules rely on. */
function preliminaryProblems(type: DocumentType, doc: unknown, options: ValidationOptions): string[] {
  if (!isDocumentType(type)) return [`'${String(type)}' is not a canonical document type`];
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const got = doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc;
    return [`payload must be a ${type} object, got ${got}`];
  }
  const walk = walkDocument(
    type,
    doc,
    {
      maxDepth: options.maxDepth ?? DEFAULT_BOUNDS.maxDepth,
      maxLines: options.maxLines ?? DEFAULT_BOUNDS.maxLines,
      maxStatementLines: options.maxStatementLines ?? DEFAULT_BOUNDS.maxStatementLines,
    },
    isKnownCurrency,
  );
  if (walk.problems.length) return walk.problems;
  const fn = schemaValidator(DOCUMENT_TYPES[type].schema);
  const errors = fn(doc) ? [] : dedupeMessages((fn.errors ?? []).map(describeError));
  const docCurrency = (doc as { currency?: unknown }).currency;
  if (typeof docCurrency === 'string' && !isKnownCurrency(docCurrency) && /^[A-Z]{3}$/.test(docCurrency)) {
    errors.push(`currency '${docCurrency}' is not a known ISO 4217 currency`);
  }
  errors.push(...walk.moneyProblems);
  return errors;
}

function ruleContext(options: ValidationOptions) {
  const now = options.now instanceof Date ? options.now.getTime() : typeof options.now === 'number' ? options.now : Date.now();
  return {
    maxQuantity: options.maxQuantity ?? DEFAULT_BOUNDS.maxQuantity,
    ...(options.dateWindow ? { dateWindow: options.dateWindow } : {}),
    now,
  };
}

function describeThrown(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'unknown error';
  }
}

/** Converts an ajv instance path (/lines/2/quantity) to the dotted form people read (lines[2].quantity). */
export function readablePath(instancePath: string): string {
  if (!instancePath) return '';
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function subject(p: string): string {
  return p || 'payload';
}

export function describeError(e: ErrorObject): string {
  const p = readablePath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${p ? p + '.' : ''}${params.missingProperty} is required`;
    case 'additionalProperties':
      return `${subject(p)} has an unknown property '${params.additionalProperty}'`;
    case 'type':
      return `${subject(p)} must be ${article(String(params.type))}`;
    case 'exclusiveMinimum':
      return `${subject(p)} must be > ${params.limit}`;
    case 'minimum':
      return `${subject(p)} must be >= ${params.limit}`;
    case 'exclusiveMaximum':
      return `${subject(p)} must be < ${params.limit}`;
    case 'maximum':
      return `${subject(p)} must be <= ${params.limit}`;
    case 'minItems':
      return `${subject(p)} must have at least ${params.limit} item${params.limit === 1 ? '' : 's'}`;
    case 'minLength':
      return params.limit === 1 ? `${subject(p)} must not be empty` : `${subject(p)} must be at least ${params.limit} characters`;
    case 'maxLength':
      return `${subject(p)} must be at most ${params.limit} characters`;
    case 'enum':
      return `${subject(p)} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${subject(p)} must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return `${subject(p)} has the wrong format (expected to match ${params.pattern})`;
    case 'format':
      return `${subject(p)} must be a valid ${params.format}`;
    case 'not':
      return `${subject(p)} has a value that is not allowed`;
    case 'oneOf':
      return `${subject(p)} must match exactly one allowed form`;
    case 'anyOf':
      return `${subject(p)} must match at least one allowed form`;
    default:
      return `${subject(p)} ${e.message ?? 'is invalid'}`;
  }
}

function article(type: string): string {
  if (type === 'integer') return 'a whole number';
  if (type === 'object') return 'an object';
  if (type === 'array') return 'an array';
  return `a ${type}`;
}

function dedupeMessages(messages: string[]): string[] {
  // oneOf/anyOf repeat the branch errors they summarise; keep each sentence once.
  return [...new Set(messages)];
}

/**
 * The stable business key of a document, used as the default idempotency key
 * (docs/canonical-model.md, "Business keys").
 */
export function businessKey(doc: Record<string, any>): string | undefined {
  const ch = doc.channel ?? {};
  switch (doc.kind) {
    case 'order':
      return ch.system && ch.id ? `order:${ch.system}:${ch.account ?? '-'}:${ch.id}` : undefined;
    case 'sale':
      return doc.storeId && doc.terminalId && doc.saleId ? `sale:${doc.storeId}:${doc.terminalId}:${doc.saleId}` : undefined;
    case 'return':
      return ch.system && doc.returnId ? `return:${ch.system}:${doc.returnId}` : undefined;
    case 'inventory.adjustment':
      return doc.adjustmentId ? `inventory.adjustment:${doc.adjustmentId}` : undefined;
    case 'inventory.position':
      return doc.sku && doc.locationId && doc.asOf ? `inventory.position:${doc.sku}:${doc.locationId}:${doc.asOf}` : undefined;
    case 'inventory.ats':
      return ch.system && doc.sku && doc.computedAt ? `inventory.ats:${ch.system}:${doc.sku}:${doc.computedAt}` : undefined;
    case 'settlement':
      return ch.system && doc.settlementId ? `settlement:${ch.system}:${doc.settlementId}` : undefined;
    case 'journal':
      return doc.journalId ? `journal:${doc.journalId}` : undefined;
    case 'till.close':
      return doc.storeId && doc.terminalId && doc.businessDate ? `till.close:${doc.storeId}:${doc.terminalId}:${doc.businessDate}` : undefined;
    case 'shipment':
      return doc.shipmentId ? `shipment:${doc.source?.system ?? '-'}:${doc.shipmentId}` : undefined;
    default:
      return undefined;
  }
}

/**
 * The channel reference inside an order's business key (`order:<system>:<account or '-'>:<id>`,
 * see businessKey), e.g. for a shipment an ERP read back by that key; undefined for other keys.
 */
export function channelOfOrderKey(key: string): { system: string; account?: string; id: string } | undefined {
  const m = /^order:([^:]+):([^:]+):(.+)$/.exec(key);
  if (!m) return undefined;
  return { system: m[1], ...(m[2] !== '-' ? { account: m[2] } : {}), id: m[3] };
}
