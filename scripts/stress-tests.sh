#!/usr/bin/env bash
# Runs the whole test suite N times in a row (default 20) while a CPU hog keeps another core
# busy, to flush out tests that lean on timing or on each other. Stops at the first failing
# run and prints the tests that failed; every run's TAP output is kept.
#
#   bash scripts/stress-tests.sh            # 20 runs of `npm test`
#   bash scripts/stress-tests.sh 3          # 3 runs
#   bash scripts/stress-tests.sh 5 test/proxy   # 5 runs of one folder (arguments as for npm test)
#
# The hog is `stress-ng --cpu 1` (one worker, on the last core when taskset is there), or a
# shell busy loop when stress-ng is not installed. STRESS_LOG_DIR sets where the logs go.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-20}
[ "$#" -gt 0 ] && shift
case "$runs" in '' | *[!0-9]* | 0) echo "usage: $0 [RUNS>0] [npm test arguments]" >&2; exit 2 ;; esac
logs=${STRESS_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kube-bastion-stress.XXXXXX")}
mkdir -p "$logs"

pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c "$(($(nproc) - 1))"); fi
if command -v stress-ng >/dev/null; then
  "${pin[@]}" stress-ng --cpu 1 --timeout 0 --quiet &
  hog_name="stress-ng --cpu 1"
else
  "${pin[@]}" bash -c 'while :; do :; done' &
  hog_name="a busy loop"
fi
hog=$!
# Only the hog this script started; stress-ng stops its workers on SIGTERM.
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
echo "stress: $runs run(s) of npm test${*:+ -- $*} beside $hog_name${pin:+ on core $(($(nproc) - 1))}; logs in $logs"

# Each `not ok` line of node's TAP, with its file (the `location:` of the YAML block after it).
failing() {
  awk -v root="$PWD/" '
    function flush(file) { if (test != "") print "  " test (file != "" ? "  (" file ")" : ""); test = "" }
    /^ *not ok / { flush(""); test = $0; sub(/^ */, "", test); next }
    test != "" && /^ *location: / {
      file = $0; sub(/^ *location: .?/, "", file); sub(/:[0-9]+:[0-9]+.?$/, "", file)
      if (index(file, root) == 1) file = substr(file, length(root) + 1)
      flush(file); next
    }
    test != "" && /^ *\.\.\.$/ { flush("") }
    END { flush("") }
  ' "$1"
}

for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.log"
  started=$SECONDS
  if bash scripts/run-tests.sh "$@" >"$log" 2>&1; then
    echo "stress: run $i/$runs passed ($((SECONDS - started)) s; $(grep -m1 '^# tests' "$log" | sed 's/^# //'))"
    continue
  fi
  echo "stress: run $i/$runs FAILED after $((SECONDS - started)) s; the failing tests:"
  failing "$log" | grep . || tail -n 20 "$log" | sed 's/^/  /'
  echo "stress: full output in $log"
  exit 1
done
echo "stress: all $runs run(s) passed"
