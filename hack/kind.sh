#!/usr/bin/env bash
# `make kind-up` / `make kind-down`: the end-to-end suite's cluster on kind, for machines with a
# Docker engine. This project's CI machines have none, so this path is not exercised there.
#
# The suite rehearses bad releases with KWOK stages (pods labelled coxswain.dev/e2e-ready=false
# stay unready, coxswain.dev/e2e-fail=true crash-loop), so kind gets the same KWOK controller and
# fake nodes as the local cluster, and its real node is tainted so the suite's pods (whose images
# do not exist) land on the KWOK nodes. Then: `make e2e-kind`.
set -euo pipefail

export COXSWAIN_CLUSTER_DIR="${COXSWAIN_KIND_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.kind}"
# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster/lib.sh"

KIND_VERSION=v0.30.0
CLUSTER_NAME=coxswain

# kind, built from its Go module into the same cache as the cluster binaries.
kind_bin() {
  local dest="${BIN_CACHE}/kind-${KIND_VERSION}/kind"
  if [[ ! -x "$dest" ]]; then
    log "kind: building ${KIND_VERSION} ..."
    mkdir -p "$(dirname "$dest")"
    GOBIN="$(dirname "$dest")" go install -trimpath "sigs.k8s.io/kind@${KIND_VERSION}"
  fi
  printf '%s\n' "$dest"
}

up() {
  local kind
  command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "kind needs a running Docker engine"
  kind=$(kind_bin)
  mkdir -p "$LOG_DIR" "$PID_DIR" && touch "$CLUSTER_MARKER"
  if ! "$kind" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    "$kind" create cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_ADMIN" --wait 120s
  else
    "$kind" export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_ADMIN"
  fi
  kubectl_admin taint nodes -l 'type!=kwok' coxswain.dev/real-node=true:NoSchedule --overwrite >/dev/null
  "${HACK_CLUSTER_DIR}/binaries.sh" kwok
  if ! component_pid kwok >/dev/null; then
    KWOK_WORKDIR="${CLUSTER_DIR}/kwok" start kwok \
      --kubeconfig="$KUBECONFIG_ADMIN" \
      --config="${HACK_CLUSTER_DIR}/manifests/kwok-stages.yaml" \
      --manage-all-nodes=false \
      --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
  fi
  create_nodes
  wait_for "KWOK nodes Ready" bash -c "[[ \$(kubectl --kubeconfig '$KUBECONFIG_ADMIN' get nodes -l type=kwok --no-headers | grep -c ' Ready') -ge $NODE_COUNT ]]"
  log "kind cluster ready; kubeconfig ${KUBECONFIG_ADMIN}"
}

down() {
  stop kwok
  "$(kind_bin)" delete cluster --name "$CLUSTER_NAME" || true
  [[ -e "$CLUSTER_MARKER" ]] && rm -rf "$CLUSTER_DIR"
  log "kind cluster deleted"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: hack/kind.sh up|down" ;;
esac
