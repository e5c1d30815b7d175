/**
 * The store-device topic scheme (docs/store-devices.md):
 *   tillwire/<brand>/stores/<storeId>/tills/<tillId>/<sales|returns|close>
 * (built for publishers, parsed for the receiver), and MQTT filter matching, including `$share/<group>/` shared subscriptions (MQTT v5 §4.8.2).
 */

export type DeviceMessageKind = 'sales' | 'returns' | 'close';

export interface DeviceTopic {
  brand: string;
  storeId: string;
  tillId: string;
  kind: DeviceMessageKind;
}

const KINDS = new Set<DeviceMessageKind>(['sales', 'returns', 'close']);

/** Characters that cannot appear inside one topic level (and would break the ACL pattern). */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters refused
const FORBIDDEN = /[/+#\u0000]/;

/** The characters docs/store-devices.md allows in store and till ids. */
const DEVICE_ID = /^[A-Za-z0-9._-]+$/;

/**
 * Why a store or till id cannot be used, or undefined. The ids are parts of the business key
 * (sale:<store>:<till>:<saleId>): a ':' in one would let one store's key equal another's.
 */
export function deviceIdProblem(what: 'store' | 'till', id: string, where = ''): string | undefined {
  return DEVICE_ID.test(id) ? undefined : `${what} id '${id.slice(0, 64)}'${where} may only hold letters, digits, '-', '_' and '.'`;
}

export function assertTopicLevel(what: string, value: string): void {
  if (!value || FORBIDDEN.test(value)) {
    throw new Error(`${what} '${value}' cannot be used in an MQTT topic: it must be non-empty and contain no '/', '+', '#' or NUL`);
  }
}

export function tillTopic(brand: string, storeId: string, tillId: string, type: DeviceMessageKind): string {
  assertTopicLevel('brand', brand);
  assertTopicLevel('storeId', storeId);
  assertTopicLevel('tillId', tillId);
  return `tillwire/${brand}/stores/${storeId}/tills/${tillId}/${type}`;
}

/** Subscription filter for every till message of a brand (or of every brand with '+'). */
export function tillSubscription(brand = '+'): string {
  return `tillwire/${brand}/stores/+/tills/+/+`;
}

export function parseDeviceTopic(topic: string): DeviceTopic | undefined {
  const p = topic.split('/');
  if (p.length !== 7 || p[0] !== 'tillwire' || p[2] !== 'stores' || p[4] !== 'tills') return undefined;
  if (!KINDS.has(p[6] as DeviceMessageKind) || !p[1] || !p[3] || !p[5]) return undefined;
  return { brand: p[1], storeId: p[3], tillId: p[5], kind: p[6] as DeviceMessageKind };
}

/** Removes a `$share/<group>/` prefix: the broker delivers with the plain topic. */
export function unshared(filter: string): string {
  const m = /^\$share\/[^/]+\/(.+)$/.exec(filter);
  return m ? m[1] : filter;
}

export function sharedFilter(filter: string, group: string | undefined): string {
  return group ? `$share/${group}/${filter}` : filter;
}

/** True when `topic` matches the subscription `filter` (+ one level, # the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = unshared(filter).split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(i === 0 && t[0]?.startsWith('$'));
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (i === 0 && t[0].startsWith('$')) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
