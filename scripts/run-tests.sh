#!/usr/bin/env bash
# Runs the test suite with node's built-in runner (its TAP summary is what CI reads).
# NODE_BIN picks the Node binary (CI runs the suite on Node 20 and Node 24).
# Arguments narrow the run: `npm test -- test/proxy` or a single file.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-node}
if [ "$#" -gt 0 ]; then
  files=()
  for arg in "$@"; do
    if [ -d "$arg" ]; then files+=("$arg"/**/*.test.ts); else files+=("$arg"); fi
  done
else
  files=(test/**/*.test.ts)
fi
exec "$NODE_BIN" --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT:-120000}" "${files[@]}"
