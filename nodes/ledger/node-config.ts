/**
 * Turns the ledger nodes' edit-dialog properties into the plain options of the ledger modules.
 * No Node-RED import: tested on its own.
 */
import type { StoreJournalMapping, TenderType } from './store-journal';
import { TENDER_TYPES } from './store-journal';
import type { JournalCsvOptions } from './journal-csv';
import { QUICKBOOKS_DATE_FORMATS } from './journal-csv-quickbooks';
import type { SettlementAccountMapping } from './settlement-mapping';

export interface RevenueRateRow {
  rate?: string;
  account?: string;
}

export interface TaxCodeRow {
  code?: string;
  /** Optional: a row with a rate applies to that code at that rate only. */
  rate?: string;
  account?: string;
  ledgerTaxCode?: string;
}

export interface JournalNodeConfig {
  defaultRevenueAccount?: string;
  revenueRates?: RevenueRateRow[];
  taxCodes?: TaxCodeRow[];
  tenderAccounts?: Partial<Record<TenderType, string>>;
  roundingAccount?: string;
}

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

export function mappingFromConfig(config: JournalNodeConfig): StoreJournalMapping {
  const revenueAccounts: Record<string, string> = {};
  for (const row of Array.isArray(config.revenueRates) ? config.revenueRates : []) {
    if (text(row?.rate) && text(row?.account)) revenueAccounts[text(row.rate)] = text(row.account);
  }
  const taxAccounts: Record<string, string> = {};
  const ledgerTaxCodes: Record<string, string> = {};
  for (const row of Array.isArray(config.taxCodes) ? config.taxCodes : []) {
    const code = text(row?.code);
    if (!code) continue;
    if (text(row.account)) taxAccounts[text(row.rate) ? `${code}@${text(row.rate)}` : code] = text(row.account);
    if (text(row.ledgerTaxCode)) ledgerTaxCodes[code] = text(row.ledgerTaxCode);
  }
  const tenderAccounts: Partial<Record<TenderType, string>> = {};
  const tenders = config.tenderAccounts && typeof config.tenderAccounts === 'object' ? config.tenderAccounts : {};
  for (const type of TENDER_TYPES) if (text(tenders[type])) tenderAccounts[type] = text(tenders[type]);
  return {
    revenueAccounts,
    ...(text(config.defaultRevenueAccount) ? { defaultRevenueAccount: text(config.defaultRevenueAccount) } : {}),
    taxAccounts,
    ledgerTaxCodes,
    tenderAccounts,
    ...(text(config.roundingAccount) ? { roundingAccount: text(config.roundingAccount) } : {}),
  };
}

/** "store=Store, channel=Sales channel" → { store: "Store", channel: "Sales channel" } (order kept). */
export function parseTrackingNames(value: unknown): Record<string, string> {
  const names: Record<string, string> = {};
  for (const part of text(value).split(/[,\n]/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const name = part.slice(eq + 1).trim();
    if (key && name) names[key] = name;
  }
  return names;
}

/**
 * "4000=Sales\n6100=Selling fees:Amazon" → { "4000": "Sales", "6100": "Selling fees:Amazon" }: one
 * `code=name` per line (names may hold commas and colons, so only a line break separates them).
 */
export function parseAccountNames(value: unknown): Record<string, string> {
  const names: Record<string, string> = {};
  for (const row of text(value).split(/\r?\n/)) {
    const eq = row.indexOf('=');
    if (eq <= 0) continue;
    const code = row.slice(0, eq).trim();
    const name = row.slice(eq + 1).trim();
    if (code && name) names[code] = name;
  }
  return names;
}

/** The journal file node's layout settings (edit dialog). */
export interface JournalFileConfig {
  defaultTaxRate?: string;
  trackingNames?: string;
  dateFormat?: string;
  accountNames?: string;
  classFrom?: string;
  locationFrom?: string;
}

/** The layout options of the journal file node's settings; an unknown date format falls back to MM/DD/YYYY. */
export function layoutOptions(config: JournalFileConfig): JournalCsvOptions {
  const dateFormat = QUICKBOOKS_DATE_FORMATS.find((f) => f === text(config.dateFormat));
  return {
    xero: { defaultTaxRate: config.defaultTaxRate, trackingNames: parseTrackingNames(config.trackingNames) },
    quickbooks: {
      ...(dateFormat ? { dateFormat } : {}),
      accountNames: parseAccountNames(config.accountNames),
      ...(text(config.classFrom) ? { classFrom: text(config.classFrom) } : {}),
      ...(text(config.locationFrom) ? { locationFrom: text(config.locationFrom) } : {}),
    },
  };
}

export interface SettlementAccountsConfig {
  /** Rows of the account table: a line type ("fee") or type/category ("fee/commission") and its account. */
  accounts?: Array<{ key?: string; account?: string }>;
  taxCodes?: Array<{ key?: string; code?: string }>;
  bankAccount?: string;
  payableAccount?: string;
  reserveAccount?: string;
  carriedForwardAccount?: string;
  clearingAccount?: string;
  suspenseAccount?: string;
  /** Tracking dimensions written on every line. */
  trackChannel?: string;
  trackMarketplace?: string;
  trackBrand?: string;
  trackStore?: string;
}

/** The `tillwire-settlement-accounts` dialog as a SettlementAccountMapping (empty fields left out, so mappingProblems names what is missing). */
export function settlementMappingFromConfig(config: SettlementAccountsConfig): SettlementAccountMapping {
  const accounts: Record<string, string> = {};
  for (const row of Array.isArray(config.accounts) ? config.accounts : [])
    if (text(row?.key) && text(row?.account)) accounts[text(row.key)] = text(row.account);
  const taxCodes: Record<string, string> = {};
  for (const row of Array.isArray(config.taxCodes) ? config.taxCodes : []) if (text(row?.key) && text(row?.code)) taxCodes[text(row.key)] = text(row.code);
  const tracking: Record<string, string> = {};
  for (const [name, value] of [
    ['channel', config.trackChannel],
    ['marketplace', config.trackMarketplace],
    ['brand', config.trackBrand],
    ['store', config.trackStore],
  ] as const) {
    if (text(value)) tracking[name] = text(value);
  }
  const optional = (name: keyof SettlementAccountMapping, value: unknown) => (text(value) ? { [name]: text(value) } : {});
  return {
    accounts,
    bankAccount: text(config.bankAccount) || (undefined as unknown as string),
    ...optional('payableAccount', config.payableAccount),
    ...optional('reserveAccount', config.reserveAccount),
    ...optional('carriedForwardAccount', config.carriedForwardAccount),
    ...optional('clearingAccount', config.clearingAccount),
    ...optional('suspenseAccount', config.suspenseAccount),
    ...(Object.keys(tracking).length ? { tracking } : {}),
    ...(Object.keys(taxCodes).length ? { taxCodes } : {}),
  };
}

/** The type of the settlement account mapping's config node, and what it offers the nodes using it. */
export const SETTLEMENT_ACCOUNTS = 'tillwire-settlement-accounts';

export interface SettlementAccounts {
  mapping: SettlementAccountMapping;
  /** What is wrong with the mapping itself; empty when usable. */
  problems: string[];
}
