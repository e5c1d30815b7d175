'use strict';
/*
 * Preload for `node-red-dev validate` (the Flow Library scorecard), used by scripts/scorecard.js:
 *
 *   node -r ./scripts/scorecard-preload.js node_modules/node-red-dev/bin/run validate -p .
 *
 * node-red-dev 0.1.6 downloads the Flow Library catalogue twice, with axios 0.21:
 *   src/libs/checkpackage.js  P08 "similar package names"  axios.get('https://catalogue.nodered.org/catalogue.json')
 *   src/libs/checknodes.js    N01 "unique node types"      axios.get('https://catalogue.nodered.org/catalogue.json')
 * When that host cannot be reached, the first of them rejects and the whole validation aborts.
 *
 * This preload answers ONLY that URL (GET, any query string) with an empty catalogue,
 * `{"modules":[]}`, which is the only part the code reads (`response.data.modules[].id` / `.types`).
 * Every other request passes through untouched. That includes the npm registry lookups:
 * P06/P07 through axios, D02 through npm-remote-ls/request, D03 through npm-check/package-json.
 * So P08 and N01 always pass, and they prove nothing.
 *
 * How it works: every axios instance that is loaded (through any path or copy of axios) gets a
 * request interceptor. For the catalogue URL, the interceptor swaps `config.adapter` for a local
 * function that returns the empty catalogue. axios.create() is wrapped so that new instances get
 * the interceptor too. The answer goes through axios's normal response transform (JSON.parse),
 * just as a real response would.
 *
 * SCORECARD_PRELOAD_DEBUG=1 also logs, to stderr, every outgoing http/https request, to show
 * what the validator contacts. It only logs. It changes nothing.
 */

const Module = require('module');

const CATALOGUE_URLS = ['https://catalogue.nodered.org/catalogue.json'];
const EMPTY_CATALOGUE = JSON.stringify({ name: 'empty catalogue (scripts/scorecard-preload.js)', updated_at: '1970-01-01T00:00:00.000Z', modules: [] });
const TAG = '[scorecard-preload]';
const PATCHED = Symbol.for('tillwire.scorecardPreload.patched');

function isCatalogueRequest(config) {
  if (!config || typeof config.url !== 'string') return false;
  const method = String(config.method || 'get').toLowerCase();
  if (method !== 'get') return false;
  let url;
  try {
    url = config.baseURL && !/^[a-z][a-z\d+.-]*:\/\//i.test(config.url) ? new URL(config.url, config.baseURL) : new URL(config.url);
  } catch {
    return false;
  }
  return CATALOGUE_URLS.includes(`${url.protocol}//${url.host}${url.pathname}`);
}

function catalogueAdapter(config) {
  process.stderr.write(`${TAG} answered GET ${config.url} with an empty catalogue {"modules":[]}\n`);
  return Promise.resolve({
    data: EMPTY_CATALOGUE,
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(EMPTY_CATALOGUE)) },
    config,
    request: { path: new URL(config.url).pathname, intercepted: true },
  });
}

function interceptor(config) {
  if (isCatalogueRequest(config)) config.adapter = catalogueAdapter;
  return config;
}

function looksLikeAxios(value) {
  return (
    typeof value === 'function' &&
    value.defaults !== undefined &&
    value.interceptors !== undefined &&
    value.interceptors.request !== undefined &&
    typeof value.interceptors.request.use === 'function'
  );
}

function patchAxiosInstance(instance) {
  if (instance[PATCHED]) return instance;
  Object.defineProperty(instance, PATCHED, { value: true });
  instance.interceptors.request.use(interceptor);
  if (typeof instance.create === 'function') {
    const create = instance.create;
    instance.create = function patchedCreate(...args) {
      return patchAxiosInstance(create.apply(this, args));
    };
  }
  return instance;
}

const originalLoad = Module._load;
Module._load = function scorecardPreloadLoad(request) {
  const exported = originalLoad.apply(this, arguments);
  try {
    if (looksLikeAxios(exported)) patchAxiosInstance(exported);
    // ESM-interop shape `{ default: axios }`. Only looked at for axios requests, because reading
    // `.default` on a module that is still loading (circular require) makes Node print a warning.
    else if (/axios/.test(String(request)) && exported && typeof exported === 'object' && looksLikeAxios(exported.default))
      patchAxiosInstance(exported.default);
  } catch (err) {
    process.stderr.write(`${TAG} could not patch axios loaded as '${request}': ${err && err.message}\n`);
  }
  return exported;
};

if (process.env.SCORECARD_PRELOAD_DEBUG) {
  for (const name of ['http', 'https']) {
    const mod = require(name);
    for (const fn of ['request', 'get']) {
      const original = mod[fn];
      mod[fn] = function loggedRequest(...args) {
        try {
          const first = args[0];
          const target =
            typeof first === 'string' || first instanceof URL
              ? String(first)
              : `${name}://${(first && (first.hostname || first.host)) || '?'}${(first && first.path) || ''}`;
          process.stderr.write(`${TAG} ${name}.${fn} ${target}\n`);
        } catch {
          /* logging only */
        }
        return original.apply(this, args);
      };
    }
  }
}
