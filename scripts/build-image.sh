#!/usr/bin/env bash
# Builds the kube-state-exporter image where no base image can be pulled: the binary is
# built here exactly as deploy/Dockerfile builds it (static glibc, no debug info, stripped,
# SCHEMA_OVERLAYS passed through), then wrapped in deploy/Dockerfile.prebuilt's `scratch`
# stage by buildah (or podman, or docker with a running daemon). Prints the image's name
# and size. Usage: scripts/build-image.sh [tag]   (env SCHEMA_OVERLAYS=overlays/<name>)
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-gnu ;;
  aarch64) target=aarch64-unknown-linux-gnu ;;
  *) echo "build-image: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
suffix=
if [ -n "${SCHEMA_OVERLAYS:-}" ]; then
  suffix=-$(tr ',' '\n' <<<"$SCHEMA_OVERLAYS" | xargs -n1 basename | paste -sd- -)
fi
tag=${1:-kube-state-exporter:$version$suffix}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
  cargo build --release --locked --target "$target" --bin kube-state-exporter
binary=$CARGO_TARGET_DIR/$target/release/kube-state-exporter
"$binary" version >&2
if ldd "$binary" >/dev/null 2>&1 && ! ldd "$binary" 2>&1 | grep -q 'statically linked'; then
  echo "build-image: $binary is dynamically linked" >&2; exit 1
fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/kube-state-exporter"
if command -v buildah >/dev/null; then
  buildah bud --quiet --layers=false -f deploy/Dockerfile.prebuilt -t "$tag" "$context" >&2
  size=$(buildah images --format '{{.Size}}' "$tag" | head -1)
elif command -v podman >/dev/null; then
  podman build -q -f deploy/Dockerfile.prebuilt -t "$tag" "$context" >&2
  size=$(podman images --format '{{.Size}}' "$tag" | head -1)
else
  docker build -q -f deploy/Dockerfile.prebuilt -t "$tag" "$context" >&2
  size=$(docker images --format '{{.Size}}' "$tag" | head -1)
fi
echo "$tag $(stat -c %s "$binary") bytes binary, image $size"
