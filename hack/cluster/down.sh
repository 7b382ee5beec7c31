#!/usr/bin/env bash
# Stops the local test cluster (`make cluster-down`) and deletes its state
# (.cluster/ or COXSWAIN_CLUSTER_DIR). Only processes recorded in the pid files
# are signalled, and only while they still run the binary we started, so
# nothing else on the machine is touched. Harmless if nothing runs.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stop_all: one at a time in reverse start order: KWOK and the controllers
# before the apiserver they talk to, and etcd last, because an apiserver whose
# etcd is gone hangs in its shutdown until KILLed. Each takes well under a
# second.
stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    stop "${COMPONENTS[i]}"
  done
}

main() {
  lock_cluster
  if [[ ! -e "$CLUSTER_DIR" ]]; then
    log "no cluster state in ${CLUSTER_DIR}; nothing to do"
    return 0
  fi
  if [[ ! -e "$CLUSTER_MARKER" ]]; then
    die "${CLUSTER_DIR} exists but was not made by up.sh (no ${CLUSTER_MARKER##*/}); not touching it"
  fi
  # The traffic demo of `make run` (hack/demo/demo.sh) keeps its state in the cluster's directory.
  "${REPO_ROOT}/hack/demo/demo.sh" down
  stop_all
  rm -rf "$CLUSTER_DIR"
  log "cluster stopped; removed ${CLUSTER_DIR}"
}

main "$@"
