/**
 * Status texts from the message catalogs. Each node set's catalog is locales/<lang>/<file>.json
 * beside its .js, and Node-RED scopes the RED._ it hands a node module to that node set (namespace
 * `<module>/<set>`), in the runtime's language (settings.lang, else the LANG environment). Where no
 * catalog is loaded (node-red-node-test-helper's RED._ returns the key) or a key is missing, the
 * English catalog is read from disk, so a badge never shows a bare key. docs/translating.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NodeRED } from './node-red';

/** The package name: Node-RED puts each node set's catalog under `<module>/<set>`. */
export const MODULE = '@tillwire/node-red-retail';
/**
 * Texts every node shows (store trouble, shared connector bodies) live once, in the store config
 * node's catalog, and are looked up by their full key.
 */
export const COMMON_NAMESPACE = `${MODULE}/tillwire-store`;
const COMMON_FILE = path.join(__dirname, 'store-config');

export type Vars = Record<string, string | number | boolean | undefined | null>;

/**
 * Why a node cannot work: its badge text in the runtime's language, and the same text in English as
 * the message of the error it raises for each message it refuses (errors stay English).
 */
export interface Problem {
  badge: string;
  message: string;
}

/**
 * `t('status.passed', { count: 3 })`: the text for a key of the node's own catalog;
 * `t.problem('status.noShop')`: a Problem from a key of that catalog.
 */
export type Texts = ((key: string, vars?: Vars) => string) & { problem(key: string, vars?: Vars): Problem };

type Catalog = { [key: string]: string | Catalog };
const english = new Map<string, Catalog>();

/** The en-US catalog of the node file `file` (its path without extension: `__filename` works). */
function englishCatalog(file: string): Catalog {
  const base = file.replace(/\.[cm]?[jt]s$/, '');
  let catalog = english.get(base);
  if (!catalog) {
    try {
      catalog = JSON.parse(fs.readFileSync(path.join(path.dirname(base), 'locales', 'en-US', `${path.basename(base)}.json`), 'utf8')) as Catalog;
    } catch {
      catalog = {};
    }
    english.set(base, catalog);
  }
  return catalog;
}

/** Node-RED's interpolation: `__name__` is replaced by vars.name. */
export function interpolate(text: string, vars: Vars = {}): string {
  return text.replace(/__([A-Za-z0-9_]+?)__/g, (whole, name: string) => (name in vars ? String(vars[name] ?? '') : whole));
}

function lookUp(catalog: Catalog, key: string): string | undefined {
  let at: string | Catalog | undefined = catalog;
  for (const part of key.split('.')) at = typeof at === 'object' ? at[part] : undefined;
  return typeof at === 'string' ? at : undefined;
}

const bareKey = (key: string) => (key.includes(':') ? key.slice(key.indexOf(':') + 1) : key);

/** The English text of a key, from the catalog on disk (the bare key when it has none). */
function englishText(key: string, vars: Vars | undefined, file: string): string {
  const text = lookUp(englishCatalog(file), bareKey(key));
  return text === undefined ? bareKey(key) : interpolate(text, vars);
}

function translate(RED: NodeRED, key: string, vars: Vars | undefined, fallbackFile: string): string {
  const bare = bareKey(key);
  let text: unknown;
  try {
    text = typeof RED._ === 'function' ? RED._(key, vars) : undefined;
  } catch {
    text = undefined;
  }
  // i18next answers a key it does not know with the key itself.
  if (typeof text === 'string' && text !== key && text !== bare) return text;
  return englishText(key, vars, fallbackFile);
}

/** The texts of the node set whose .js is `file` (pass `__filename`). */
export function statusTexts(RED: NodeRED, file: string): Texts {
  return Object.assign((key: string, vars?: Vars) => translate(RED, key, vars, file), {
    problem: (key: string, vars?: Vars): Problem => ({ badge: translate(RED, key, vars, file), message: englishText(key, vars, file) }),
  });
}

/**
 * A text shared by all nodes (`common.*` in the store config node's catalog). Without a RED (a
 * badge made before it knows the runtime), the English text.
 */
export function commonText(RED: NodeRED | undefined, key: string, vars?: Vars): string {
  const full = `${COMMON_NAMESPACE}:common.${key}`;
  return RED ? translate(RED, full, vars, COMMON_FILE) : englishText(full, vars, COMMON_FILE);
}

/** A Problem from a shared text (`common.*`). */
export function commonProblem(RED: NodeRED, key: string, vars?: Vars): Problem {
  return { badge: commonText(RED, key, vars), message: englishText(`${COMMON_NAMESPACE}:common.${key}`, vars, COMMON_FILE) };
}

/** Several problems as one (each text joined with "; "); undefined for none. */
export function joinProblems(problems: Array<Problem | undefined>): Problem | undefined {
  const all = problems.filter((p): p is Problem => p !== undefined);
  return all.length ? { badge: all.map((p) => p.badge).join('; '), message: all.map((p) => p.message).join('; ') } : undefined;
}
