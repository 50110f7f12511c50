#!/usr/bin/env bash
# CPU per scrape and memory of the exporter binary against the real kube-apiserver of
# ../shared/realk8s, filled with NODES nodes and PODS pods (shaped like a small
# Deployment's pods: two containers, requests/limits, labels, owner). The figures come from
# the exporter's own telemetry: process_cpu_seconds_total (fractional) before and after
# SCRAPES scrapes of /metrics, plain and gzip, and process_resident_memory_bytes.
# Usage: scripts/measure-scrape-cpu.sh BINARY [NODES] [PODS] [SCRAPES]   (docs/sizing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$1 nodes=${2:-100} pods=${3:-3000} scrapes=${4:-10}
kubectl=${KUBECTL:-$(scripts/fetch-kubectl.sh)}
# Every default resource must list for /readyz: MutatingAdmissionPolicy is beta in 1.35.
eval "$(APISERVER_EXTRA_ARGS="--runtime-config=admissionregistration.k8s.io/v1beta1=true --feature-gates=MutatingAdmissionPolicy=true" \
  ../shared/realk8s/start.sh | grep -E '^(KUBECONFIG|RUN_DIR)=')"
exporter=
cleanup() {
  [ -n "$exporter" ] && kill "$exporter" 2>/dev/null && wait "$exporter" 2>/dev/null
  ../shared/realk8s/stop.sh "$RUN_DIR" --clean >/dev/null 2>&1 || true
}
trap cleanup EXIT
k() { "$kubectl" --kubeconfig "$KUBECONFIG" "$@"; }

python3 - "$nodes" "$pods" >"$RUN_DIR/objects.json" <<'PY'
import json, sys
nodes, pods = int(sys.argv[1]), int(sys.argv[2])
items = []
for n in range(nodes):
    items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{n}",
        "labels": {"kubernetes.io/hostname": f"node-{n}", "topology.kubernetes.io/zone": f"zone-{n % 3}"}}})
for p in range(pods):
    app = f"app-{p // 30}"
    container = lambda name: {"name": name, "image": f"registry.example/{name}:1.2.3",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}
    items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{app}-{p}", "namespace": "default",
        "labels": {"app": app, "pod-template-hash": "5d8f7c9b6"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-5d8f7c9b6",
            "uid": f"00000000-0000-0000-0000-{p // 30:012d}", "controller": True}]},
        "spec": {"nodeName": f"node-{p % nodes}", "containers": [container("main"), container("sidecar")]}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
PY
k create -f "$RUN_DIR/objects.json" >/dev/null

"$binary" --kubeconfig "$KUBECONFIG" --port 18080 --telemetry-port 18081 --host 127.0.0.1 \
  --telemetry-host 127.0.0.1 --enable-gzip-encoding >"$RUN_DIR/exporter.log" 2>&1 &
exporter=$!
for _ in $(seq 1 600); do
  curl -fs http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs http://127.0.0.1:18081/readyz >/dev/null || { tail -20 "$RUN_DIR/exporter.log" >&2; exit 1; }
cpu() { curl -fs http://127.0.0.1:18081/metrics | awk '$1 == "process_cpu_seconds_total" {print $2}'; }
rss() { curl -fs http://127.0.0.1:18081/metrics | awk '$1 == "process_resident_memory_bytes" {printf "%.1f", $2 / 1048576}'; }
sleep 2
echo "objects: $nodes nodes, $pods pods; RSS after sync: $(rss) MiB"
for mode in plain gzip; do
  header=()
  [ "$mode" = gzip ] && header=(-H 'Accept-Encoding: gzip')
  before=$(cpu)
  bytes=$(curl -fs "${header[@]}" http://127.0.0.1:18080/metrics | wc -c)
  for _ in $(seq 2 "$scrapes"); do curl -fs "${header[@]}" -o /dev/null http://127.0.0.1:18080/metrics; done
  after=$(cpu)
  python3 -c "import sys; b, a, n = map(float, sys.argv[1:4]); print(f'$mode: {(a - b) / n * 1000:.1f} ms CPU per scrape, {int(sys.argv[4]):,} bytes')" \
    "$before" "$after" "$scrapes" "$bytes"
done
echo "RSS after the scrapes: $(rss) MiB"
