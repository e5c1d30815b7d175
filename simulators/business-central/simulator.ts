/**
 * A Business Central API v2.0 simulator built from the public contract (docs/connectors/business-
 * central.md): bearer auth (static token, or OAuth2 client credentials from its own token
 * endpoint), the `/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/…` route shape,
 * salesOrders with deep-inserted salesOrderLines and computed read-only totals, items (read-only
 * `inventory`), customers, accounts, companyInformation, journals/journalLines with
 * `Microsoft.NAV.post`, `Microsoft.NAV.shipAndInvoice` (posts the order into salesInvoices),
 * OData `$filter/$select/$expand/$top/$skip/$orderby/$count`, server-driven paging
 * (`Prefer: odata.maxpagesize` → `@odata.nextLink`, 413 above the maximum page), `@odata.etag` with
 * `If-Match` required on PATCH/DELETE, per-user sliding-window and concurrency throttling (429,
 * 503 + Retry-After, 504 past the gateway timeout), webhook subscriptions with the validation
 * handshake, and fault injection for tests (`faults`).
 *
 * salesCreditMemos with deep-inserted salesCreditMemoLines (same totals; `invoiceId`/`invoiceNumber`
 * apply one to a posted invoice of the same customer), salesShipments/salesShipmentLines
 * (read-only, posted by the `postShipment` test hook), DELETE of a sales order refused while it
 * has shipped, uninvoiced lines.
 *
 * Test hooks (no auth): `GET /__simulator/state`, `POST /__simulator/faults`,
 * `POST /__simulator/reset`, `POST /__simulator/items`, `POST /__simulator/shipments`.
 *
 * CLI: `node dist/simulators/business-central/simulator.js --port 18070` (see `--help`).
 */
import { FaultInjector, type FaultRates } from '../kit/faults';
import { COMMON_FLAGS, FAULT_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { demoCatalog } from '../kit/catalog';
import { CURRENCY_EXPONENTS } from '../../nodes/model/currencies';
import { divRound, rescale, scaledNumber, toScaled } from '../../nodes/business-central/decimal';
import { BATCH_MAX_REQUESTS, DESCRIPTION_MAX, EXTERNAL_DOCUMENT_NUMBER_MAX, ITEM_NUMBER_MAX } from '../../nodes/business-central/contract';
import { checkFilter, compareRows, EntityType, evaluate, Expr, FieldType, ODataError, parseFilter, parseOrderBy, parseSelect } from './odata';

// ---- options --------------------------------------------------------------------------------

/**
 * The kit's fault rates (simulators/kit/faults.ts): an error is 500, 503 (with Retry-After) or
 * 429; a timeout is never answered (the socket stays open until the client gives up); slowRate is
 * not used here (latency is the throttle's).
 */
export interface Faults extends Omit<FaultRates, 'slowRate'> {
  /** Statuses errorRate picks from, in turn (default 500, 503, 429). */
  errorStatuses?: number[];
}

/** An inner `$batch` request answered with a failure (see `setBatchFaults`). */
export interface BatchFault {
  /** Text in the inner request's URL or body (say, an externalDocumentNumber). */
  match: string;
  status: number;
  times?: number;
  /** Carry the request out first, then answer the failure (its outcome unknown to the client). */
  done?: boolean;
}

export interface ThrottleOptions {
  /** Sliding window length (BC online: 5 minutes). */
  windowMs: number;
  /** Requests per user per window (BC online: 6,000). */
  maxRequests: number;
  /** Requests processed at once (more are queued). */
  maxConcurrent: number;
  /** Requests waiting for a slot; beyond that 429. */
  maxQueue: number;
  /** A queued request waiting longer gets 503 with Retry-After (BC online: 8 minutes). */
  queueTimeoutMs: number;
  /** Retry-After seconds sent with 503. */
  retryAfterSeconds: number;
}

export interface ItemSeed {
  number: string;
  displayName?: string;
  /** Unit price in the company's local currency, as a JSON number (BC's representation). */
  unitPrice?: number;
  inventory?: number;
  /** VAT / sales tax percent applied to lines of this item, e.g. 20. */
  taxPercent?: number;
  blocked?: boolean;
  type?: 'Inventory' | 'Service' | 'Non-Inventory';
  gtin?: string;
}

export interface CustomerSeed {
  number: string;
  displayName: string;
  /** BC's "Prices Including VAT" on the customer: decides `pricesIncludeTax` of its orders. */
  pricesIncludeTax?: boolean;
  blocked?: boolean;
  email?: string;
}

export interface AccountSeed {
  number: string;
  displayName: string;
  taxPercent?: number;
  category?: string;
}

export interface SubscriptionOptions {
  /** Delay that collects changes into one notification (BC: about 30 s). */
  notificationDelayMs: number;
  /** More changes than this in one notification become one `collection` change. */
  collectionThreshold: number;
  /** Waits before each retry of a notification answered 408, 429 or 5xx (or not answered). */
  retryDelaysMs: number[];
  /** Lifetime of a subscription (BC: 3 days). */
  lifetimeMs: number;
  /** Time allowed for the subscriber's handshake and notification answers. */
  callTimeoutMs: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  tenant?: string;
  environment?: string;
  companyId?: string;
  companyName?: string;
  /** The static bearer token accepted (default tillwire-demo-token). */
  token?: string;
  /** Client-credentials pairs the token endpoint accepts. */
  clients?: Array<{ clientId: string; clientSecret: string }>;
  tokenTtlSeconds?: number;
  /** The company's local currency (LCY), default GBP. Orders in LCY leave currencyCode blank. */
  currency?: string;
  /** Seed the demo catalogue (SKU-0001…SKU-0500) as items; default true. */
  catalog?: boolean;
  items?: ItemSeed[];
  customers?: CustomerSeed[];
  accounts?: AccountSeed[];
  throttle?: Partial<ThrottleOptions>;
  /** Processing time of every API request (makes the concurrency limit observable). */
  latencyMs?: number;
  /** A request that takes longer than this (queue + processing) is answered 504 (its work is done). */
  gatewayTimeoutMs?: number;
  /** Largest page (BC online: 20,000); a larger odata.maxpagesize is answered 413. */
  maxPageSize?: number;
  faults?: Faults;
  subscriptions?: Partial<SubscriptionOptions>;
  log?: (line: string) => void;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  windowMs: 5 * 60_000,
  maxRequests: 6000,
  maxConcurrent: 5,
  maxQueue: 95,
  queueTimeoutMs: 8 * 60_000,
  retryAfterSeconds: 1,
};

const DEFAULT_SUBSCRIPTIONS: SubscriptionOptions = {
  notificationDelayMs: 30_000,
  collectionThreshold: 1000,
  retryDelaysMs: [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 4 * 60 * 60_000, 12 * 60 * 60_000, 18 * 60 * 60_000],
  lifetimeMs: 3 * 24 * 60 * 60_000,
  callTimeoutMs: 5_000,
};

export const DEFAULT_CUSTOMERS: CustomerSeed[] = [
  { number: '10000', displayName: 'Tillwire store sales (prices incl. tax)', pricesIncludeTax: true },
  { number: '20000', displayName: 'Tillwire web sales (tax added)', pricesIncludeTax: false },
];

export const DEFAULT_ACCOUNTS: AccountSeed[] = [
  { number: '1100', displayName: 'Bank', category: 'Assets' },
  { number: '1200', displayName: 'Marketplace receivable', category: 'Assets' },
  { number: '2200', displayName: 'Sales tax payable', category: 'Liabilities' },
  { number: '4000', displayName: 'Sales', category: 'Income' },
  { number: '4400', displayName: 'Shipping charges', category: 'Income' },
  { number: '6100', displayName: 'Marketplace fees', category: 'Expense' },
];

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const BLANK_DATE = '0001-01-01';
const AMOUNT_SCALE = 5; // BC's unit-amount precision (0.00001)

// ---- entity model ---------------------------------------------------------------------------

interface FieldDef {
  type: FieldType;
  /** Read-only: a POST or PATCH that sets it is answered 400. */
  ro?: boolean;
  max?: number;
  /** A Code field: upper-cased on write, like BC does. */
  code?: boolean;
}

interface SetDef extends EntityType {
  set: string;
  fields: Record<string, FieldDef>;
  create?: boolean;
  update?: boolean;
  remove?: boolean;
  /** Navigation property → child set, and the child's key field pointing back. */
  nav?: Record<string, { set: string; parentKey: string }>;
}

const f = (type: FieldType, extra: Omit<FieldDef, 'type'> = {}): FieldDef => ({ type, ...extra });
const ro = (type: FieldType): FieldDef => ({ type, ro: true });
const str = (max: number, code = false): FieldDef => ({ type: 'string', max, code });

const ADDRESS = (prefix: string): Record<string, FieldDef> => ({
  [`${prefix}AddressLine1`]: str(100),
  [`${prefix}AddressLine2`]: str(50),
  [`${prefix}City`]: str(30),
  [`${prefix}Country`]: str(10, true),
  [`${prefix}State`]: str(30),
  [`${prefix}PostCode`]: str(20, true),
});

const roAddress = (prefix: string): Record<string, FieldDef> => Object.fromEntries(Object.keys(ADDRESS(prefix)).map((k) => [k, ro('string')]));

/** Document header set → its line set (documents whose totals are computed from lines). */
const LINE_SET: Record<string, string> = { salesOrders: 'salesOrderLines', salesCreditMemos: 'salesCreditMemoLines' };
/** Line set → its header set. */
const HEADER_SET: Record<string, string> = { salesOrderLines: 'salesOrders', salesCreditMemoLines: 'salesCreditMemos' };

/** The fields every sales document line has (order lines add shipping and invoicing quantities). */
const DOCUMENT_LINE_FIELDS: Record<string, FieldDef> = {
  id: ro('guid'),
  documentId: f('guid'),
  sequence: f('number'),
  itemId: f('guid'),
  accountId: f('guid'),
  lineType: f('string'),
  lineObjectNumber: str(ITEM_NUMBER_MAX, true),
  description: str(DESCRIPTION_MAX),
  description2: str(50),
  unitOfMeasureCode: str(10, true),
  unitPrice: f('number'),
  quantity: f('number'),
  discountAmount: f('number'),
  discountPercent: f('number'),
  discountAppliedBeforeTax: ro('boolean'),
  amountExcludingTax: ro('number'),
  taxCode: str(20, true),
  taxPercent: ro('number'),
  totalTaxAmount: ro('number'),
  amountIncludingTax: ro('number'),
  invoiceDiscountAllocation: ro('number'),
  netAmount: ro('number'),
  netTaxAmount: ro('number'),
  netAmountIncludingTax: ro('number'),
  shipmentDate: f('date'),
  itemVariantId: f('guid'),
  locationId: f('guid'),
};

const SETS: Record<string, SetDef> = {
  companyInformation: {
    set: 'companyInformation',
    name: 'Microsoft.NAV.companyInformation',
    update: true,
    fields: {
      id: ro('guid'),
      displayName: str(100),
      currencyCode: ro('string'),
      country: str(10, true),
      email: str(80),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  items: {
    set: 'items',
    name: 'Microsoft.NAV.item',
    create: true,
    update: true,
    remove: true,
    fields: {
      id: ro('guid'),
      number: str(ITEM_NUMBER_MAX, true),
      displayName: str(100),
      type: f('string'),
      itemCategoryId: f('guid'),
      itemCategoryCode: str(20, true),
      blocked: f('boolean'),
      gtin: str(14, true),
      inventory: ro('number'),
      unitPrice: f('number'),
      priceIncludesTax: f('boolean'),
      unitCost: f('number'),
      taxGroupCode: str(20, true),
      baseUnitOfMeasureCode: str(10, true),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  customers: {
    set: 'customers',
    name: 'Microsoft.NAV.customer',
    fields: {
      id: ro('guid'),
      number: str(20, true),
      displayName: str(100),
      type: f('string'),
      email: str(80),
      currencyCode: str(10, true),
      blocked: f('string'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  accounts: {
    set: 'accounts',
    name: 'Microsoft.NAV.account',
    fields: {
      id: ro('guid'),
      number: str(20, true),
      displayName: str(100),
      category: f('string'),
      blocked: f('boolean'),
      directPosting: f('boolean'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  salesOrders: {
    set: 'salesOrders',
    name: 'Microsoft.NAV.salesOrder',
    create: true,
    update: true,
    remove: true,
    nav: { salesOrderLines: { set: 'salesOrderLines', parentKey: 'documentId' } },
    fields: {
      id: ro('guid'),
      number: str(20, true),
      externalDocumentNumber: str(EXTERNAL_DOCUMENT_NUMBER_MAX, true),
      orderDate: f('date'),
      postingDate: f('date'),
      customerId: f('guid'),
      customerNumber: str(20, true),
      customerName: str(100),
      billToName: str(100),
      billToCustomerId: f('guid'),
      billToCustomerNumber: str(20, true),
      shipToName: str(100),
      shipToContact: str(100),
      ...ADDRESS('sellTo'),
      ...ADDRESS('billTo'),
      ...ADDRESS('shipTo'),
      currencyId: f('guid'),
      currencyCode: str(10, true),
      pricesIncludeTax: ro('boolean'),
      paymentTermsId: f('guid'),
      shipmentMethodId: f('guid'),
      salesperson: str(20, true),
      partialShipping: f('boolean'),
      requestedDeliveryDate: f('date'),
      discountAmount: f('number'),
      discountAppliedBeforeTax: ro('boolean'),
      totalAmountExcludingTax: ro('number'),
      totalTaxAmount: ro('number'),
      totalAmountIncludingTax: ro('number'),
      fullyShipped: ro('boolean'),
      status: ro('string'),
      lastModifiedDateTime: ro('datetime'),
      phoneNumber: str(30),
      email: str(80),
    },
  },
  salesOrderLines: {
    set: 'salesOrderLines',
    name: 'Microsoft.NAV.salesOrderLine',
    create: true,
    update: true,
    remove: true,
    fields: {
      ...DOCUMENT_LINE_FIELDS,
      shippedQuantity: ro('number'),
      invoicedQuantity: ro('number'),
      invoiceQuantity: f('number'),
      shipQuantity: f('number'),
    },
  },
  salesInvoices: {
    set: 'salesInvoices',
    name: 'Microsoft.NAV.salesInvoice',
    fields: {
      id: ro('guid'),
      number: ro('string'),
      externalDocumentNumber: ro('string'),
      orderNumber: ro('string'),
      invoiceDate: ro('date'),
      postingDate: ro('date'),
      customerId: ro('guid'),
      customerNumber: ro('string'),
      customerName: ro('string'),
      currencyCode: ro('string'),
      pricesIncludeTax: ro('boolean'),
      discountAmount: ro('number'),
      totalAmountExcludingTax: ro('number'),
      totalTaxAmount: ro('number'),
      totalAmountIncludingTax: ro('number'),
      status: ro('string'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  salesCreditMemos: {
    set: 'salesCreditMemos',
    name: 'Microsoft.NAV.salesCreditMemo',
    create: true,
    update: true,
    remove: true,
    nav: { salesCreditMemoLines: { set: 'salesCreditMemoLines', parentKey: 'documentId' } },
    fields: {
      id: ro('guid'),
      number: str(20, true),
      externalDocumentNumber: str(EXTERNAL_DOCUMENT_NUMBER_MAX, true),
      creditMemoDate: f('date'),
      postingDate: f('date'),
      dueDate: f('date'),
      customerId: f('guid'),
      customerNumber: str(20, true),
      customerName: str(100),
      billToName: str(100),
      billToCustomerId: f('guid'),
      billToCustomerNumber: str(20, true),
      ...ADDRESS('sellTo'),
      ...ADDRESS('billTo'),
      currencyId: f('guid'),
      currencyCode: str(10, true),
      paymentTermsId: f('guid'),
      shipmentMethodId: f('guid'),
      salesperson: str(20, true),
      pricesIncludeTax: ro('boolean'),
      discountAmount: f('number'),
      discountAppliedBeforeTax: ro('boolean'),
      totalAmountExcludingTax: ro('number'),
      totalTaxAmount: ro('number'),
      totalAmountIncludingTax: ro('number'),
      status: ro('string'),
      lastModifiedDateTime: ro('datetime'),
      invoiceId: f('guid'),
      invoiceNumber: str(20, true),
      phoneNumber: str(30),
      email: str(80),
      customerReturnReasonId: f('guid'),
    },
  },
  salesCreditMemoLines: {
    set: 'salesCreditMemoLines',
    name: 'Microsoft.NAV.salesCreditMemoLine',
    create: true,
    update: true,
    remove: true,
    fields: DOCUMENT_LINE_FIELDS,
  },
  salesShipments: {
    set: 'salesShipments',
    name: 'Microsoft.NAV.salesShipment',
    nav: { salesShipmentLines: { set: 'salesShipmentLines', parentKey: 'documentId' } },
    fields: {
      id: ro('guid'),
      number: ro('string'),
      externalDocumentNumber: ro('string'),
      orderNumber: ro('string'),
      invoiceDate: ro('date'),
      postingDate: ro('date'),
      dueDate: ro('date'),
      customerPurchaseOrderReference: ro('string'),
      customerNumber: ro('string'),
      customerName: ro('string'),
      billToName: ro('string'),
      billToCustomerNumber: ro('string'),
      shipToName: ro('string'),
      shipToContact: ro('string'),
      ...roAddress('sellTo'),
      ...roAddress('billTo'),
      ...roAddress('shipTo'),
      currencyCode: ro('string'),
      paymentTermsCode: ro('string'),
      shipmentMethodCode: ro('string'),
      salesperson: ro('string'),
      pricesIncludeTax: ro('boolean'),
      lastModifiedDateTime: ro('datetime'),
      phoneNumber: ro('string'),
      email: ro('string'),
    },
  },
  salesShipmentLines: {
    set: 'salesShipmentLines',
    name: 'Microsoft.NAV.salesShipmentLine',
    fields: {
      id: ro('guid'),
      documentId: ro('guid'),
      documentNo: ro('string'),
      sequence: ro('number'),
      lineType: ro('string'),
      lineObjectNumber: ro('string'),
      description: ro('string'),
      description2: ro('string'),
      unitOfMeasureCode: ro('string'),
      unitPrice: ro('number'),
      quantity: ro('number'),
      discountPercent: ro('number'),
      taxPercent: ro('number'),
      shipmentDate: ro('date'),
      itemVariantId: ro('guid'),
      locationId: ro('guid'),
    },
  },
  journals: {
    set: 'journals',
    name: 'Microsoft.NAV.journal',
    create: true,
    update: true,
    remove: true,
    nav: { journalLines: { set: 'journalLines', parentKey: 'journalId' } },
    fields: {
      id: ro('guid'),
      code: str(10, true),
      displayName: str(100),
      templateDisplayName: ro('string'),
      balancingAccountId: f('guid'),
      balancingAccountNumber: ro('string'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  journalLines: {
    set: 'journalLines',
    name: 'Microsoft.NAV.journalLine',
    create: true,
    update: true,
    remove: true,
    fields: {
      id: ro('guid'),
      journalId: f('guid'),
      journalDisplayName: ro('string'),
      lineNumber: f('number'),
      accountType: f('string'),
      accountId: f('guid'),
      accountNumber: str(20, true),
      postingDate: f('date'),
      documentNumber: str(20, true),
      externalDocumentNumber: str(EXTERNAL_DOCUMENT_NUMBER_MAX, true),
      amount: f('number'),
      description: str(100),
      comment: str(250),
      taxCode: str(20, true),
      balanceAccountType: f('string'),
      balancingAccountId: f('guid'),
      balancingAccountNumber: str(20, true),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  itemLedgerEntries: {
    set: 'itemLedgerEntries',
    name: 'Microsoft.NAV.itemLedgerEntry',
    fields: {
      id: ro('guid'),
      entryNumber: ro('number'),
      itemNumber: ro('string'),
      postingDate: ro('date'),
      entryType: ro('string'),
      sourceNumber: ro('string'),
      sourceType: ro('string'),
      documentNumber: ro('string'),
      documentType: ro('string'),
      description: ro('string'),
      quantity: ro('number'),
      salesAmountActual: ro('number'),
      costAmountActual: ro('number'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
  generalLedgerEntries: {
    set: 'generalLedgerEntries',
    name: 'Microsoft.NAV.generalLedgerEntry',
    fields: {
      id: ro('guid'),
      entryNumber: ro('number'),
      postingDate: ro('date'),
      documentNumber: ro('string'),
      documentType: ro('string'),
      accountId: ro('guid'),
      accountNumber: ro('string'),
      description: ro('string'),
      debitAmount: ro('number'),
      creditAmount: ro('number'),
      lastModifiedDateTime: ro('datetime'),
    },
  },
};

interface Row {
  data: Record<string, unknown>;
  version: number;
  seq: number;
  /** Simulator-only facts not exposed by the API (tax percent, prices-including-tax). */
  hidden: Record<string, unknown>;
}

interface Subscription {
  data: Record<string, any>;
  version: number;
  set: string;
  pending: Array<{ resource: string; changeType: string; lastModifiedDateTime: string }>;
  timer?: NodeJS.Timeout;
  delivering: boolean;
}

export interface OrderSummary {
  document: 'salesOrder' | 'salesInvoice';
  id: string;
  number: string;
  customerNumber: string;
  currencyCode: string;
  lines: number;
  totalAmountExcludingTax: number;
  totalTaxAmount: number;
  totalAmountIncludingTax: number;
  status: string;
}

export interface SimulatorState {
  counts: Record<string, number>;
  requests: {
    total: number;
    byStatus: Record<string, number>;
    throttled: number;
    faults: { errors: number; timeouts: number; lostResponses: number };
    /** `$batch` calls and the inner requests they carried. */
    batch: { batches: number; requests: number };
  };
  /** Every sales order and posted invoice, grouped by externalDocumentNumber. */
  orders: Record<string, OrderSummary[]>;
  /** Every sales credit memo, grouped by externalDocumentNumber. */
  creditMemos: Record<string, CreditMemoSummary[]>;
}

export interface CreditMemoSummary {
  id: string;
  number: string;
  customerNumber: string;
  currencyCode: string;
  invoiceId: string;
  invoiceNumber: string;
  lines: number;
  totalAmountExcludingTax: number;
  totalTaxAmount: number;
  totalAmountIncludingTax: number;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

// ---- the simulator ---------------------------------------------------------------------------

/** Fields the simulator keeps an index of (`BusinessCentralSimulator.indexes`). */
const INDEXED_FIELDS = ['documentId', 'externalDocumentNumber', 'number'];

/** Indexed text fields a `$filter` may be answered from (a GUID compares without case, so `documentId` is not one). */
const FILTER_INDEXED_FIELDS = ['externalDocumentNumber', 'number'];

/** The values a filter allows for one indexed text field: `f eq 'a'`, or such comparisons joined by `or`, all on one field; otherwise undefined. */
function indexedValues(expr: Expr): { field: string; values: string[] } | undefined {
  if (expr.type === 'or') {
    const left = indexedValues(expr.left);
    const right = indexedValues(expr.right);
    return left && right && left.field === right.field ? { field: left.field, values: [...left.values, ...right.values] } : undefined;
  }
  if (expr.type !== 'cmp' || expr.op !== 'eq') return undefined;
  const [prop, lit] = expr.left.type === 'prop' ? [expr.left, expr.right] : [expr.right, expr.left];
  if (prop.type !== 'prop' || lit.type !== 'lit' || lit.lit.kind !== 'string' || !FILTER_INDEXED_FIELDS.includes(prop.name)) return undefined;
  // Blank values are not indexed (most rows have them): such a filter scans.
  return lit.lit.value === '' ? undefined : { field: prop.name, values: [lit.lit.value] };
}

export class BusinessCentralSimulator {
  readonly tenant: string;
  readonly environment: string;
  readonly companyId: string;
  readonly companyName: string;
  readonly token: string;
  readonly currency: string;
  readonly clients: Array<{ clientId: string; clientSecret: string }>;
  throttle: ThrottleOptions;
  latencyMs: number;
  gatewayTimeoutMs: number;
  maxPageSize: number;
  readonly subscriptionOptions: SubscriptionOptions;

  private server?: http.Server;
  private port = 0;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly log: (line: string) => void;
  private faults: Required<Faults> = { errorRate: 0, timeoutRate: 0, lostResponseRate: 0, seed: 1, errorStatuses: [500, 503, 429] };
  private readonly injector = new FaultInjector();
  private errorTurn = 0;
  private batchFaults: { loseAnswers: number; requests: Array<BatchFault & { times: number }> } = { loseAnswers: 0, requests: [] };
  /**
   * Tests: awaited before each `$batch` (numbered from 1; its inner requests as "METHOD url") is
   * carried out, so a test can hold one at a known point instead of racing it (cleared by `reset`).
   */
  beforeBatch?: (n: number, requests: string[]) => Promise<void>;

  private tables = new Map<string, Map<string, Row>>();
  /**
   * Row ids by the value of a field BC finds through an index of its own (a document's lines by
   * `documentId`, documents by `externalDocumentNumber` or `number`), per set. Scanning every row
   * for each look-up made a long benchmark run measure the simulator rather than its client. A row
   * is indexed when it is inserted and again when it is touched; a look-up checks each candidate
   * against the row as it is now, so entries left behind by a change or a delete do no harm.
   */
  private indexes = new Map<string, Map<string, Set<string>>>();
  private seq = 0;
  private orderNo = 101000;
  private invoiceNo = 103000;
  private creditMemoNo = 104000;
  private shipmentNo = 102000;
  private glEntryNo = 0;
  private itemEntryNo = 0;
  private readonly issuedTokens = new Map<string, { principal: string; expiresAt: number }>();
  private readonly windows = new Map<string, number[]>();
  private active = 0;
  private readonly queue: Array<{ grant: () => void; fail: (e: HttpFailure) => void; timer: NodeJS.Timeout }> = [];
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stats = this.freshStats();
  private closed = false;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.tenant = options.tenant ?? 'tillwire';
    this.environment = options.environment ?? 'sandbox';
    this.companyId = (options.companyId ?? '7d6a4b4e-8a3c-4f55-9b1e-2f0c6d9e1a01').toLowerCase();
    this.companyName = options.companyName ?? 'Tillwire Demo Retail';
    this.token = options.token ?? 'tillwire-demo-token';
    this.currency = options.currency ?? 'GBP';
    if (!CURRENCY_EXPONENTS.has(this.currency)) throw new Error(`unknown local currency ${this.currency}`);
    this.clients = options.clients ?? [{ clientId: 'tillwire-demo-client', clientSecret: 'tillwire-demo-secret' }];
    this.throttle = { ...DEFAULT_THROTTLE, ...options.throttle };
    this.latencyMs = options.latencyMs ?? 0;
    this.gatewayTimeoutMs = options.gatewayTimeoutMs ?? 10 * 60_000;
    this.maxPageSize = options.maxPageSize ?? 20_000;
    this.subscriptionOptions = { ...DEFAULT_SUBSCRIPTIONS, ...options.subscriptions };
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.log = options.log ?? (() => undefined);
    this.setFaults(options.faults ?? {});
    this.seed();
  }

  // ---- lifecycle ----

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log(`internal error: ${(err as Error).stack}`);
        if (!res.headersSent) this.sendError(res, new HttpFailure(500, 'Internal_ServerError', 'Internal simulator error'));
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.requestedPort, this.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.subscriptions.values()) if (s.timer) clearTimeout(s.timer);
    for (const q of this.queue.splice(0)) clearTimeout(q.timer);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** http://127.0.0.1:port */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The base URL a client is configured with (what replaces https://api.businesscentral.dynamics.com). */
  get baseUrl(): string {
    return this.url;
  }

  get apiRoot(): string {
    return `${this.url}/v2.0/${this.tenant}/${this.environment}/api/v2.0`;
  }

  /** …/api/v2.0/companies({companyId}) */
  get companyUrl(): string {
    return `${this.apiRoot}/companies(${this.companyId})`;
  }

  get tokenUrl(): string {
    return `${this.url}/${this.tenant}/oauth2/v2.0/token`;
  }

  // ---- test controls ----

  setFaults(faults: Faults): void {
    // The seed stays what it was unless a new one is given.
    this.injector.set({ ...faults, slowRate: 0 }, this.faults.seed);
    const { errorRate, timeoutRate, lostResponseRate, seed } = this.injector.settings;
    this.faults = { errorRate, timeoutRate, lostResponseRate, seed, errorStatuses: faults.errorStatuses?.length ? faults.errorStatuses : [500, 503, 429] };
    this.errorTurn = 0;
  }

  /**
   * Deterministic `$batch` faults for tests: the next `loseAnswers` batches that write are carried
   * out and their answer lost; each of `requests` answers the inner requests whose URL or body
   * contains `match` with `status`, `times` times, before anything is done (or after, `done`).
   */
  setBatchFaults(faults: { loseAnswers?: number; requests?: BatchFault[] }): void {
    this.batchFaults = { loseAnswers: faults.loseAnswers ?? 0, requests: (faults.requests ?? []).map((r) => ({ ...r, times: r.times ?? 1 })) };
  }

  getFaults(): Faults {
    return { ...this.faults };
  }

  /** Back to the seeded data (items, customers, accounts, one journal), counters cleared, faults off. */
  reset(): void {
    for (const s of this.subscriptions.values()) if (s.timer) clearTimeout(s.timer);
    this.subscriptions.clear();
    this.windows.clear();
    this.issuedTokens.clear();
    this.stats = this.freshStats();
    this.setFaults({ seed: this.faults.seed });
    this.batchFaults = { loseAnswers: 0, requests: [] };
    this.beforeBatch = undefined;
    this.seed();
  }

  /**
   * Adds or changes items (there is no standard API to set stock in BC, so tests use this). A
   * change of `inventory` is posted as an item ledger entry (a positive or negative adjustment), as
   * BC's `inventory` is the sum of the item's entries; the item's own record is not modified by it.
   */
  upsertItems(items: ItemSeed[]): void {
    for (const it of items) {
      const existing = this.findBy('items', 'number', it.number.toUpperCase());
      if (existing) {
        const d = existing.data;
        if (it.displayName !== undefined) d.displayName = it.displayName;
        if (it.unitPrice !== undefined) d.unitPrice = it.unitPrice;
        if (it.inventory !== undefined) {
          this.postItemEntry(String(d.number), it.inventory - Number(d.inventory ?? 0));
          d.inventory = it.inventory;
        }
        if (it.blocked !== undefined) d.blocked = it.blocked;
        if (it.type !== undefined) d.type = it.type;
        if (it.gtin !== undefined) d.gtin = it.gtin;
        if (it.taxPercent !== undefined) existing.hidden.taxPercent = it.taxPercent;
        this.touch('items', existing);
      } else {
        this.insert(
          'items',
          {
            number: it.number.toUpperCase(),
            displayName: it.displayName ?? it.number,
            type: it.type ?? 'Inventory',
            blocked: it.blocked ?? false,
            gtin: it.gtin ?? '',
            inventory: it.inventory ?? 0,
            unitPrice: it.unitPrice ?? 0,
            priceIncludesTax: false,
            unitCost: 0,
            baseUnitOfMeasureCode: 'PCS',
          },
          { taxPercent: it.taxPercent ?? 0 },
        );
        this.postItemEntry(it.number.toUpperCase(), it.inventory ?? 0);
      }
    }
  }

  /**
   * Posts a stock adjustment of `quantity` units of an item as an item ledger entry, its inventory
   * moved by it. `entryNumber` below the newest simulates an entry that commits after a higher one
   * was read (BC can post item ledger entries from several sessions at once).
   */
  postItemLedgerEntry(itemNumber: string, quantity: number, entryNumber?: number): void {
    const item = this.findBy('items', 'number', itemNumber.toUpperCase());
    if (!item) throw new HttpFailure(404, 'NotFound', `no item ${itemNumber}`);
    item.data.inventory = Number(item.data.inventory ?? 0) + quantity;
    this.postItemEntry(String(item.data.number), quantity, entryNumber);
  }

  /** An item ledger entry for a stock adjustment of `quantity` units (none for 0). */
  private postItemEntry(itemNumber: string, quantity: number, entryNumber?: number): void {
    if (quantity === 0) return;
    this.insert('itemLedgerEntries', {
      entryNumber: entryNumber ?? ++this.itemEntryNo,
      itemNumber,
      postingDate: new Date().toISOString().slice(0, 10),
      entryType: quantity > 0 ? 'Positive_x0020_Adjmt_x002E_' : 'Negative_x0020_Adjmt_x002E_',
      sourceNumber: '',
      sourceType: '_x0020_',
      documentNumber: 'SIM-ADJ',
      documentType: '_x0020_',
      description: '',
      quantity,
      salesAmountActual: 0,
      costAmountActual: 0,
    });
  }

  state(): SimulatorState {
    const counts: Record<string, number> = {};
    for (const [name, table] of this.tables) counts[name] = table.size;
    counts.subscriptions = this.subscriptions.size;
    const orders: Record<string, OrderSummary[]> = {};
    const add = (edn: string, s: OrderSummary) => (orders[edn] ??= []).push(s);
    for (const row of this.table('salesOrders').values()) {
      const d = row.data;
      add(String(d.externalDocumentNumber), {
        document: 'salesOrder',
        id: String(d.id),
        number: String(d.number),
        customerNumber: String(d.customerNumber),
        currencyCode: String(d.currencyCode),
        lines: this.linesOf(String(d.id)).length,
        totalAmountExcludingTax: d.totalAmountExcludingTax as number,
        totalTaxAmount: d.totalTaxAmount as number,
        totalAmountIncludingTax: d.totalAmountIncludingTax as number,
        status: String(d.status),
      });
    }
    for (const row of this.table('salesInvoices').values()) {
      const d = row.data;
      add(String(d.externalDocumentNumber), {
        document: 'salesInvoice',
        id: String(d.id),
        number: String(d.number),
        customerNumber: String(d.customerNumber),
        currencyCode: String(d.currencyCode),
        lines: Number(row.hidden.lines ?? 0),
        totalAmountExcludingTax: d.totalAmountExcludingTax as number,
        totalTaxAmount: d.totalTaxAmount as number,
        totalAmountIncludingTax: d.totalAmountIncludingTax as number,
        status: String(d.status),
      });
    }
    const creditMemos: Record<string, CreditMemoSummary[]> = {};
    for (const row of this.table('salesCreditMemos').values()) {
      const d = row.data;
      (creditMemos[String(d.externalDocumentNumber)] ??= []).push({
        id: String(d.id),
        number: String(d.number),
        customerNumber: String(d.customerNumber),
        currencyCode: String(d.currencyCode),
        invoiceId: String(d.invoiceId),
        invoiceNumber: String(d.invoiceNumber),
        lines: this.linesOf(String(d.id), 'salesCreditMemoLines').length,
        totalAmountExcludingTax: d.totalAmountExcludingTax as number,
        totalTaxAmount: d.totalTaxAmount as number,
        totalAmountIncludingTax: d.totalAmountIncludingTax as number,
      });
    }
    return { counts, requests: JSON.parse(JSON.stringify(this.stats)), orders, creditMemos };
  }

  /** The stored entities of a set, as the API would show them (without @odata annotations). */
  rows(set: string): Array<Record<string, unknown>> {
    return [...this.table(set).values()].map((r) => ({ ...r.data }));
  }

  // ---- seed data ----

  private freshStats(): SimulatorState['requests'] {
    return { total: 0, byStatus: {}, throttled: 0, faults: { errors: 0, timeouts: 0, lostResponses: 0 }, batch: { batches: 0, requests: 0 } };
  }

  private seed(): void {
    this.tables = new Map(Object.keys(SETS).map((k) => [k, new Map<string, Row>()]));
    this.indexes = new Map();
    this.seq = 0;
    this.orderNo = 101000;
    this.invoiceNo = 103000;
    this.creditMemoNo = 104000;
    this.shipmentNo = 102000;
    this.glEntryNo = 0;
    this.itemEntryNo = 0;
    const lcyScale = this.exponent('');
    this.insert('companyInformation', { id: this.companyId, displayName: this.companyName, currencyCode: this.currency, country: 'GB', email: '' });
    if (this.options.catalog !== false) {
      this.upsertItems(
        demoCatalog().map((c, i) => ({
          number: c.sku,
          displayName: c.name,
          unitPrice: scaledNumber(BigInt(c.unitPrice), lcyScale),
          inventory: 20 + ((i * 13) % 180),
          taxPercent: scaledNumber(toScaled(c.taxRate, 4) * 100n, 4),
        })),
      );
    }
    if (this.options.items) this.upsertItems(this.options.items);
    for (const c of this.options.customers ?? DEFAULT_CUSTOMERS) {
      this.insert(
        'customers',
        {
          number: c.number.toUpperCase(),
          displayName: c.displayName,
          type: 'Company',
          email: c.email ?? '',
          currencyCode: '',
          blocked: c.blocked ? 'All' : ' ',
        },
        { pricesIncludeTax: c.pricesIncludeTax ?? false },
      );
    }
    for (const a of this.options.accounts ?? DEFAULT_ACCOUNTS) {
      this.insert(
        'accounts',
        { number: a.number.toUpperCase(), displayName: a.displayName, category: a.category ?? '', blocked: false, directPosting: true },
        { taxPercent: a.taxPercent ?? 0 },
      );
    }
    this.insert('journals', {
      code: 'DEFAULT',
      displayName: 'Default Journal Batch',
      templateDisplayName: 'GENERAL',
      balancingAccountId: ZERO_GUID,
      balancingAccountNumber: '',
    });
  }

  private table(set: string): Map<string, Row> {
    const t = this.tables.get(set);
    if (!t) throw new HttpFailure(404, 'BadRequest_NotFound', `No HTTP resource was found that matches the request (entity set '${set}').`);
    return t;
  }

  /** Fills every declared field with BC's blank value (0, '', false, the empty GUID, 0001-01-01). */
  private blank(set: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(SETS[set].fields)) {
      out[name] =
        def.type === 'number'
          ? 0
          : def.type === 'boolean'
            ? false
            : def.type === 'guid'
              ? ZERO_GUID
              : def.type === 'date'
                ? BLANK_DATE
                : def.type === 'datetime'
                  ? new Date().toISOString()
                  : '';
    }
    return out;
  }

  private insert(set: string, data: Record<string, unknown>, hidden: Record<string, unknown> = {}): Row {
    const row: Row = { data: { ...this.blank(set), ...data }, version: 1, seq: ++this.seq, hidden };
    if (!data.id) row.data.id = randomUUID();
    row.data.lastModifiedDateTime = new Date().toISOString();
    this.table(set).set(String(row.data.id), row);
    this.index(set, row);
    this.changed(set, row, 'created');
    return row;
  }

  private index(set: string, row: Row): void {
    for (const field of INDEXED_FIELDS) {
      const value = row.data[field];
      if (typeof value !== 'string' || value === '') continue;
      const key = `${set}.${field}`;
      let byValue = this.indexes.get(key);
      if (!byValue) this.indexes.set(key, (byValue = new Map()));
      let ids = byValue.get(value);
      if (!ids) byValue.set(value, (ids = new Set()));
      ids.add(String(row.data.id));
    }
  }

  /** The rows of `set` whose indexed `field` is one of `values` now, in insertion order. */
  private lookUp(set: string, field: string, values: Iterable<string>): Row[] {
    const table = this.table(set);
    const byValue = this.indexes.get(`${set}.${field}`);
    const rows: Row[] = [];
    for (const value of new Set(values)) {
      for (const id of byValue?.get(value) ?? []) {
        const row = table.get(id);
        if (row && row.data[field] === value) rows.push(row);
      }
    }
    return rows.sort((a, b) => a.seq - b.seq);
  }

  private touch(set: string, row: Row): void {
    this.index(set, row);
    row.version++;
    row.data.lastModifiedDateTime = new Date().toISOString();
    this.changed(set, row, 'updated');
  }

  private findBy(set: string, field: string, value: unknown): Row | undefined {
    if (INDEXED_FIELDS.includes(field) && typeof value === 'string' && value !== '') return this.lookUp(set, field, [value])[0];
    for (const row of this.table(set).values()) if (row.data[field] === value) return row;
    return undefined;
  }

  private linesOf(orderId: string, lineSet = 'salesOrderLines'): Row[] {
    return this.lookUp(lineSet, 'documentId', [orderId]).sort((a, b) => (a.data.sequence as number) - (b.data.sequence as number) || a.seq - b.seq);
  }

  private exponent(currencyCode: string): number {
    return CURRENCY_EXPONENTS.get(currencyCode || this.currency) ?? 2;
  }

  private etag(row: Row): string {
    return `W/"${Buffer.from(`'${row.seq};${row.version};${String(row.data.id).slice(0, 8)}'`).toString('base64')}"`;
  }

  // ---- request handling ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = (req.method ?? 'GET').toUpperCase();
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      this.sendError(res, toFailure(err));
      return;
    }

    if (url.pathname.startsWith('/__simulator/')) return this.control(method, url, raw, res);
    if (method === 'POST' && url.pathname === `/${this.tenant}/oauth2/v2.0/token`) return this.tokenEndpoint(raw, res);

    const started = Date.now();
    this.stats.total++;
    try {
      const m = /^\/v2\.0\/([^/]+)\/([^/]+)\/api\/v2\.0(\/.*)?$/.exec(url.pathname);
      if (!m) throw new HttpFailure(404, 'BadRequest_NotFound', 'No HTTP resource was found that matches the request URI.');
      const principal = this.authenticate(req);
      if (decodeURIComponent(m[1]) !== this.tenant || decodeURIComponent(m[2]) !== this.environment) {
        throw new HttpFailure(
          404,
          'BadRequest_NotFound',
          `The environment '${decodeURIComponent(m[2])}' of tenant '${decodeURIComponent(m[1])}' does not exist.`,
        );
      }
      this.countWindow(principal);

      // Fault injection: decided up front, deterministic given the seed and request order.
      const fault = this.injector.draw();
      if (fault === 'error') {
        this.stats.faults.errors++;
        const status = this.faults.errorStatuses[this.errorTurn++ % this.faults.errorStatuses.length];
        throw this.faultFailure(status);
      }
      if (fault === 'timeout') {
        this.stats.faults.timeouts++;
        this.bump('none');
        return; // never answered; the socket is closed when the client gives up or the simulator closes
      }
      const loseResponse = fault === 'lost';

      await this.acquireSlot();
      let result: Reply;
      try {
        if (this.latencyMs > 0) await this.pause(this.latencyMs);
        result =
          method === 'POST' && (m[3] ?? '') === '/$batch' ? await this.batch(raw, req.headers) : await this.route(method, url, m[3] ?? '/', raw, req.headers);
      } finally {
        this.releaseSlot();
      }
      if (loseResponse || result.lose) {
        this.stats.faults.lostResponses++;
        this.bump('lost');
        req.socket.destroy();
        return;
      }
      if (Date.now() - started > this.gatewayTimeoutMs) {
        throw new HttpFailure(504, 'GatewayTimeout', 'The gateway timed out waiting for the operation (its work may have been done).');
      }
      this.bump(String(result.status));
      const headers: Record<string, string> = { 'OData-Version': '4.0', ...result.headers };
      if (result.body === undefined) {
        res.writeHead(result.status, headers);
        res.end();
      } else {
        headers['Content-Type'] = 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';
        res.writeHead(result.status, headers);
        res.end(JSON.stringify(result.body));
      }
    } catch (err) {
      const failure = toFailure(err);
      if (failure.status === 429) this.stats.throttled++;
      this.bump(String(failure.status));
      this.sendError(res, failure);
    }
  }

  private bump(key: string): void {
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
  }

  private faultFailure(status: number): HttpFailure {
    if (status === 429) return new HttpFailure(429, 'Application_TooManyRequests', 'Too many requests reached. (injected fault)');
    if (status === 503)
      return new HttpFailure(503, 'ServiceUnavailable', 'The service is temporarily unavailable. (injected fault)', {
        'Retry-After': String(this.throttle.retryAfterSeconds),
      });
    if (status === 504) return new HttpFailure(504, 'GatewayTimeout', 'The gateway timed out. (injected fault)');
    if (status === 408) return new HttpFailure(408, 'RequestTimeout', 'The operation timed out. (injected fault)');
    return new HttpFailure(status, 'Internal_ServerError', 'An unexpected error occurred. (injected fault)');
  }

  private sendError(res: http.ServerResponse, failure: HttpFailure): void {
    if (res.headersSent || res.destroyed) return;
    const body = { error: { code: failure.code, message: `${failure.message}  CorrelationId:  ${randomUUID()}.` } };
    res.writeHead(failure.status, { 'Content-Type': 'application/json; charset=utf-8', 'OData-Version': '4.0', ...failure.headers });
    res.end(JSON.stringify(body));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  // ---- auth and throttling ----

  private tokenEndpoint(raw: string, res: http.ServerResponse): void {
    const form = new URLSearchParams(raw);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (form.get('grant_type') !== 'client_credentials') {
      return reply(400, { error: 'unsupported_grant_type', error_description: 'The grant type is not supported: only client_credentials is.' });
    }
    const client = this.clients.find((c) => c.clientId === form.get('client_id'));
    if (!client)
      return reply(400, {
        error: 'unauthorized_client',
        error_description: `Application with identifier '${form.get('client_id')}' was not found in the directory '${this.tenant}'.`,
      });
    if (client.clientSecret !== form.get('client_secret')) return reply(401, { error: 'invalid_client', error_description: 'Invalid client secret provided.' });
    const scope = form.get('scope') ?? '';
    if (scope && !scope.endsWith('/.default'))
      return reply(400, {
        error: 'invalid_scope',
        error_description: `The scope '${scope}' is not valid: use https://api.businesscentral.dynamics.com/.default.`,
      });
    const ttl = this.options.tokenTtlSeconds ?? 3600;
    const accessToken = `sim.${randomUUID()}`;
    this.issuedTokens.set(accessToken, { principal: `app:${client.clientId}`, expiresAt: Date.now() + ttl * 1000 });
    reply(200, { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: accessToken });
  }

  /** Which user a request runs as; 401 without a valid bearer token. */
  private authenticate(req: http.IncomingMessage): string {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const fail = (message: string) =>
      new HttpFailure(401, 'Authentication_InvalidCredentials', message, {
        'WWW-Authenticate': `Bearer authorization_uri="${this.tokenUrl}", error="invalid_token"`,
      });
    if (!m) throw fail('The server has rejected the client credentials: no bearer token.');
    const token = m[1].trim();
    if (token === this.token) return 'user:demo';
    const issued = this.issuedTokens.get(token);
    if (!issued) throw fail('The server has rejected the client credentials.');
    if (issued.expiresAt <= Date.now()) {
      this.issuedTokens.delete(token);
      throw fail('The server has rejected the client credentials: the token has expired.');
    }
    return issued.principal;
  }

  /** Per-user sliding window: BC online allows 6,000 OData requests per user per 5 minutes. */
  private countWindow(principal: string): void {
    const now = Date.now();
    const list = this.windows.get(principal) ?? [];
    const from = now - this.throttle.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop] <= from) drop++;
    if (drop) list.splice(0, drop);
    if (list.length >= this.throttle.maxRequests) {
      this.windows.set(principal, list);
      throw new HttpFailure(
        429,
        'Application_TooManyRequests',
        `Too many requests reached.  Actual (${list.length + 1}).  Maximum (${this.throttle.maxRequests}).`,
      );
    }
    list.push(now);
    this.windows.set(principal, list);
  }

  private acquireSlot(): Promise<void> {
    if (this.active < this.throttle.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.throttle.maxQueue) {
      return Promise.reject(new HttpFailure(429, 'Application_TooManyRequests', 'Too many requests reached: the request queue is full.'));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        fail: reject,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            new HttpFailure(503, 'ServiceUnavailable', 'The request waited too long in the queue.', { 'Retry-After': String(this.throttle.retryAfterSeconds) }),
          );
        }, this.throttle.queueTimeoutMs),
      };
      this.queue.push(entry);
    });
  }

  private releaseSlot(): void {
    const next = this.queue.shift();
    if (next)
      next.grant(); // the slot passes straight to the next request
    else this.active--;
  }

  // ---- routing ----

  private route(method: string, url: URL, path: string, raw: string, headers: http.IncomingHttpHeaders): Reply | Promise<Reply> {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments.length === 0) throw new HttpFailure(404, 'BadRequest_NotFound', 'No HTTP resource was found that matches the request URI.');
    const body = parseBody(raw, method);
    const q = url.searchParams;
    const ifMatch = headers['if-match'] as string | undefined;
    const prefer = String(headers.prefer ?? '');

    const first = parseSegment(segments[0]);
    if (first.name === 'subscriptions') return this.subscriptionRoute(method, first.key, body, ifMatch);
    if (first.name !== 'companies')
      throw new HttpFailure(404, 'BadRequest_NotFound', `No HTTP resource was found that matches the request URI ('${segments[0]}').`);
    if (first.key === undefined) {
      if (method !== 'GET' || segments.length > 1) throw methodNotAllowed();
      const value = [
        {
          id: this.companyId,
          systemVersion: '26.0.0.0',
          timestamp: 0,
          name: this.companyName,
          displayName: this.companyName,
          businessProfileId: '',
          systemCreatedAt: '2025-01-01T00:00:00Z',
          systemCreatedBy: ZERO_GUID,
          systemModifiedAt: '2025-01-01T00:00:00Z',
          systemModifiedBy: ZERO_GUID,
        },
      ];
      return { status: 200, body: { '@odata.context': `${this.apiRoot}/$metadata#companies`, value } };
    }
    if (first.key.toLowerCase() !== this.companyId) throw new HttpFailure(404, 'BadRequest_NotFound', `The company '${first.key}' does not exist.`);
    if (segments.length < 2) throw new HttpFailure(404, 'BadRequest_NotFound', 'Name an entity set after the company.');

    const setSeg = parseSegment(segments[1]);
    const def = SETS[setSeg.name];
    if (!def) throw new HttpFailure(404, 'BadRequest_NoRouteMatch', `No HTTP resource was found that matches the request URI ('${setSeg.name}').`);
    const rest = segments.slice(2);

    if (setSeg.key === undefined) {
      if (rest.length) throw new HttpFailure(404, 'BadRequest_NotFound', 'A key is needed before a navigation property.');
      if (method === 'GET') return this.list(def, q, prefer);
      if (method === 'POST') return this.create(def, body, undefined, q);
      throw methodNotAllowed();
    }

    const row = this.table(def.set).get(setSeg.key.toLowerCase());
    if (!row) throw notFound(def);
    if (rest.length === 0) {
      if (method === 'GET') return this.single(def, row, q);
      if (method === 'PATCH') return this.update(def, row, body, ifMatch, q);
      if (method === 'DELETE') return this.remove(def, row, ifMatch);
      throw methodNotAllowed();
    }

    const next = parseSegment(rest[0]);
    if (next.name.startsWith('Microsoft.NAV.')) {
      if (method !== 'POST') throw methodNotAllowed();
      return this.action(def, row, next.name.slice('Microsoft.NAV.'.length));
    }
    const nav = def.nav?.[next.name];
    if (!nav) throw new HttpFailure(404, 'BadRequest_NoRouteMatch', `Could not find a property named '${next.name}' on type '${def.name}'.`);
    const child = SETS[nav.set];
    if (next.key === undefined) {
      if (rest.length > 1) throw new HttpFailure(404, 'BadRequest_NotFound', 'Unexpected path after a collection.');
      if (method === 'GET') return this.list(child, q, prefer, { field: nav.parentKey, value: row.data.id });
      if (method === 'POST') return this.create(child, body, row, q);
      throw methodNotAllowed();
    }
    const childRow = this.table(child.set).get(next.key.toLowerCase());
    if (!childRow || childRow.data[nav.parentKey] !== row.data.id) throw notFound(child);
    if (rest.length > 1) throw new HttpFailure(404, 'BadRequest_NotFound', 'Unexpected path after an entity.');
    if (method === 'GET') return this.single(child, childRow, q);
    if (method === 'PATCH') return this.update(child, childRow, body, ifMatch, q);
    if (method === 'DELETE') return this.remove(child, childRow, ifMatch);
    throw methodNotAllowed();
  }

  /**
   * OData JSON `$batch` as BC answers it (nodes/business-central/contract.ts): at most
   * BATCH_MAX_REQUESTS inner requests, run in order, each answered with its own status, headers and
   * body; without `Prefer: odata.continue-on-error` the run stops at the first failure and later
   * requests get no answer; `Isolation: snapshot` makes the whole batch one transaction, and an
   * `atomicityGroup` its members (a failure rolls the group back: the failed member keeps its
   * error, the others answer 424). `dependsOn` must name earlier requests (they run in order anyway).
   * Each inner request takes the processing time (`latencyMs`) a direct one would. Test faults:
   * `setBatchFaults` (a lost batch answer, an inner request refused or done-but-failed) and the
   * random fault rates, drawn once more per inner request.
   */
  private async batch(raw: string, headers: http.IncomingHttpHeaders): Promise<Reply> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new HttpFailure(400, 'BadRequest', 'The $batch body is not valid JSON.');
    }
    const requests = isObject(parsed) ? parsed.requests : undefined;
    if (!Array.isArray(requests)) throw new HttpFailure(400, 'BadRequest', "A JSON $batch body needs a 'requests' array.");
    if (requests.length > BATCH_MAX_REQUESTS) {
      throw new HttpFailure(
        400,
        'Unknown',
        `The current batch message contains too many parts. A maximum number of '${BATCH_MAX_REQUESTS}' query operations and change sets are allowed in a batch message.`,
      );
    }
    const ids = new Set<string>();
    for (const [i, r] of requests.entries()) {
      if (!isObject(r) || typeof r.method !== 'string' || typeof r.url !== 'string')
        throw new HttpFailure(400, 'BadRequest', `requests[${i}] needs a method and a url.`);
      for (const dep of Array.isArray(r.dependsOn) ? r.dependsOn : []) {
        if (!ids.has(String(dep)))
          throw new HttpFailure(
            400,
            'BadRequest',
            `The dependsOn Id: [${String(dep)}] in request [${String(r.id)}] is not matching any of the request Id seen so far.`,
          );
      }
      if (r.id !== undefined && r.id !== null) ids.add(String(r.id));
      if (typeof r.atomicityGroup === 'string') ids.add(r.atomicityGroup);
    }
    const n = ++this.stats.batch.batches;
    if (this.beforeBatch)
      await this.beforeBatch(
        n,
        requests.map((r) => `${r.method} ${r.url}`),
      );
    const continueOnError = /odata\.continue-on-error/i.test(String(headers.prefer ?? ''));
    const whole = String(headers.isolation ?? '').toLowerCase() === 'snapshot' ? this.snapshot() : undefined;
    const responses: Array<Record<string, unknown>> = [];
    let group: { name: string; saved: ReturnType<BusinessCentralSimulator['snapshot']>; from: number } | undefined;
    const failGroup = () => {
      if (!group) return;
      this.restore(group.saved);
      for (let i = group.from; i < responses.length; i++)
        if ((responses[i].status as number) < 400) responses[i] = { ...responses[i], status: 424, body: undefined };
    };
    for (const r of requests as Array<Record<string, any>>) {
      const name = typeof r.atomicityGroup === 'string' ? r.atomicityGroup : undefined;
      if (group && group.name !== name) group = undefined;
      if (name && !group) group = { name, saved: this.snapshot(), from: responses.length };
      // BC carries inner requests out one after another: each takes the processing time a direct one would.
      if (this.latencyMs > 0) await this.pause(this.latencyMs);
      const answer = this.inner(r);
      responses.push(answer);
      const failed = (answer.status as number) >= 400;
      if (failed && group) failGroup();
      if (failed && whole) {
        this.restore(whole);
        break;
      }
      if (failed && !continueOnError) break;
    }
    const fault = this.batchFaults.loseAnswers > 0 && requests.some((r: any) => String(r.method).toUpperCase() !== 'GET');
    if (fault) {
      this.batchFaults.loseAnswers--;
      return { status: 200, body: { responses }, lose: true };
    }
    return { status: 200, body: { responses } };
  }

  /** One inner request of a $batch, through the same routes as a direct call. */
  private inner(r: Record<string, any>): Record<string, unknown> {
    this.stats.batch.requests++;
    const id = r.id ?? null;
    const method = String(r.method).toUpperCase();
    const headers: http.IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(isObject(r.headers) ? r.headers : {})) headers[k.toLowerCase()] = String(v);
    const json = { 'content-type': 'application/json; odata.metadata=minimal', 'odata-version': '4.0' };
    try {
      const url = new URL(String(r.url), `${this.apiRoot}/`);
      const root = new URL(`${this.apiRoot}/`).pathname;
      if (!url.pathname.startsWith(root)) throw new HttpFailure(404, 'BadRequest_NotFound', `The inner request URL '${r.url}' is outside the API.`);
      const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      const rule = this.batchFaults.requests.find((f) => f.times > 0 && (String(r.url).includes(f.match) || body.includes(f.match)));
      const drawn = rule ? undefined : this.injector.draw();
      if (rule && !rule.done) {
        rule.times--;
        throw this.faultFailure(rule.status);
      }
      if (drawn === 'error' || drawn === 'timeout') {
        this.stats.faults.errors++;
        throw this.faultFailure(drawn === 'timeout' ? 408 : this.faults.errorStatuses[this.errorTurn++ % this.faults.errorStatuses.length]);
      }
      const reply = this.routeSync(method, url, '/' + url.pathname.slice(root.length), body, headers);
      if (rule?.done || drawn === 'lost') {
        // Carried out, then answered as a failure: the client cannot know it was done.
        if (rule) rule.times--;
        else this.stats.faults.lostResponses++;
        throw new HttpFailure(rule?.status ?? 500, 'Internal_ServerError', 'An unexpected error occurred after the change was made. (injected fault)');
      }
      return { id, status: reply.status, headers: { ...json, ...reply.headers }, ...(reply.body === undefined ? {} : { body: reply.body }) };
    } catch (err) {
      const failure = toFailure(err);
      return {
        id,
        status: failure.status,
        headers: { ...json, ...failure.headers },
        body: { error: { code: failure.code, message: `${failure.message}  CorrelationId:  ${randomUUID()}.` } },
      };
    }
  }

  /** `route` for an inner request: every entity route is synchronous (subscriptions are not offered in a batch). */
  private routeSync(method: string, url: URL, path: string, raw: string, headers: http.IncomingHttpHeaders): Reply {
    const reply = this.route(method, url, path, raw, headers);
    if (reply instanceof Promise) throw new HttpFailure(400, 'BadRequest', 'This request cannot be part of a $batch in the simulator.');
    return reply;
  }

  /** Every table and number series, to roll a transaction back to. */
  private snapshot() {
    return {
      tables: new Map([...this.tables].map(([set, rows]) => [set, new Map([...rows].map(([id, row]) => [id, structuredClone(row)]))])),
      numbers: [this.seq, this.orderNo, this.invoiceNo, this.creditMemoNo, this.shipmentNo, this.glEntryNo, this.itemEntryNo] as const,
    };
  }

  private restore(saved: ReturnType<BusinessCentralSimulator['snapshot']>): void {
    this.tables = new Map([...saved.tables].map(([set, rows]) => [set, new Map([...rows].map(([id, row]) => [id, structuredClone(row)]))]));
    this.indexes = new Map();
    for (const [set, rows] of this.tables) for (const row of rows.values()) this.index(set, row);
    [this.seq, this.orderNo, this.invoiceNo, this.creditMemoNo, this.shipmentNo, this.glEntryNo, this.itemEntryNo] = saved.numbers;
  }

  private context(def: SetDef, single = false): string {
    return `${this.apiRoot}/$metadata#companies(${this.companyId})/${def.set}${single ? '/$entity' : ''}`;
  }

  private entityUrl(def: SetDef, row: Row): string {
    return `${this.companyUrl}/${def.set}(${row.data.id})`;
  }

  /** An entity as the API shows it: etag first, the selected fields, expanded navigation. */
  private shape(def: SetDef, row: Row, select: string[] | undefined, expand: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.etag': this.etag(row) };
    for (const name of select ?? Object.keys(def.fields)) out[name] = row.data[name];
    for (const navName of expand) {
      const nav = def.nav![navName];
      const children = (INDEXED_FIELDS.includes(nav.parentKey) ? this.lookUp(nav.set, nav.parentKey, [String(row.data.id)]) : [...this.table(nav.set).values()])
        .filter((r) => r.data[nav.parentKey] === row.data.id)
        .sort((a, b) => Number(a.data.sequence ?? a.data.lineNumber ?? 0) - Number(b.data.sequence ?? b.data.lineNumber ?? 0) || a.seq - b.seq);
      out[navName] = children.map((c) => this.shape(SETS[nav.set], c, undefined, []));
    }
    return out;
  }

  private selectExpand(def: SetDef, q: URLSearchParams): { select?: string[]; expand: string[] } {
    const sel = q.get('$select');
    const select = sel ? parseSelect(sel, def) : undefined;
    if (select && !select.includes('id') && def.fields.id) select.unshift('id');
    const exp = q.get('$expand');
    const expand = exp
      ? exp
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    for (const e of expand) {
      if (e.includes('(')) throw new HttpFailure(400, 'BadRequest', `Nested query options in $expand are not supported by the simulator ('${e}').`);
      if (!def.nav?.[e]) throw new HttpFailure(400, 'BadRequest', `Could not find a property named '${e}' on type '${def.name}'.`);
    }
    return { select, expand };
  }

  private list(def: SetDef, q: URLSearchParams, prefer: string, parent?: { field: string; value: unknown }): Reply {
    const { select, expand } = this.selectExpand(def, q);
    const filterText = q.get('$filter');
    const expr = filterText ? parseFilter(filterText) : undefined;
    if (expr) checkFilter(expr, def);
    // Candidates from an index where the parent or the filter names indexed values; every row is
    // still checked against both below.
    const indexed =
      parent && INDEXED_FIELDS.includes(parent.field) && typeof parent.value === 'string' && parent.value !== ''
        ? { field: parent.field, values: [parent.value] }
        : expr && indexedValues(expr);
    let rows = indexed ? this.lookUp(def.set, indexed.field, indexed.values) : [...this.table(def.set).values()];
    if (parent) rows = rows.filter((r) => r.data[parent.field] === parent.value);
    if (expr) {
      rows = rows.filter((r) => evaluate(expr, r.data, def));
    }
    const orderText = q.get('$orderby');
    if (orderText) {
      const order = parseOrderBy(orderText, def);
      const cmp = compareRows(order, def);
      rows.sort((a, b) => cmp(a.data, b.data) || a.seq - b.seq);
    } else {
      rows.sort((a, b) => a.seq - b.seq);
    }
    const total = rows.length;
    const skip = nonNegative(q.get('$skip'), '$skip') ?? 0;
    const top = nonNegative(q.get('$top'), '$top');
    const end = top === undefined ? rows.length : Math.min(rows.length, skip + top);

    const pm = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer);
    const requested = pm ? Number(pm[1]) : undefined;
    if (requested !== undefined && requested > this.maxPageSize) {
      throw new HttpFailure(
        413,
        'RequestEntityTooLarge',
        `The requested page size ${requested} exceeds the maximum page size of ${this.maxPageSize} entities.`,
      );
    }
    const pageSize = Math.max(1, Math.min(requested ?? this.maxPageSize, this.maxPageSize));

    // Where this page starts: after the last entity of the previous page (keyset), so rows
    // inserted or deleted between pages neither repeat nor vanish.
    let start = skip;
    const token = q.get('$skiptoken');
    if (token) {
      let parsed: { after: string; pos: number };
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new HttpFailure(400, 'BadRequest', 'The $skiptoken is not valid.');
      }
      const at = rows.findIndex((r) => r.data.id === parsed.after);
      start = at >= 0 ? at + 1 : Math.min(parsed.pos, rows.length);
    }
    const pageEnd = Math.min(end, start + pageSize);
    const page = rows.slice(start, pageEnd);
    const body: Record<string, unknown> = { '@odata.context': this.context(def) };
    if (q.get('$count') === 'true') body['@odata.count'] = total;
    body.value = page.map((r) => this.shape(def, r, select, expand));
    const headers: Record<string, string> = {};
    if (requested !== undefined) headers['Preference-Applied'] = `odata.maxpagesize=${pageSize}`;
    if (pageEnd < end && page.length) {
      const params = new URLSearchParams(q);
      params.set('$skiptoken', Buffer.from(JSON.stringify({ after: page[page.length - 1].data.id, pos: pageEnd })).toString('base64url'));
      const base = parent ? undefined : `${this.companyUrl}/${def.set}`;
      const path = base ?? `${this.companyUrl}/${parentSetOf(def)}(${parent!.value})/${def.set}`;
      body['@odata.nextLink'] = `${path}?${params.toString()}`;
    }
    return { status: 200, body, headers };
  }

  private single(def: SetDef, row: Row, q: URLSearchParams): Reply {
    const { select, expand } = this.selectExpand(def, q);
    return { status: 200, body: { '@odata.context': this.context(def, true), ...this.shape(def, row, select, expand) }, headers: { ETag: this.etag(row) } };
  }

  private checkIfMatch(row: Row, ifMatch: string | undefined): void {
    if (ifMatch === undefined || ifMatch.trim() === '') {
      throw new HttpFailure(
        400,
        'BadRequest_InvalidToken',
        'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.',
      );
    }
    const tag = ifMatch.trim();
    if (tag === '*') return;
    if (!/^W\/"[^"]+"$/.test(tag) && !/^"[^"]+"$/.test(tag)) {
      throw new HttpFailure(
        400,
        'BadRequest_InvalidToken',
        'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.',
      );
    }
    if (tag !== this.etag(row)) {
      throw new HttpFailure(409, 'Request_EntityChanged', 'Another user has already changed the record.');
    }
  }

  /** Checks and converts a request body against the entity type: unknown, read-only, wrong types, too long. */
  private writable(def: SetDef, body: Record<string, unknown>, allowNav = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name.startsWith('@odata.')) continue;
      if (allowNav && def.nav?.[name]) continue;
      const fd = def.fields[name];
      if (!fd)
        throw new HttpFailure(
          400,
          'BadRequest_PropertyNotFound',
          `The property '${name}' does not exist on type '${def.name}'. Make sure to only use property names that are defined by the type.`,
        );
      if (fd.ro) throw new HttpFailure(400, 'BadRequest_ReadOnlyProperty', `The property '${name}' is read-only and cannot be set.`);
      out[name] = convert(def, name, fd, value);
    }
    return out;
  }

  private create(def: SetDef, body: unknown, parent: Row | undefined, q: URLSearchParams): Reply {
    if (!def.create) throw methodNotAllowed();
    if (!isObject(body)) throw new HttpFailure(400, 'BadRequest', 'The request body must be a JSON object.');
    let row: Row;
    switch (def.set) {
      case 'salesOrders':
        row = this.createSalesOrder(body);
        break;
      case 'salesCreditMemos':
        row = this.createSalesCreditMemo(body);
        break;
      case 'salesOrderLines':
      case 'salesCreditMemoLines': {
        const header = HEADER_SET[def.set];
        if (!parent) throw new HttpFailure(400, 'BadRequest', `Create ${def.set} under their document: ${header}({id})/${def.set}.`);
        const [line] = this.prepareLines(parent, [body], def.set);
        row = this.insert(def.set, line.data, line.hidden);
        this.recalculate(parent, def.set);
        this.touch(header, parent);
        break;
      }
      case 'journalLines': {
        if (!parent) throw new HttpFailure(400, 'BadRequest', 'Create journal lines under their journal: journals({id})/journalLines.');
        row = this.createJournalLine(parent, body);
        break;
      }
      case 'items': {
        const data = this.writable(def, body);
        if (!data.number) throw new HttpFailure(400, 'BadRequest', "The field 'number' must have a value.");
        if (this.findBy('items', 'number', data.number))
          throw new HttpFailure(400, 'Internal_EntityWithSameKeyExists', `The Item already exists. Identification fields and values: No.='${data.number}'`);
        row = this.insert('items', { type: 'Inventory', baseUnitOfMeasureCode: 'PCS', ...data }, { taxPercent: 0 });
        break;
      }
      case 'journals': {
        const data = this.writable(def, body);
        row = this.insert('journals', { templateDisplayName: 'GENERAL', ...data });
        break;
      }
      default:
        throw methodNotAllowed();
    }
    const reply = this.single(def, row, q);
    reply.status = 201;
    reply.headers = { ...reply.headers, Location: this.entityUrl(def, row) };
    return reply;
  }

  private createSalesOrder(body: Record<string, unknown>): Row {
    const def = SETS.salesOrders;
    const data = this.writable(def, body, true);
    const customer = this.resolveCustomer(data);
    const currencyCode = String(data.currencyCode ?? '');
    this.checkCurrency(currencyCode);
    if (data.number && this.findBy('salesOrders', 'number', data.number)) {
      throw new HttpFailure(
        400,
        'Internal_EntityWithSameKeyExists',
        `The Sales Header already exists. Identification fields and values: Document Type='Order',No.='${data.number}'`,
      );
    }
    const orderDate = (data.orderDate as string) ?? today();
    const order: Record<string, unknown> = {
      ...data,
      number: data.number ?? `S-ORD${++this.orderNo}`,
      orderDate,
      postingDate: data.postingDate ?? orderDate,
      customerId: customer.data.id,
      customerNumber: customer.data.number,
      customerName: data.customerName ?? customer.data.displayName,
      billToCustomerId: customer.data.id,
      billToCustomerNumber: customer.data.number,
      billToName: data.billToName ?? customer.data.displayName,
      sellToAddressLine1: data.sellToAddressLine1 ?? '',
      currencyCode,
      pricesIncludeTax: customer.hidden.pricesIncludeTax === true,
      discountAppliedBeforeTax: true,
      status: 'Draft',
      fullyShipped: false,
      partialShipping: data.partialShipping ?? true,
    };
    const id = randomUUID();
    // Deep insert: every line is checked before anything is stored, so a bad line leaves no order.
    const shell: Row = { data: { ...this.blank('salesOrders'), ...order, id }, version: 1, seq: 0, hidden: {} };
    const rawLines = body.salesOrderLines;
    if (rawLines !== undefined && !Array.isArray(rawLines)) throw new HttpFailure(400, 'BadRequest', "'salesOrderLines' must be an array for a deep insert.");
    const lines = this.prepareLines(shell, (rawLines as unknown[] | undefined) ?? []);
    this.computeTotals(shell, lines);
    const row = this.insert('salesOrders', shell.data, shell.hidden);
    for (const line of lines) this.insert('salesOrderLines', line.data, line.hidden);
    return row;
  }

  /**
   * A sales credit memo (deep insert of salesCreditMemoLines), with the same totals as an order.
   * `invoiceId` (or `invoiceNumber`) applies it to a posted sales invoice of the same customer.
   */
  private createSalesCreditMemo(body: Record<string, unknown>): Row {
    const def = SETS.salesCreditMemos;
    const data = this.writable(def, body, true);
    const customer = this.resolveCustomer(data, 'sales credit memo');
    const currencyCode = String(data.currencyCode ?? '');
    this.checkCurrency(currencyCode);
    if (data.number && this.findBy('salesCreditMemos', 'number', data.number)) {
      throw new HttpFailure(
        400,
        'Internal_EntityWithSameKeyExists',
        `The Sales Header already exists. Identification fields and values: Document Type='Credit Memo',No.='${data.number}'`,
      );
    }
    const applied = 'invoiceId' in data || 'invoiceNumber' in data ? this.appliesTo(data, String(customer.data.number)) : {};
    const date = (data.creditMemoDate as string) ?? today();
    const memo: Record<string, unknown> = {
      ...data,
      ...applied,
      number: data.number ?? `S-CR${++this.creditMemoNo}`,
      creditMemoDate: date,
      postingDate: data.postingDate ?? date,
      dueDate: data.dueDate ?? date,
      customerId: customer.data.id,
      customerNumber: customer.data.number,
      customerName: data.customerName ?? customer.data.displayName,
      billToCustomerId: customer.data.id,
      billToCustomerNumber: customer.data.number,
      billToName: data.billToName ?? customer.data.displayName,
      currencyCode,
      pricesIncludeTax: customer.hidden.pricesIncludeTax === true,
      discountAppliedBeforeTax: true,
      status: 'Draft',
    };
    const id = randomUUID();
    const shell: Row = { data: { ...this.blank('salesCreditMemos'), ...memo, id }, version: 1, seq: 0, hidden: {} };
    const rawLines = body.salesCreditMemoLines;
    if (rawLines !== undefined && !Array.isArray(rawLines))
      throw new HttpFailure(400, 'BadRequest', "'salesCreditMemoLines' must be an array for a deep insert.");
    const lines = this.prepareLines(shell, (rawLines as unknown[] | undefined) ?? [], 'salesCreditMemoLines');
    this.computeTotals(shell, lines);
    const row = this.insert('salesCreditMemos', shell.data, shell.hidden);
    for (const line of lines) this.insert('salesCreditMemoLines', line.data, line.hidden);
    return row;
  }

  /** The posted invoice a credit memo applies to (by invoiceId or invoiceNumber), of the same customer. */
  private appliesTo(data: Record<string, unknown>, customerNumber: string): { invoiceId: string; invoiceNumber: string } {
    const byId = data.invoiceId && data.invoiceId !== ZERO_GUID;
    if (!byId && !data.invoiceNumber) return { invoiceId: ZERO_GUID, invoiceNumber: '' };
    const invoice = byId ? this.table('salesInvoices').get(String(data.invoiceId)) : this.findBy('salesInvoices', 'number', data.invoiceNumber);
    if (!invoice) {
      throw new HttpFailure(
        400,
        'Internal_RecordNotFound',
        `The Sales Invoice Header does not exist. Identification fields and values: ${byId ? `Id='${data.invoiceId}'` : `No.='${data.invoiceNumber}'`}`,
      );
    }
    if (invoice.data.customerNumber !== customerNumber) {
      throw new HttpFailure(
        400,
        'Application_FieldValidationException',
        `Posted invoice ${invoice.data.number} belongs to customer ${invoice.data.customerNumber}, not ${customerNumber}.`,
      );
    }
    return { invoiceId: String(invoice.data.id), invoiceNumber: String(invoice.data.number) };
  }

  /**
   * Posts a shipment for a sales order (what a warehouse does in BC; the API v2.0 has no
   * ship-only action): a `salesShipments` document with its lines, the order lines'
   * `shippedQuantity` raised, `fullyShipped` set when nothing is left. `lines` (item number →
   * quantity) ships part of the order; without it, everything not yet shipped ships.
   */
  postShipment(
    order: { number?: string; externalDocumentNumber?: string },
    opts: { lines?: Record<string, number>; postingDate?: string } = {},
  ): Record<string, unknown> {
    const row = order.number
      ? this.findBy('salesOrders', 'number', order.number.toUpperCase())
      : this.findBy('salesOrders', 'externalDocumentNumber', String(order.externalDocumentNumber ?? '').toUpperCase());
    if (!row) throw new HttpFailure(404, 'NotFound', `no open sales order ${order.number ?? order.externalDocumentNumber}`);
    const d = row.data;
    const want = opts.lines ? new Map(Object.entries(opts.lines).map(([k, v]) => [k.toUpperCase(), v])) : undefined;
    const shipping: Array<{ line: Row; qty: number }> = [];
    for (const line of this.linesOf(String(d.id))) {
      if (line.data.lineType === 'Comment') continue;
      const open = Number(line.data.quantity) - Number(line.data.shippedQuantity ?? 0);
      if (open <= 0) continue;
      let qty = open;
      if (want) {
        const w = want.get(String(line.data.lineObjectNumber));
        if (!w) continue;
        qty = Math.min(open, w);
        want.set(String(line.data.lineObjectNumber), w - qty);
      }
      shipping.push({ line, qty });
    }
    if (!shipping.length) throw new HttpFailure(400, 'Application_DialogException', 'There is nothing to post.');
    const date = opts.postingDate ?? today();
    const shipment = this.insert('salesShipments', {
      number: `S-SHPT${++this.shipmentNo}`,
      externalDocumentNumber: d.externalDocumentNumber,
      orderNumber: d.number,
      postingDate: date,
      invoiceDate: BLANK_DATE,
      dueDate: BLANK_DATE,
      customerNumber: d.customerNumber,
      customerName: d.customerName,
      billToName: d.billToName,
      billToCustomerNumber: d.billToCustomerNumber,
      shipToName: d.shipToName,
      shipToAddressLine1: d.shipToAddressLine1,
      shipToAddressLine2: d.shipToAddressLine2,
      shipToCity: d.shipToCity,
      shipToState: d.shipToState,
      shipToPostCode: d.shipToPostCode,
      shipToCountry: d.shipToCountry,
      currencyCode: d.currencyCode,
      pricesIncludeTax: d.pricesIncludeTax,
      email: d.email,
      phoneNumber: d.phoneNumber,
    });
    let sequence = 0;
    for (const { line, qty } of shipping) {
      this.insert('salesShipmentLines', {
        documentId: shipment.data.id,
        documentNo: shipment.data.number,
        sequence: (sequence += 10000),
        lineType: line.data.lineType,
        lineObjectNumber: line.data.lineObjectNumber,
        description: line.data.description,
        unitOfMeasureCode: line.data.unitOfMeasureCode,
        unitPrice: line.data.unitPrice,
        quantity: qty,
        shipmentDate: date,
      });
      line.data.shippedQuantity = Number(line.data.shippedQuantity ?? 0) + qty;
      line.version++;
    }
    d.fullyShipped = this.linesOf(String(d.id)).every((l) => l.data.lineType === 'Comment' || Number(l.data.shippedQuantity) >= Number(l.data.quantity));
    this.touch('salesOrders', row);
    return { ...shipment.data };
  }

  private resolveCustomer(data: Record<string, unknown>, what = 'sales order'): Row {
    let customer: Row | undefined;
    if (data.customerId && data.customerId !== ZERO_GUID) {
      customer = this.table('customers').get(String(data.customerId));
      if (!customer)
        throw new HttpFailure(400, 'Internal_RecordNotFound', `The Customer does not exist. Identification fields and values: Id='${data.customerId}'`);
    } else if (data.customerNumber) {
      customer = this.findBy('customers', 'number', data.customerNumber);
      if (!customer)
        throw new HttpFailure(400, 'Internal_RecordNotFound', `The Customer does not exist. Identification fields and values: No.='${data.customerNumber}'`);
    } else {
      throw new HttpFailure(400, 'BadRequest', `A ${what} needs a customer: set 'customerNumber' or 'customerId'.`);
    }
    if (String(customer.data.blocked).trim() === 'All')
      throw new HttpFailure(
        400,
        'Application_FieldValidationException',
        `You cannot create this type of document when Customer ${customer.data.number} is blocked with type All`,
      );
    return customer;
  }

  private checkCurrency(code: string): void {
    if (code === '') return;
    // As in a real company, the local currency has no Currency record: it is the blank code.
    if (code === this.currency || !CURRENCY_EXPONENTS.has(code)) {
      throw new HttpFailure(400, 'Internal_RecordNotFound', `The Currency does not exist. Identification fields and values: Code='${code}'`);
    }
  }

  /** Validates and completes lines for an order (not stored): all or nothing. */
  private prepareLines(order: Row, raw: unknown[], lineSet = 'salesOrderLines'): Array<{ data: Record<string, unknown>; hidden: Record<string, unknown> }> {
    const def = SETS[lineSet];
    const existing = this.linesOf(String(order.data.id), lineSet);
    let nextSequence = existing.reduce((m, r) => Math.max(m, Number(r.data.sequence)), 0);
    return raw.map((entry, index) => {
      if (!isObject(entry)) throw new HttpFailure(400, 'BadRequest', `${lineSet}[${index}] must be an object.`);
      const data = this.writable(def, entry);
      const lineType = String(data.lineType ?? (data.itemId || data.lineObjectNumber ? 'Item' : 'Comment'));
      const line: Record<string, unknown> = { ...data, lineType, documentId: order.data.id };
      const hidden: Record<string, unknown> = { taxPercent: 0 };
      if (lineType === 'Item') {
        let item: Row | undefined;
        if (data.itemId && data.itemId !== ZERO_GUID) item = this.table('items').get(String(data.itemId));
        else if (data.lineObjectNumber) item = this.findBy('items', 'number', data.lineObjectNumber);
        if (!item) {
          throw new HttpFailure(
            400,
            'Internal_RecordNotFound',
            `The Item does not exist. Identification fields and values: No.='${data.lineObjectNumber ?? data.itemId ?? ''}'`,
          );
        }
        if (item.data.blocked)
          throw new HttpFailure(
            400,
            'Application_FieldValidationException',
            `Blocked must be equal to 'No'  in Item: No.=${item.data.number}. Current value is 'Yes'.`,
          );
        line.itemId = item.data.id;
        line.lineObjectNumber = item.data.number;
        line.description ??= item.data.displayName;
        line.unitPrice ??= item.data.unitPrice;
        line.unitOfMeasureCode ??= item.data.baseUnitOfMeasureCode;
        hidden.taxPercent = item.hidden.taxPercent ?? 0;
      } else if (lineType === 'Account') {
        let account: Row | undefined;
        if (data.accountId && data.accountId !== ZERO_GUID) account = this.table('accounts').get(String(data.accountId));
        else if (data.lineObjectNumber) account = this.findBy('accounts', 'number', data.lineObjectNumber);
        if (!account)
          throw new HttpFailure(
            400,
            'Internal_RecordNotFound',
            `The G/L Account does not exist. Identification fields and values: No.='${data.lineObjectNumber ?? data.accountId ?? ''}'`,
          );
        line.accountId = account.data.id;
        line.lineObjectNumber = account.data.number;
        line.description ??= account.data.displayName;
        hidden.taxPercent = account.hidden.taxPercent ?? 0;
      } else if (lineType === 'Comment') {
        for (const k of ['quantity', 'unitPrice', 'discountAmount', 'discountPercent']) {
          if (Number(data[k] ?? 0) !== 0) throw new HttpFailure(400, 'BadRequest', `A Comment line cannot have '${k}'.`);
        }
      } else {
        throw new HttpFailure(400, 'BadRequest', `lineType '${lineType}' is not supported by the simulator (use Item, Account or Comment).`);
      }
      if (data.sequence === undefined) line.sequence = nextSequence += 10000;
      else nextSequence = Math.max(nextSequence, Number(data.sequence));
      line.id = randomUUID();
      return { data: { ...this.blank(lineSet), ...line }, hidden };
    });
  }

  /**
   * Line and document amounts, exactly (BigInt at BC's precision): line amount = quantity × unit
   * price − line discount, the order's invoice discount spread over the lines in proportion to
   * their amounts, tax from each line's percent on the side the customer's prices are quoted.
   */
  private computeTotals(order: Row, lines: Array<{ data: Record<string, unknown>; hidden: Record<string, unknown> }>): void {
    const e = this.exponent(String(order.data.currencyCode));
    const S = AMOUNT_SCALE;
    const includeTax = order.data.pricesIncludeTax === true;
    const amountOf = (v: unknown, what: string) => {
      try {
        return toScaled(Number(v ?? 0), S);
      } catch {
        throw new HttpFailure(400, 'BadRequest', `${what} is not a valid decimal.`);
      }
    };
    const money = (v: unknown, what: string) => rescale(amountOf(v, what), S, e);
    const lineAmounts = lines.map((l) => {
      if (l.data.lineType === 'Comment') return 0n;
      const qty = amountOf(l.data.quantity, 'quantity');
      const price = amountOf(l.data.unitPrice, 'unitPrice');
      const gross = rescale(qty * price, 2 * S, e);
      let discount = money(l.data.discountAmount, 'discountAmount');
      const pct = amountOf(l.data.discountPercent, 'discountPercent');
      if (discount === 0n && pct !== 0n) discount = divRound(gross * pct, 100n * 10n ** BigInt(S));
      l.data.discountAmount = scaledNumber(discount, e);
      if (pct === 0n && gross !== 0n && discount !== 0n) l.data.discountPercent = scaledNumber(divRound(discount * 100n * 10n ** 5n, gross), 5);
      return gross - discount;
    });
    const invoiceDiscount = money(order.data.discountAmount, 'discountAmount');
    const base = lineAmounts.reduce((a, b) => a + b, 0n);
    if (invoiceDiscount !== 0n && base <= 0n) throw new HttpFailure(400, 'BadRequest', 'An invoice discount needs lines with a positive amount.');
    if (invoiceDiscount > base && base > 0n) throw new HttpFailure(400, 'BadRequest', 'The invoice discount cannot be more than the order amount.');
    const allocation = allocate(invoiceDiscount, lineAmounts);
    let totalExcl = 0n;
    let totalTax = 0n;
    let totalIncl = 0n;
    lines.forEach((l, i) => {
      const pct = amountOf(l.hidden.taxPercent, 'taxPercent');
      const split = (amount: bigint) => {
        if (includeTax) {
          const excl = divRound(amount * 100n * 10n ** BigInt(S), 100n * 10n ** BigInt(S) + pct);
          return { excl, tax: amount - excl, incl: amount };
        }
        const tax = divRound(amount * pct, 100n * 10n ** BigInt(S));
        return { excl: amount, tax, incl: amount + tax };
      };
      const before = split(lineAmounts[i]);
      const after = split(lineAmounts[i] - allocation[i]);
      Object.assign(l.data, {
        taxPercent: scaledNumber(pct, S),
        amountExcludingTax: scaledNumber(before.excl, e),
        totalTaxAmount: scaledNumber(before.tax, e),
        amountIncludingTax: scaledNumber(before.incl, e),
        invoiceDiscountAllocation: scaledNumber(allocation[i], e),
        netAmount: scaledNumber(after.excl, e),
        netTaxAmount: scaledNumber(after.tax, e),
        netAmountIncludingTax: scaledNumber(after.incl, e),
        discountAppliedBeforeTax: true,
      });
      totalExcl += after.excl;
      totalTax += after.tax;
      totalIncl += after.incl;
    });
    Object.assign(order.data, {
      discountAmount: scaledNumber(invoiceDiscount, e),
      totalAmountExcludingTax: scaledNumber(totalExcl, e),
      totalTaxAmount: scaledNumber(totalTax, e),
      totalAmountIncludingTax: scaledNumber(totalIncl, e),
    });
  }

  private recalculate(order: Row, lineSet = 'salesOrderLines'): void {
    const lines = this.linesOf(String(order.data.id), lineSet);
    this.computeTotals(order, lines);
  }

  private update(def: SetDef, row: Row, body: unknown, ifMatch: string | undefined, q: URLSearchParams): Reply {
    if (!def.update) throw methodNotAllowed();
    this.checkIfMatch(row, ifMatch);
    if (!isObject(body)) throw new HttpFailure(400, 'BadRequest', 'The request body must be a JSON object.');
    const data = this.writable(def, body);
    if (def.set === 'salesCreditMemos' && ('invoiceId' in data || 'invoiceNumber' in data)) {
      Object.assign(data, this.appliesTo(data, String(data.customerNumber ?? row.data.customerNumber)));
    }
    if (LINE_SET[def.set]) {
      const lineSet = LINE_SET[def.set];
      const next: Row = { ...row, data: { ...row.data, ...data } };
      if ('customerNumber' in data || 'customerId' in data) {
        const customer = this.resolveCustomer({ customerId: 'customerId' in data ? data.customerId : undefined, customerNumber: data.customerNumber });
        Object.assign(next.data, {
          customerId: customer.data.id,
          customerNumber: customer.data.number,
          customerName: customer.data.displayName,
          pricesIncludeTax: customer.hidden.pricesIncludeTax === true,
        });
      }
      if ('currencyCode' in data) this.checkCurrency(String(data.currencyCode));
      this.computeTotals(next, this.linesOf(String(row.data.id), lineSet));
      row.data = next.data;
      this.recalculate(row, lineSet);
    } else if (HEADER_SET[def.set]) {
      const header = HEADER_SET[def.set];
      const order = this.table(header).get(String(row.data.documentId))!;
      const d = row.data;
      const sameObject = data.lineObjectNumber === undefined && data.itemId === undefined && data.accountId === undefined;
      const merged: Record<string, unknown> = {
        lineType: d.lineType,
        quantity: d.quantity,
        sequence: d.sequence,
        discountAmount: d.discountAmount,
        ...(sameObject ? { lineObjectNumber: d.lineObjectNumber, unitPrice: d.unitPrice, description: d.description } : {}),
        ...data,
      };
      if (d.lineType === 'Comment') for (const k of ['quantity', 'discountAmount', 'lineObjectNumber', 'unitPrice']) if (!(k in data)) delete merged[k];
      const [checked] = this.prepareLines(order, [merged], def.set);
      const updated = { data: { ...checked.data, id: d.id }, hidden: checked.hidden };
      // Totals are computed on copies first: a failure leaves the order as it was.
      const lines = this.linesOf(String(order.data.id), def.set).map((l) => (l === row ? updated : { data: { ...l.data }, hidden: l.hidden }));
      this.computeTotals({ ...order, data: { ...order.data } }, lines);
      row.data = updated.data;
      row.hidden = updated.hidden;
      this.recalculate(order, def.set);
      this.touch(header, order);
    } else if (def.set === 'items' || def.set === 'journals' || def.set === 'companyInformation') {
      Object.assign(row.data, data);
    } else if (def.set === 'journalLines') {
      Object.assign(row.data, this.completeJournalLine(this.table('journals').get(String(row.data.journalId))!, { ...row.data, ...data }, false));
    } else {
      throw methodNotAllowed();
    }
    this.touch(def.set, row);
    return this.single(def, row, q);
  }

  private remove(def: SetDef, row: Row, ifMatch: string | undefined): Reply {
    if (!def.remove) throw methodNotAllowed();
    this.checkIfMatch(row, ifMatch);
    const id = String(row.data.id);
    // As in BC: an order (or order line) with shipped but not invoiced quantity cannot be deleted.
    const shippedLines = def.set === 'salesOrders' ? this.linesOf(id) : def.set === 'salesOrderLines' ? [row] : [];
    const shipped = shippedLines.find((l) => Number(l.data.shippedQuantity ?? 0) !== Number(l.data.invoicedQuantity ?? 0));
    if (shipped) {
      const orderNo = def.set === 'salesOrders' ? row.data.number : this.table('salesOrders').get(String(row.data.documentId))?.data.number;
      throw new HttpFailure(
        400,
        'Application_DialogException',
        `Qty. Shipped Not Invoiced must be equal to '0'  in Sales Line: Document Type=Order, Document No.=${orderNo}, Line No.=${shipped.data.sequence}. Current value is '${Number(shipped.data.shippedQuantity) - Number(shipped.data.invoicedQuantity ?? 0)}'.`,
      );
    }
    this.table(def.set).delete(id);
    for (const nav of Object.values(def.nav ?? {})) {
      for (const child of [...this.table(nav.set).values()]) if (child.data[nav.parentKey] === id) this.table(nav.set).delete(String(child.data.id));
    }
    if (HEADER_SET[def.set]) {
      const order = this.table(HEADER_SET[def.set]).get(String(row.data.documentId));
      if (order) {
        this.recalculate(order, def.set);
        this.touch(HEADER_SET[def.set], order);
      }
    }
    this.changed(def.set, row, 'deleted');
    return { status: 204 };
  }

  private action(def: SetDef, row: Row, name: string): Reply {
    if (def.set === 'salesOrders' && name === 'shipAndInvoice') return this.shipAndInvoice(row);
    if (def.set === 'journals' && name === 'post') return this.postJournal(row);
    throw new HttpFailure(400, 'BadRequest_MethodNotFound', `The action 'Microsoft.NAV.${name}' is not defined on '${def.name}'.`);
  }

  private shipAndInvoice(order: Row): Reply {
    const lines = this.linesOf(String(order.data.id));
    if (!lines.some((l) => l.data.lineType !== 'Comment' && Number(l.data.quantity) !== 0)) {
      throw new HttpFailure(400, 'Application_DialogException', 'There is nothing to post.');
    }
    if (Number(order.data.totalAmountIncludingTax) < 0) {
      throw new HttpFailure(400, 'Application_DialogException', 'The total amount for the invoice must be 0 or greater.');
    }
    // A fully shipped and invoiced order is deleted; the posted invoice remains.
    const d = order.data;
    this.insert(
      'salesInvoices',
      {
        number: `PS-INV${++this.invoiceNo}`,
        externalDocumentNumber: d.externalDocumentNumber,
        orderNumber: d.number,
        invoiceDate: d.postingDate === BLANK_DATE ? today() : d.postingDate,
        postingDate: d.postingDate === BLANK_DATE ? today() : d.postingDate,
        customerId: d.customerId,
        customerNumber: d.customerNumber,
        customerName: d.customerName,
        currencyCode: d.currencyCode,
        pricesIncludeTax: d.pricesIncludeTax,
        discountAmount: d.discountAmount,
        totalAmountExcludingTax: d.totalAmountExcludingTax,
        totalTaxAmount: d.totalTaxAmount,
        totalAmountIncludingTax: d.totalAmountIncludingTax,
        status: 'Open',
      },
      { lines: lines.length },
    );
    for (const l of lines) this.table('salesOrderLines').delete(String(l.data.id));
    this.table('salesOrders').delete(String(d.id));
    this.changed('salesOrders', order, 'deleted');
    return { status: 204 };
  }

  private createJournalLine(journal: Row, body: Record<string, unknown>): Row {
    const data = this.writable(SETS.journalLines, body);
    const line = this.completeJournalLine(journal, data, true);
    return this.insert('journalLines', line);
  }

  private completeJournalLine(journal: Row, data: Record<string, unknown>, fresh: boolean): Record<string, unknown> {
    const accountType = String(data.accountType ?? 'G/L Account');
    if (accountType !== 'G/L Account')
      throw new HttpFailure(400, 'BadRequest', `accountType '${accountType}' is not supported by the simulator (use G/L Account).`);
    let account: Row | undefined;
    if (data.accountId && data.accountId !== ZERO_GUID) account = this.table('accounts').get(String(data.accountId));
    else if (data.accountNumber) account = this.findBy('accounts', 'number', data.accountNumber);
    if ((data.accountId && data.accountId !== ZERO_GUID) || data.accountNumber) {
      if (!account)
        throw new HttpFailure(
          400,
          'Internal_RecordNotFound',
          `The G/L Account does not exist. Identification fields and values: No.='${data.accountNumber ?? data.accountId}'`,
        );
    }
    let balancing: Row | undefined;
    if (data.balancingAccountNumber) {
      balancing = this.findBy('accounts', 'number', data.balancingAccountNumber);
      if (!balancing)
        throw new HttpFailure(
          400,
          'Internal_RecordNotFound',
          `The G/L Account does not exist. Identification fields and values: No.='${data.balancingAccountNumber}'`,
        );
    }
    try {
      toScaled(Number(data.amount ?? 0), this.exponent(''));
    } catch {
      throw new HttpFailure(400, 'BadRequest', 'amount is not a valid decimal.');
    }
    const lines = [...this.table('journalLines').values()].filter((l) => l.data.journalId === journal.data.id);
    const lineNumber = data.lineNumber ?? (fresh ? lines.reduce((m, l) => Math.max(m, Number(l.data.lineNumber)), 0) + 10000 : data.lineNumber);
    return {
      ...data,
      journalId: journal.data.id,
      journalDisplayName: journal.data.code,
      lineNumber,
      accountType,
      accountId: account?.data.id ?? ZERO_GUID,
      accountNumber: account?.data.number ?? '',
      postingDate: data.postingDate ?? today(),
      balanceAccountType: data.balanceAccountType ?? 'G/L Account',
      balancingAccountId: balancing?.data.id ?? ZERO_GUID,
      balancingAccountNumber: balancing?.data.number ?? '',
    };
  }

  private postJournal(journal: Row): Reply {
    const lines = [...this.table('journalLines').values()]
      .filter((l) => l.data.journalId === journal.data.id)
      .sort((a, b) => Number(a.data.lineNumber) - Number(b.data.lineNumber));
    if (lines.length === 0) throw new HttpFailure(400, 'Application_DialogException', 'There is nothing to post.');
    const e = this.exponent('');
    const sums = new Map<string, bigint>();
    for (const l of lines) {
      if (!l.data.accountNumber)
        throw new HttpFailure(
          400,
          'Application_FieldValidationException',
          `Account No. must have a value in Gen. Journal Line: Journal Template Name=GENERAL, Journal Batch Name=${journal.data.code}, Line No.=${l.data.lineNumber}. It cannot be zero or empty.`,
        );
      if (l.data.balancingAccountNumber) continue;
      const key = `${l.data.postingDate}|${l.data.documentNumber}`;
      sums.set(key, (sums.get(key) ?? 0n) + toScaled(Number(l.data.amount), e));
    }
    for (const [key, sum] of sums) {
      if (sum !== 0n) {
        const [date, doc] = key.split('|');
        throw new HttpFailure(
          400,
          'Application_DialogException',
          `Document No. ${doc} is out of balance by ${scaledNumber(sum, e)}. Please check that Posting Date (${date}), Document Type, Document No. and Amount are correct for each line.`,
        );
      }
    }
    const entry = (l: Row, accountNumber: string, amount: bigint) => {
      const account = this.findBy('accounts', 'number', accountNumber)!;
      this.insert('generalLedgerEntries', {
        entryNumber: ++this.glEntryNo,
        postingDate: l.data.postingDate,
        documentNumber: l.data.documentNumber,
        documentType: '',
        accountId: account.data.id,
        accountNumber,
        description: l.data.description,
        debitAmount: scaledNumber(amount > 0n ? amount : 0n, e),
        creditAmount: scaledNumber(amount < 0n ? -amount : 0n, e),
      });
    };
    for (const l of lines) {
      const amount = toScaled(Number(l.data.amount), e);
      entry(l, String(l.data.accountNumber), amount);
      if (l.data.balancingAccountNumber) entry(l, String(l.data.balancingAccountNumber), -amount);
      this.table('journalLines').delete(String(l.data.id));
    }
    return { status: 204 };
  }

  // ---- webhooks (subscriptions) ----

  private subscriptionRoute(method: string, key: string | undefined, body: unknown, ifMatch: string | undefined): Reply | Promise<Reply> {
    const context = `${this.apiRoot}/$metadata#subscriptions`;
    const shape = (s: Subscription) => ({ '@odata.etag': `W/"${Buffer.from(`'${s.version};${s.data.subscriptionId}'`).toString('base64')}"`, ...s.data });
    if (key === undefined) {
      if (method === 'GET') return { status: 200, body: { '@odata.context': context, value: [...this.subscriptions.values()].map(shape) } };
      if (method === 'POST') return this.subscriptionWrite(method, key, body, ifMatch);
      throw methodNotAllowed();
    }
    const s = this.subscriptions.get(key);
    if (!s) throw new HttpFailure(404, 'BadRequest_NotFound', `The subscription '${key}' does not exist.`);
    if (method === 'GET') return { status: 200, body: { '@odata.context': `${context}/$entity`, ...shape(s) } };
    if (method === 'PATCH') return this.subscriptionWrite(method, key, body, ifMatch);
    if (method === 'DELETE') {
      this.checkSubscriptionTag(s, ifMatch, shape(s)['@odata.etag']);
      if (s.timer) clearTimeout(s.timer);
      this.subscriptions.delete(key);
      return { status: 204 };
    }
    throw methodNotAllowed();
  }

  private checkSubscriptionTag(s: Subscription, ifMatch: string | undefined, current: string): void {
    void s;
    if (!ifMatch)
      throw new HttpFailure(
        400,
        'BadRequest_InvalidToken',
        'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.',
      );
    if (ifMatch.trim() !== '*' && ifMatch.trim() !== current)
      throw new HttpFailure(409, 'Request_EntityChanged', 'Another user has already changed the record.');
  }

  /** Subscription create and renew need the subscriber's handshake, so they are asynchronous. */
  private async subscriptionWrite(method: string, key: string | undefined, body: unknown, ifMatch: string | undefined): Promise<Reply> {
    const context = `${this.apiRoot}/$metadata#subscriptions/$entity`;
    const shape = (s: Subscription) => ({
      '@odata.context': context,
      '@odata.etag': `W/"${Buffer.from(`'${s.version};${s.data.subscriptionId}'`).toString('base64')}"`,
      ...s.data,
    });
    if (!isObject(body)) throw new HttpFailure(400, 'BadRequest', 'The request body must be a JSON object.');
    if (method === 'POST' && key === undefined) {
      const notificationUrl = String(body.notificationUrl ?? '');
      if (!/^https?:\/\//.test(notificationUrl)) throw new HttpFailure(400, 'BadRequest', "'notificationUrl' must be an http(s) URL.");
      const clientState = String(body.clientState ?? '');
      if (clientState.length > 2048) throw new HttpFailure(400, 'BadRequest', "'clientState' can be at most 2048 characters.");
      const resource = String(body.resource ?? '');
      const set = this.resourceSet(resource);
      await this.handshake(notificationUrl);
      const subscriptionId = randomUUID().replace(/-/g, '');
      const s: Subscription = {
        version: 1,
        set,
        pending: [],
        delivering: false,
        data: {
          subscriptionId,
          notificationUrl,
          resource,
          userId: ZERO_GUID,
          lastModifiedDateTime: new Date().toISOString(),
          clientState,
          expirationDateTime: new Date(Date.now() + this.subscriptionOptions.lifetimeMs).toISOString(),
        },
      };
      this.subscriptions.set(subscriptionId, s);
      return { status: 201, body: shape(s) };
    }
    if (method === 'PATCH' && key !== undefined) {
      const s = this.subscriptions.get(key);
      if (!s) throw new HttpFailure(404, 'BadRequest_NotFound', `The subscription '${key}' does not exist.`);
      this.checkSubscriptionTag(s, ifMatch, shape(s)['@odata.etag']);
      const notificationUrl = body.notificationUrl !== undefined ? String(body.notificationUrl) : s.data.notificationUrl;
      await this.handshake(notificationUrl);
      s.version++;
      Object.assign(s.data, {
        notificationUrl,
        clientState: body.clientState !== undefined ? String(body.clientState) : s.data.clientState,
        lastModifiedDateTime: new Date().toISOString(),
        expirationDateTime: new Date(Date.now() + this.subscriptionOptions.lifetimeMs).toISOString(),
      });
      return { status: 200, body: shape(s) };
    }
    throw methodNotAllowed();
  }

  private resourceSet(resource: string): string {
    const m = /(?:^|\/)api\/v2\.0\/companies\(([^)]+)\)\/([A-Za-z]+)$/.exec(resource);
    if (!m || m[1].toLowerCase() !== this.companyId || !SETS[m[2]]) {
      throw new HttpFailure(400, 'BadRequest', `The resource '${resource}' cannot be subscribed to: use /api/v2.0/companies(${this.companyId})/<entity set>.`);
    }
    return m[2];
  }

  private async handshake(notificationUrl: string): Promise<void> {
    const token = randomUUID();
    const url = new URL(notificationUrl);
    url.searchParams.set('validationToken', token);
    let ok = false;
    try {
      const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(this.subscriptionOptions.callTimeoutMs) });
      const text = (await res.text()).trim();
      ok = res.status === 200 && (text === token || text === JSON.stringify(token));
    } catch {
      ok = false;
    }
    if (!ok)
      throw new HttpFailure(
        400,
        'BadRequest',
        'The subscription could not be validated: the notification URL must answer 200 with the validationToken in the body.',
      );
  }

  private changed(set: string, row: Row, changeType: 'created' | 'updated' | 'deleted'): void {
    if (this.closed || this.subscriptions.size === 0) return;
    const resource = `/api/v2.0/companies(${this.companyId})/${set}(${row.data.id})`;
    for (const s of this.subscriptions.values()) {
      if (s.set !== set) continue;
      if (Date.parse(s.data.expirationDateTime) <= Date.now()) continue;
      s.pending.push({ resource, changeType, lastModifiedDateTime: new Date().toISOString() });
      if (!s.timer && !s.delivering) s.timer = setTimeout(() => this.deliver(s, 0), this.subscriptionOptions.notificationDelayMs);
    }
  }

  private async deliver(s: Subscription, attempt: number, batch?: Subscription['pending']): Promise<void> {
    s.timer = undefined;
    if (this.closed || !this.subscriptions.has(s.data.subscriptionId)) return;
    const changes = batch ?? s.pending.splice(0);
    if (changes.length === 0) return;
    const base = { subscriptionId: s.data.subscriptionId, clientState: s.data.clientState, expirationDateTime: s.data.expirationDateTime };
    let value: Array<Record<string, unknown>>;
    if (changes.length > this.subscriptionOptions.collectionThreshold) {
      const since = changes[0].lastModifiedDateTime;
      value = [
        {
          ...base,
          resource: `/api/v2.0/companies(${this.companyId})/${s.set}?$filter=lastModifiedDateTime gt ${since}`,
          changeType: 'collection',
          lastModifiedDateTime: changes[changes.length - 1].lastModifiedDateTime,
        },
      ];
    } else {
      value = changes.map((c) => ({ ...base, ...c }));
    }
    s.delivering = true;
    let status = 0;
    try {
      const res = await fetch(s.data.notificationUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value }),
        signal: AbortSignal.timeout(this.subscriptionOptions.callTimeoutMs),
      });
      await res.text();
      status = res.status;
    } catch {
      status = 0; // unreachable or no answer: retried like a 5xx
    }
    s.delivering = false;
    if (this.closed) return;
    if (status >= 200 && status < 300) {
      if (s.pending.length) s.timer = setTimeout(() => this.deliver(s, 0), this.subscriptionOptions.notificationDelayMs);
      return;
    }
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    const wait = this.subscriptionOptions.retryDelaysMs[attempt];
    if (!retryable || wait === undefined) {
      this.log(`subscription ${s.data.subscriptionId} deleted: notification answered ${status || 'nothing'}`);
      this.subscriptions.delete(s.data.subscriptionId);
      return;
    }
    s.timer = setTimeout(() => this.deliver(s, attempt + 1, changes), wait);
  }

  // ---- control endpoints for tests in other processes ----

  private control(method: string, url: URL, raw: string, res: http.ServerResponse): void {
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    try {
      const body = raw ? JSON.parse(raw) : {};
      switch (`${method} ${url.pathname}`) {
        case 'GET /__simulator/state':
          return reply(200, this.state());
        case 'POST /__simulator/faults':
          this.setFaults(body);
          return reply(200, this.getFaults());
        case 'POST /__simulator/batch-faults':
          this.setBatchFaults(body);
          return reply(200, { ok: true });
        case 'POST /__simulator/reset':
          this.reset();
          return reply(200, this.state().counts);
        case 'POST /__simulator/items':
          this.upsertItems(Array.isArray(body) ? body : (body.items ?? []));
          return reply(200, { items: this.table('items').size });
        case 'POST /__simulator/shipments':
          return reply(201, this.postShipment(body, { lines: body.lines, postingDate: body.postingDate }));
        case 'POST /__simulator/throttle':
          this.throttle = { ...this.throttle, ...body };
          if (typeof body.latencyMs === 'number') this.latencyMs = body.latencyMs;
          return reply(200, { ...this.throttle, latencyMs: this.latencyMs });
        default:
          return reply(404, { error: { code: 'NotFound', message: `no control endpoint ${method} ${url.pathname}` } });
      }
    } catch (err) {
      reply(err instanceof HttpFailure ? err.status : 400, {
        error: { code: err instanceof HttpFailure ? err.code : 'BadRequest', message: (err as Error).message },
      });
    }
  }
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Carried out, but the answer is lost (the connection dropped): a test fault. */
  lose?: boolean;
}

function parentSetOf(def: SetDef): string {
  for (const s of Object.values(SETS)) for (const nav of Object.values(s.nav ?? {})) if (nav.set === def.set) return s.set;
  return def.set;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function methodNotAllowed(): HttpFailure {
  return new HttpFailure(405, 'BadRequest_MethodNotAllowed', 'The requested resource does not support this HTTP method.');
}

function notFound(def: SetDef): HttpFailure {
  return new HttpFailure(404, 'BadRequest_NotFound', `The ${def.name.replace('Microsoft.NAV.', '')} does not exist.`);
}

function nonNegative(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  if (!/^\d+$/.test(value)) throw new HttpFailure(400, 'BadRequest', `Invalid value '${value}' for ${name}: a non-negative integer is expected.`);
  return Number(value);
}

function parseSegment(segment: string): { name: string; key?: string } {
  const m = /^([A-Za-z][\w.]*)(?:\((.*)\))?$/.exec(segment);
  if (!m) throw new HttpFailure(404, 'BadRequest_NotFound', `No HTTP resource was found that matches '${segment}'.`);
  let key = m[2];
  if (key !== undefined) {
    key = key.trim();
    if (/^'.*'$/.test(key)) key = key.slice(1, -1).replace(/''/g, "'");
    else if (/^id=/.test(key)) key = key.slice(3);
  }
  return { name: m[1], key };
}

function parseBody(raw: string, method: string): unknown {
  if (method === 'GET' || method === 'DELETE' || raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpFailure(400, 'BadRequest', 'The request body is not valid JSON.');
  }
}

function convert(def: SetDef, name: string, fd: FieldDef, value: unknown): unknown {
  const wrong = (edm: string) =>
    new HttpFailure(
      400,
      'BadRequest',
      `Cannot convert the literal '${JSON.stringify(value)}' to the expected type '${edm}' for property '${name}' of '${def.name}'.`,
    );
  switch (fd.type) {
    case 'string': {
      if (typeof value !== 'string') throw wrong('Edm.String');
      if (fd.max !== undefined && value.length > fd.max) {
        throw new HttpFailure(
          400,
          'BadRequest',
          `The length of the string is ${value.length}, but it must be less than or equal to ${fd.max} characters. Value: ${value}`,
        );
      }
      return fd.code ? value.trim().toUpperCase() : value;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrong('Edm.Decimal');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('Edm.Boolean');
      return value;
    case 'guid':
      if (typeof value !== 'string' || !GUID.test(value)) throw wrong('Edm.Guid');
      return value.toLowerCase();
    case 'date':
      if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value))) throw wrong('Edm.Date');
      return value;
    case 'datetime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw wrong('Edm.DateTimeOffset');
      return value;
  }
}

/** Spreads `total` over `weights` in proportion, to the unit, largest remainders first. */
function allocate(total: bigint, weights: bigint[]): bigint[] {
  const positive = weights.map((w) => (w > 0n ? w : 0n));
  const sum = positive.reduce((a, b) => a + b, 0n);
  if (total === 0n || sum === 0n) return weights.map(() => 0n);
  const shares = positive.map((w) => (total * w) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  const order = positive.map((w, i) => ({ i, rem: (total * w) % sum })).sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
  for (const { i } of order) {
    if (left <= 0n) break;
    if (positive[i] === 0n) continue;
    shares[i] += 1n;
    left -= 1n;
  }
  return shares;
}

function toFailure(err: unknown): HttpFailure {
  if (err instanceof HttpFailure) return err;
  if (err instanceof ODataError) return new HttpFailure(err.status, err.code, err.message);
  return new HttpFailure(500, 'Internal_ServerError', (err as Error)?.message ?? String(err));
}

function readBody(req: http.IncomingMessage, limit = 50 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpFailure(413, 'RequestEntityTooLarge', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// ---- CLI ------------------------------------------------------------------------------------

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  tenant: { value: '<id>', help: 'tenant in the URL (default tillwire)' },
  environment: { value: '<name>', help: 'environment in the URL (default sandbox)' },
  'company-id': { value: '<guid>', help: "the company's id" },
  token: { value: '<text>', help: 'static bearer token accepted (default tillwire-demo-token)' },
  'client-id': { value: '<id>', help: 'client id the token endpoint accepts (default tillwire-demo-client)' },
  'client-secret': { value: '<text>', help: 'its secret (default tillwire-demo-secret)' },
  currency: { value: '<ISO>', help: "the company's local currency (default GBP)" },
  latency: { kind: 'number', value: '<ms>', help: 'processing time per request (default 0)' },
  'max-requests': { kind: 'number', value: '<n>', help: 'requests per user per window (default 6000)' },
  window: { kind: 'number', value: '<ms>', help: 'sliding window length (default 300000)' },
  'max-concurrent': { kind: 'number', value: '<n>', help: 'requests processed at once (default 5)' },
  ...FAULT_FLAGS,
  'notification-delay': { kind: 'number', value: '<ms>', help: 'webhook debounce (default 30000)' },
} as const satisfies Flags;

/** The simulator's options from its command line (default port 18070; --seed seeds the faults). */
export function parseCliArgs(argv: string[]): SimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  const opts: SimulatorOptions = { port: v.port ?? 18070 };
  if (v.host !== undefined) opts.host = v.host;
  if (v.tenant !== undefined) opts.tenant = v.tenant;
  if (v.environment !== undefined) opts.environment = v.environment;
  if (v['company-id'] !== undefined) opts.companyId = v['company-id'];
  if (v.token !== undefined) opts.token = v.token;
  if (v['client-id'] !== undefined || v['client-secret'] !== undefined) {
    opts.clients = [{ clientId: v['client-id'] ?? 'tillwire-demo-client', clientSecret: v['client-secret'] ?? 'tillwire-demo-secret' }];
  }
  if (v.currency !== undefined) opts.currency = v.currency;
  if (v.latency !== undefined) opts.latencyMs = v.latency;
  if (v['notification-delay'] !== undefined) opts.subscriptions = { notificationDelayMs: v['notification-delay'] };
  const throttle: Partial<ThrottleOptions> = {};
  if (v['max-requests'] !== undefined) throttle.maxRequests = v['max-requests'];
  if (v.window !== undefined) throttle.windowMs = v.window;
  if (v['max-concurrent'] !== undefined) throttle.maxConcurrent = v['max-concurrent'];
  const faults: Faults = {};
  if (v['error-rate'] !== undefined) faults.errorRate = v['error-rate'];
  if (v['timeout-rate'] !== undefined) faults.timeoutRate = v['timeout-rate'];
  if (v['lost-response-rate'] !== undefined) faults.lostResponseRate = v['lost-response-rate'];
  if (v.seed !== undefined) faults.seed = v.seed;
  opts.throttle = throttle;
  opts.faults = faults;
  return opts;
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Business Central API v2.0 simulator (Tillwire)', 'node dist/simulators/business-central/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (opts) => {
      const sim = await new BusinessCentralSimulator({ ...opts, log: (l) => console.error(l) }).start();
      const client = sim.clients[0];
      return {
        lines: [
          `Business Central simulator listening on ${sim.url}`,
          `  base URL     ${sim.baseUrl}   (tenant ${sim.tenant}, environment ${sim.environment})`,
          `  company      ${sim.companyId}  (${sim.companyName}, local currency ${sim.currency})`,
          `  API          ${sim.companyUrl}`,
          `  token        ${sim.token}`,
          `  token URL    ${sim.tokenUrl}  (client ${client.clientId} / ${client.clientSecret})`,
          `  test hooks   ${sim.url}/__simulator/state`,
        ],
        stop: () => sim.close(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
