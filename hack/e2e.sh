#!/usr/bin/env bash
# Runs the end-to-end suite. With COXSWAIN_E2E_KUBECONFIG set it uses that cluster (kind, a cloud
# one); otherwise it starts the local cluster, and stops it again afterwards if it started it
# (KEEP_CLUSTER=1 leaves it up for the next run).
set -euo pipefail
cd "$(dirname "$0")/.."

started=""
if [[ -z "${COXSWAIN_E2E_KUBECONFIG:-}" ]]; then
  # The local cluster's directory: COXSWAIN_CLUSTER_DIR when set (as hack/cluster/lib.sh reads it).
  cluster_dir="${COXSWAIN_CLUSTER_DIR:-$PWD/.cluster}"
  export COXSWAIN_E2E_KUBECONFIG="$cluster_dir/kubeconfig"
  if ! kubectl --kubeconfig "$COXSWAIN_E2E_KUBECONFIG" get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
    hack/cluster/up.sh
    started=1
  fi
  # The local cluster's audit log lets the suite count the operator's requests exactly.
  export COXSWAIN_E2E_AUDIT_LOG="${COXSWAIN_E2E_AUDIT_LOG:-$cluster_dir/audit.log}"
fi

stop_cluster() {
  if [[ -n "$started" && -z "${KEEP_CLUSTER:-}" ]]; then hack/cluster/down.sh; fi
}
trap stop_cluster EXIT

if [[ "${1:-}" == "--bench" ]]; then
  tsx bench/canary.ts
  tsx bench/scale.ts
  exit
fi
if [[ "${1:-}" == "--bench-dashboard" ]]; then
  tsx bench/dashboard.ts
  exit
fi
if [[ "${1:-}" == "--bench-restart-memory" ]]; then
  tsx bench/restart-memory.ts
  exit
fi
if [[ "${1:-}" == "--bench-peers" ]]; then
  tsx bench/peers.ts
  exit
fi
start=$(date +%s)
vitest run --project e2e "$@"
echo "e2e suite took $(( $(date +%s) - start ))s"
