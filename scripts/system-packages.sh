#!/usr/bin/env bash
# The Debian packages the test suite runs for real (a browser, Redis, nginx and wrk for the
# benchmark, unzip for helm, sshd for tunnels), checked by the command each one provides.
# When one is missing: as root with apt-get, install it; otherwise print the one command that
# does, and fail. Run by scripts/run-tests.sh before a whole `npm test`, and by .ci/run.
set -euo pipefail
# nginx and sshd live in /usr/sbin, which is not on a non-root user's PATH on Debian.
export PATH="$PATH:/usr/sbin:/sbin"

# package:command
REQUIRED=(
  chromium:chromium
  redis-server:redis-server
  redis-tools:redis-cli
  nginx:nginx
  wrk:wrk
  unzip:unzip
  openssh-server:sshd
)

missing_packages() {
  local entry
  for entry in "${REQUIRED[@]}"; do
    command -v "${entry#*:}" >/dev/null || printf '%s\n' "${entry%%:*}"
  done
}

mapfile -t missing < <(missing_packages)
[ "${#missing[@]}" -eq 0 ] && exit 0

install_command="apt-get update && apt-get install -y ${missing[*]}"
say() { printf '%s\n' "$@" >&2; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "npm test: missing system packages: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    say "Install them (then run npm test again):" "" "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" ""
  else
    say "No apt-get here: install these Debian packages' equivalents, then run npm test again." ""
    say "  $install_command" ""
  fi
  say "(or run one folder without them: npm test -- test/proxy)"
  exit 1
fi

say "npm test: installing missing system packages: ${missing[*]}"
# apt's chatter goes to stderr: stdout carries the test report.
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2; then
  say "npm test: apt-get could not install them. Fix the cause above, or run:" "" "  $install_command" ""
  exit 1
fi
mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -gt 0 ]; then
  say "npm test: installed, but still not on PATH: ${still[*]}"
  exit 1
fi
