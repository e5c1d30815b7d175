#!/usr/bin/env bash
# Static lint of the Dockerfile, offline, with no Docker engine (npm run lint:docker).
#
#   bash scripts/lint-dockerfile.sh [Dockerfile]
#
# hadolint is not in Debian bookworm, and its releases are binaries on GitHub, which we cannot
# reach. So we use two linters from npm, both development dependencies, which complement each other:
#   dockerfile-utils  (rcjsuen/dockerfile-utils, the validator behind the VS Code Docker language
#                      server): instruction syntax, flags (e.g. HEALTHCHECK/COPY options), JSON
#                      exec form, stage names, deprecated instructions. Exits 1 on any problem.
#   dockerfilelint    (replicatedhq/dockerfilelint): best-practice rules (apt-get -y and cleanup,
#                      sudo, latest tags, missing arguments). Exits 1 on any issue. Its HEALTHCHECK
#                      check rejects the valid `--start-period` flag (the regex `--\w+` stops at the
#                      dash), so the Dockerfile does not use that flag.
# Fails if a linter reports anything, or if neither linter is installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILE="${1:-$ROOT/Dockerfile}"
BIN="$ROOT/node_modules/.bin"
[ -f "$FILE" ] || { echo "lint-dockerfile: $FILE not found" >&2; exit 1; }

ran=0
failed=0
if [ -x "$BIN/dockerfile-utils" ]; then
  echo "==> dockerfile-utils lint $FILE"
  if "$BIN/dockerfile-utils" lint "$FILE"; then echo "dockerfile-utils: no problems"; else failed=1; fi
  ran=$((ran + 1))
fi
if [ -x "$BIN/dockerfilelint" ]; then
  echo "==> dockerfilelint $FILE"
  if "$BIN/dockerfilelint" "$FILE"; then :; else failed=1; fi
  ran=$((ran + 1))
fi
if [ "$ran" -eq 0 ]; then
  echo "lint-dockerfile: neither dockerfile-utils nor dockerfilelint is installed (npm ci installs both as devDependencies)" >&2
  exit 1
fi
if [ "$failed" -ne 0 ]; then
  echo "lint-dockerfile: FAILED" >&2
  exit 1
fi
echo "lint-dockerfile: passed ($ran linter(s))"
