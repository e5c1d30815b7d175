/**
 * The slice of the Square Orders, Refunds and Webhooks API shapes Tillwire reads and its simulator
 * serves (docs/connectors/square.md). Money is integer minor units plus a currency, as Square sends it.
 */
export interface SqMoney {
  amount: number;
  currency: string;
}

export interface SqAppliedTax {
  uid?: string;
  tax_uid: string;
  applied_money?: SqMoney;
}

export interface SqAppliedDiscount {
  uid?: string;
  discount_uid: string;
  applied_money?: SqMoney;
}

export interface SqLineItem {
  uid?: string;
  name?: string;
  /** Decimal text, e.g. "2" or "1.5". */
  quantity: string;
  catalog_object_id?: string;
  variation_name?: string;
  item_type?: 'ITEM' | 'CUSTOM_AMOUNT' | 'GIFT_CARD';
  base_price_money?: SqMoney;
  variation_total_price_money?: SqMoney;
  gross_sales_money?: SqMoney;
  total_tax_money?: SqMoney;
  total_discount_money?: SqMoney;
  total_money?: SqMoney;
  applied_taxes?: SqAppliedTax[];
  applied_discounts?: SqAppliedDiscount[];
  note?: string;
  metadata?: Record<string, string>;
}

export interface SqTax {
  uid: string;
  name?: string;
  /** Percentage as decimal text, e.g. "20" or "8.875". */
  percentage?: string;
  type?: 'ADDITIVE' | 'INCLUSIVE';
  scope?: 'LINE_ITEM' | 'ORDER';
  applied_money?: SqMoney;
}

export interface SqDiscount {
  uid: string;
  name?: string;
  type?: 'FIXED_PERCENTAGE' | 'FIXED_AMOUNT';
  percentage?: string;
  amount_money?: SqMoney;
  applied_money?: SqMoney;
  scope?: 'LINE_ITEM' | 'ORDER';
}

export interface SqTender {
  id: string;
  type: string;
  amount_money: SqMoney;
  tip_money?: SqMoney;
  processing_fee_money?: SqMoney;
  payment_id?: string;
  created_at?: string;
  card_details?: { status?: string; card?: { last_4?: string; card_brand?: string } };
  cash_details?: { buyer_tendered_money?: SqMoney; change_back_money?: SqMoney };
}

export interface SqOrderRefund {
  id: string;
  location_id: string;
  transaction_id?: string;
  tender_id?: string;
  reason?: string;
  amount_money: SqMoney;
  status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'FAILED' | 'COMPLETED';
  created_at?: string;
}

export interface SqReturnLineItem {
  uid?: string;
  source_line_item_uid?: string;
  name?: string;
  quantity: string;
  catalog_object_id?: string;
  base_price_money?: SqMoney;
  gross_return_money?: SqMoney;
  total_tax_money?: SqMoney;
  total_discount_money?: SqMoney;
  total_money?: SqMoney;
  applied_taxes?: SqAppliedTax[];
  applied_discounts?: SqAppliedDiscount[];
}

export interface SqOrderReturn {
  uid?: string;
  source_order_id?: string;
  return_line_items?: SqReturnLineItem[];
  return_taxes?: SqTax[];
  return_discounts?: SqDiscount[];
}

export interface SqMoneyAmounts {
  total_money?: SqMoney;
  tax_money?: SqMoney;
  discount_money?: SqMoney;
  tip_money?: SqMoney;
  service_charge_money?: SqMoney;
}

export type SqOrderState = 'OPEN' | 'COMPLETED' | 'CANCELED' | 'DRAFT';

export interface SqFulfillment {
  uid?: string;
  type?: 'PICKUP' | 'SHIPMENT' | 'DELIVERY' | 'DIGITAL';
  state?: string;
}

export interface SqOrder {
  id: string;
  location_id: string;
  reference_id?: string;
  source?: { name?: string };
  customer_id?: string;
  line_items?: SqLineItem[];
  taxes?: SqTax[];
  discounts?: SqDiscount[];
  service_charges?: Array<{ uid?: string; name?: string; total_money?: SqMoney }>;
  fulfillments?: SqFulfillment[];
  returns?: SqOrderReturn[];
  return_amounts?: SqMoneyAmounts;
  net_amounts?: SqMoneyAmounts;
  rounding_adjustment?: { uid?: string; name?: string; amount_money?: SqMoney };
  tenders?: SqTender[];
  refunds?: SqOrderRefund[];
  metadata?: Record<string, string>;
  created_at: string;
  updated_at: string;
  closed_at?: string;
  state: SqOrderState;
  version: number;
  total_money: SqMoney;
  total_tax_money?: SqMoney;
  total_discount_money?: SqMoney;
  total_tip_money?: SqMoney;
  total_service_charge_money?: SqMoney;
  net_amount_due_money?: SqMoney;
  ticket_name?: string;
}

export interface SqPaymentRefund {
  id: string;
  status: 'PENDING' | 'COMPLETED' | 'REJECTED' | 'FAILED';
  amount_money: SqMoney;
  payment_id: string;
  order_id?: string;
  location_id?: string;
  reason?: string;
  created_at: string;
  updated_at: string;
}

export interface SqError {
  category: string;
  code: string;
  detail?: string;
  field?: string;
}

export interface SqWebhookEvent {
  merchant_id: string;
  type: string;
  event_id: string;
  created_at: string;
  data: { type: string; id: string; object: Record<string, any> };
}

export interface SqSearchOrdersQuery {
  filter?: {
    state_filter?: { states: SqOrderState[] };
    date_time_filter?: Partial<Record<'created_at' | 'updated_at' | 'closed_at', { start_at?: string; end_at?: string }>>;
    source_filter?: { source_names?: string[] };
    customer_filter?: { customer_ids?: string[] };
  };
  sort?: { sort_field?: 'CREATED_AT' | 'UPDATED_AT' | 'CLOSED_AT'; sort_order?: 'ASC' | 'DESC' };
}

export interface SqSearchOrdersRequest {
  location_ids: string[];
  cursor?: string;
  limit?: number;
  return_entries?: boolean;
  query?: SqSearchOrdersQuery;
}

export interface SqSearchOrdersResponse {
  orders?: SqOrder[];
  order_entries?: Array<{ order_id: string; version: number; location_id: string }>;
  cursor?: string;
  errors?: SqError[];
}

/** Money as the Payouts API sends it: `currency`, or `currency_code` as its guides spell it. */
export interface SqPayoutMoney {
  amount: number;
  currency?: string;
  currency_code?: string;
}

export interface SqPayout {
  id: string;
  status?: string;
  location_id: string;
  created_at?: string;
  updated_at?: string;
  amount_money?: SqPayoutMoney;
  destination?: { type?: string; id?: string };
  version?: number;
  type?: 'BATCH' | 'SIMPLE' | string;
  payout_fee?: Array<{ amount_money?: SqPayoutMoney; effective_at?: string; type?: string }>;
  arrival_date?: string;
  end_to_end_id?: string;
}

export interface SqPayoutEntry {
  id: string;
  payout_id: string;
  effective_at?: string;
  type?: string;
  gross_amount_money?: SqPayoutMoney;
  fee_amount_money?: SqPayoutMoney;
  net_amount_money?: SqPayoutMoney;
  /** type_charge_details, type_refund_details, type_dispute_details, …: each may name a payment_id. */
  [details: `type_${string}_details`]: { payment_id?: string; refund_id?: string; dispute_id?: string; [k: string]: unknown } | undefined;
}

export interface SqListPayoutsQuery {
  location_id?: string;
  status?: string;
  begin_time?: string;
  end_time?: string;
  sort_order?: 'ASC' | 'DESC';
  cursor?: string;
  limit?: number;
}

/** The slice of a Payment (GetPayment) the payout mapping reads: which order it paid. */
export interface SqPayment {
  id: string;
  order_id?: string;
  location_id?: string;
  status?: string;
}

export { DEFAULT_SQUARE_VERSION } from './contract';
