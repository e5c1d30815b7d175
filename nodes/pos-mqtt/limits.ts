/**
 * Bounds a till message must keep before anything parses or walks it (docs/store-devices.md,
 * "Limits"): its size in bytes, valid UTF-8, how deeply its JSON nests, how many lines a sale has.
 * Each check is a single pass over the bytes or the top level: none recurses, so no payload can
 * overflow the stack or hold up the till's later messages for long.
 */
import { isUtf8 } from 'node:buffer';
import { DEFAULT_DATE_WINDOW, type DateWindow } from '../model/validate';

export interface TillLimits {
  /** Largest payload in bytes (default 256 KiB, the `message_size_limit` of the shipped Mosquitto configuration). */
  maxPayloadBytes: number;
  /** Deepest nesting of JSON objects and arrays (a sale needs 5). */
  maxDepth: number;
  /** Most lines in one sale. */
  maxLines: number;
  /**
   * How far a sale's dates may lie from the clock when it is processed; null = not checked. Off
   * unless the node turns it on: a store that was offline replays old days, and a simulated day
   * (the demo) may run ahead of the calendar.
   */
  dateWindow: DateWindow | null;
}

export const DEFAULT_LIMITS: TillLimits = { maxPayloadBytes: 256 * 1024, maxDepth: 32, maxLines: 1000, dateWindow: null };

/** Limits from a node's settings; anything missing, zero or not a number keeps its default. */
export function limitsFrom(def: { maxPayloadKiB?: unknown; maxLines?: unknown; checkDates?: unknown; pastDays?: unknown; futureDays?: unknown }): TillLimits {
  const positive = (v: unknown, fallback: number) => {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    maxPayloadBytes: Math.floor(positive(def.maxPayloadKiB, DEFAULT_LIMITS.maxPayloadBytes / 1024) * 1024),
    maxDepth: DEFAULT_LIMITS.maxDepth,
    maxLines: Math.floor(positive(def.maxLines, DEFAULT_LIMITS.maxLines)),
    dateWindow: dateWindowFrom(def),
  };
}

/** The date window a node asks for: its days back and ahead (defaults 30 and 1), or null when off. */
export function dateWindowFrom(def: { checkDates?: unknown; pastDays?: unknown; futureDays?: unknown }): DateWindow | null {
  if (def.checkDates !== true && def.checkDates !== 'true') return null;
  const days = (v: unknown, fallback: number) => {
    const n = Number(v);
    return v !== '' && v !== undefined && v !== null && Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  return { pastDays: days(def.pastDays, DEFAULT_DATE_WINDOW.pastDays), futureDays: days(def.futureDays, DEFAULT_DATE_WINDOW.futureDays) };
}

/** Offset of the first byte that is not part of valid UTF-8, or -1 when all of it is valid. */
export function firstInvalidUtf8(bytes: Buffer): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const [need, min] =
      b < 0x80 ? [0, 0] : b >= 0xc2 && b <= 0xdf ? [1, 0x80] : b >= 0xe0 && b <= 0xef ? [2, 0x800] : b >= 0xf0 && b <= 0xf4 ? [3, 0x10000] : [-1, 0];
    if (need < 0 || i + need >= bytes.length) return i; // not a lead byte, or cut off at the end
    let cp = need === 0 ? b : b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * True when the JSON text nests objects/arrays deeper than `max`. Counts brackets outside strings
 * in one pass; the text need not be valid JSON (JSON.parse says what else is wrong with it).
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
