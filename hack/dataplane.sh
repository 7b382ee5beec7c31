#!/usr/bin/env bash
# Runs the data-plane end-to-end tests (test/e2e/dataplane/): real requests through a real Gateway
# (Traefik) to the pods of a real rollout. Everything they start runs inside a network namespace
# made here, whose only interface is its own loopback, with the cluster's pod range routed to that
# loopback (`ip route add local 10.244.0.0/16 dev lo`): pod addresses answer on the process that
# plays the pods, and no packet sent in the namespace can leave it (no other interface, no route).
# The namespace has its own cluster (etcd, API server, controller manager, scheduler, KWOK, with
# state in <cluster dir>-dataplane), so the other e2e files' cluster is untouched; both are gone
# when this script ends (KEEP_CLUSTER=1 keeps them, to run again).
#
# Needs root (network namespaces); elsewhere it says so and skips. CI runs as root.
#
# Usage: hack/dataplane.sh [vitest file filters...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh

POD_CIDR=10.244.0.0/16 # hack/cluster/up.sh's
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null; then
  echo "SKIPPED the data-plane e2e tests (test/e2e/dataplane/): they need root and iproute2 to make a network namespace" >&2
  exit 0
fi

dp_dir="${CLUSTER_DIR%/}-dataplane"
# One namespace per checkout (cluster directory), so two checkouts side by side keep apart.
netns="cx-dp-$(printf '%s' "$dp_dir" | sha256sum | cut -c1-10)"

in_ns() { ip netns exec "$netns" env COXSWAIN_CLUSTER_DIR="$dp_dir" "$@"; }

if ! ip netns list | grep -qw "$netns"; then
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  ip -n "$netns" route add local "$POD_CIDR" dev lo
fi
cleanup() {
  if [[ -z "${KEEP_CLUSTER:-}" ]]; then
    in_ns hack/cluster/down.sh || true
    ip netns delete "$netns" || true
  fi
}
trap cleanup EXIT

in_ns hack/cluster/up.sh
start=$(date +%s)
in_ns env COXSWAIN_E2E_KUBECONFIG="${dp_dir}/kubeconfig" COXSWAIN_E2E_AUDIT_LOG="${dp_dir}/audit.log" \
  COXSWAIN_DATAPLANE_NETNS="$netns" vitest run --project dataplane "$@"
echo "data-plane e2e tests took $(( $(date +%s) - start ))s"
