/**
 * The OData v4 the Business Central client writes: literal quoting and query building for the
 * subset Business Central's API v2.0 speaks. No Node-RED imports. (The simulator's parser and
 * evaluator are in simulators/business-central/odata.ts.)
 */

/** Quotes a string as an OData literal: `O'Brien` becomes `'O''Brien'`. */
export function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `field eq 'a' or field eq 'b'` for a list of string values. */
export function anyOf(field: string, values: readonly string[]): string {
  return values.map((v) => `${field} eq ${quote(v)}`).join(' or ');
}

export interface ODataQuery {
  $filter?: string;
  $select?: string | readonly string[];
  $expand?: string | readonly string[];
  $orderby?: string;
  $top?: number;
  $skip?: number;
  $count?: boolean;
}

/** The query-string parameters for an OData query (undefined ones left out). */
export function queryParams(q: ODataQuery = {}): Record<string, string | number | undefined> {
  const list = (v: string | readonly string[] | undefined) => (v === undefined ? undefined : typeof v === 'string' ? v : v.join(','));
  return {
    $filter: q.$filter,
    $select: list(q.$select),
    $expand: list(q.$expand),
    $orderby: q.$orderby,
    $top: q.$top,
    $skip: q.$skip,
    $count: q.$count ? 'true' : undefined,
  };
}
