/**
 * What Tillwire relies on from Amazon's Selling Partner API, in one place: the client, the mapping
 * and the simulator (simulators/amazon) all read these facts from here, so the simulator cannot
 * drift from what production code expects. No Node-RED import.
 */

/** Published default usage plans per operation: requests per second and burst. */
export const USAGE_PLANS: Readonly<Record<string, { rate: number; burst: number }>> = {
  getOrders: { rate: 0.0167, burst: 20 },
  getOrder: { rate: 0.5, burst: 30 },
  getOrderItems: { rate: 0.5, burst: 30 },
  confirmShipment: { rate: 2, burst: 10 },
  getListingsItem: { rate: 5, burst: 10 },
  patchListingsItem: { rate: 5, burst: 5 },
};

/** The body of a 429 (Amazon sends it with no Retry-After header). */
export const QUOTA_EXCEEDED = {
  errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }],
};

export interface Marketplace {
  /** Amazon's marketplace id. */
  id: string;
  /** ISO 3166-1 alpha-2 country (Amazon's own table writes the United Kingdom as UK; this is GB). */
  country: string;
  /** The ISO 4217 currency the marketplace sells in. */
  currency: string;
  /**
   * True when an item's `ItemPrice` already includes its `ItemTax` (VAT/GST/consumption-tax
   * markets: prices are shown to consumers with tax); false when tax is added on top (US, CA).
   */
  taxesIncluded: boolean;
}

/**
 * Every marketplace of SP-API's marketplace id table (developer-docs.amazon.com/sp-api/docs/
 * marketplace-ids): ids and countries from it; the currency is the country's. Amazon documents
 * no tax-inclusive flag: it is inferred from how each country's consumer prices are displayed
 * (docs/connectors/amazon.md says which are confirmed by orders and which are not).
 */
export const MARKETPLACES: readonly Marketplace[] = [
  // North America
  { id: 'A2EUQ1WTGCTBG2', country: 'CA', currency: 'CAD', taxesIncluded: false },
  { id: 'ATVPDKIKX0DER', country: 'US', currency: 'USD', taxesIncluded: false },
  { id: 'A1AM78C64UM0Y8', country: 'MX', currency: 'MXN', taxesIncluded: true },
  { id: 'A2Q3Y263D00KWC', country: 'BR', currency: 'BRL', taxesIncluded: true },
  // Europe, Middle East, Africa, India
  { id: 'A28R8C7NBKEWEA', country: 'IE', currency: 'EUR', taxesIncluded: true },
  { id: 'A1RKKUPIHCS9HS', country: 'ES', currency: 'EUR', taxesIncluded: true },
  { id: 'A1F83G8C2ARO7P', country: 'GB', currency: 'GBP', taxesIncluded: true },
  { id: 'A13V1IB3VIYZZH', country: 'FR', currency: 'EUR', taxesIncluded: true },
  { id: 'AMEN7PMS3EDWL', country: 'BE', currency: 'EUR', taxesIncluded: true },
  { id: 'A1805IZSGTT6HS', country: 'NL', currency: 'EUR', taxesIncluded: true },
  { id: 'A1PA6795UKMFR9', country: 'DE', currency: 'EUR', taxesIncluded: true },
  { id: 'APJ6JRA9NG5V4', country: 'IT', currency: 'EUR', taxesIncluded: true },
  { id: 'A2NODRKZP88ZB9', country: 'SE', currency: 'SEK', taxesIncluded: true },
  { id: 'AE08WJ6YKNBMC', country: 'ZA', currency: 'ZAR', taxesIncluded: true },
  { id: 'A1C3SOZRARQ6R3', country: 'PL', currency: 'PLN', taxesIncluded: true },
  { id: 'ARBP9OOSHTCHU', country: 'EG', currency: 'EGP', taxesIncluded: true },
  { id: 'A33AVAJ2PDY3EV', country: 'TR', currency: 'TRY', taxesIncluded: true },
  { id: 'A17E79C6D8DWNP', country: 'SA', currency: 'SAR', taxesIncluded: true },
  { id: 'A2VIGQ35RCS4UG', country: 'AE', currency: 'AED', taxesIncluded: true },
  { id: 'A21TJRUUN4KGV', country: 'IN', currency: 'INR', taxesIncluded: true },
  // Far East
  { id: 'A19VAU5U5O7RUS', country: 'SG', currency: 'SGD', taxesIncluded: true },
  { id: 'A39IBJ37TRP1C6', country: 'AU', currency: 'AUD', taxesIncluded: true },
  { id: 'A1VC38T7YXB528', country: 'JP', currency: 'JPY', taxesIncluded: true },
];

const BY_ID = new Map(MARKETPLACES.map((m) => [m.id, m]));

/** The marketplace with this id, or undefined when it is not one of Amazon's. */
export function findMarketplace(id: unknown): Marketplace | undefined {
  return typeof id === 'string' ? BY_ID.get(id) : undefined;
}

/** The marketplace with this id; an id that is not in the table is an error naming it. */
export function marketplaceById(id: unknown): Marketplace {
  const found = findMarketplace(id);
  if (!found) throw new Error(`unknown Amazon marketplace id ${JSON.stringify(id)}: not in SP-API's marketplace table (nodes/amazon/contract.ts)`);
  return found;
}
