#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each (default 45)
# and prints the executions reached. Corpora are seeded at run time from
# tests/fixtures and ../shared/k8s-api-testdata (nothing large is committed); a crash
# leaves its input in fuzz/artifacts/TARGET/ and makes this script fail.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# cargo-fuzz passes nightly-only -Z flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Sanitizers are off (-s none): the code under test is safe
# Rust, so what we look for is panics, overflows, unbounded allocation and hangs.
set -euo pipefail
SECONDS_PER_TARGET=${1:-45}
shift || true
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$ROOT/../shared
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(envelope watch_frames json_decode diagnose list_decoder)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --help >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
CORPUS=$ROOT/fuzz/corpus
small_files() { # dir pattern: files below 256 KiB
  [ -d "$1" ] && find "$1" -maxdepth 1 -type f -name "$2" -size -256k || true
}
seed() { # target prefix-bytes(printf format) files...
  local target=$1 prefix=$2
  shift 2
  mkdir -p "$CORPUS/$target"
  local f
  for f in "$@"; do
    { printf "$prefix"; cat "$f"; } > "$CORPUS/$target/seed-$(basename "$f")"
  done
}
recording=$ROOT/tests/fixtures/recordings/real-1.28-demo
mapfile -t pb < <(small_files "$SHARED/k8s-api-testdata/v1.35.0" '*.pb'; small_files "$ROOT/tests/fixtures/consumers" '*.pb')
mapfile -t js < <(small_files "$SHARED/k8s-api-testdata/v1.35.0" '*.json'; small_files "$ROOT/tests/fixtures/consumers" '*.json')
# Recorded bodies: protobuf and JSON lists, and watch streams (by the manifest).
mapfile -t watch_pb < <(python3 - "$recording" <<'PY'
import json, sys, os
d = sys.argv[1]
for c in json.load(open(os.path.join(d, "manifest.json")))["captures"]:
    if "watch=" in c["path"] and "protobuf" in c["content_type"] and c["bytes"] < 262144:
        print(os.path.join(d, c["body"]))
PY
)
mapfile -t watch_json < <(python3 - "$recording" <<'PY'
import json, sys, os
d = sys.argv[1]
for c in json.load(open(os.path.join(d, "manifest.json")))["captures"]:
    if "watch=" in c["path"] and "json" in c["content_type"] and c["bytes"] < 262144:
        print(os.path.join(d, c["body"]))
PY
)
mapfile -t lists_pb < <(python3 - "$recording" <<'PY'
import json, sys, os
d = sys.argv[1]
for c in json.load(open(os.path.join(d, "manifest.json")))["captures"]:
    if "watch=" not in c["path"] and "protobuf" in c["content_type"] and c["bytes"] < 65536:
        print(os.path.join(d, c["body"]))
PY
)
seed envelope '\000' "${pb[@]}" "${lists_pb[@]}"
seed diagnose '' "${pb[@]}" "${lists_pb[@]}" "${watch_pb[@]}"
seed json_decode '' "${js[@]}"
seed watch_frames '\000\007\000' "${watch_pb[@]}"
seed watch_frames '\001\005\000' "${watch_json[@]}"
# List bodies with a discovering decoder (the resource comes from the body's kind).
seed list_decoder '\002\020\000' "${pb[@]}" "${lists_pb[@]}"
seed list_decoder '\003\020\000' "${js[@]}"

status=0
summary=()
for target in "${TARGETS[@]}"; do
  log=$ROOT/fuzz/target/fuzz-$target.log
  mkdir -p "$ROOT/fuzz/target" "$ROOT/fuzz/artifacts/$target"
  echo "== $target: ${SECONDS_PER_TARGET}s, $(ls "$CORPUS/$target" | wc -l) corpus inputs"
  if cargo fuzz run -s none "$target" "$CORPUS/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 > "$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and fuzz/artifacts/$target/)"
    status=1
    tail -40 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("$target: ${execs:-?} executions in ${SECONDS_PER_TARGET}s, ${cov:-cov: ?}, $result")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
