#!/usr/bin/env bash
# Stops the local test cluster (`make cluster-down`) and deletes its state
# (.cluster/ or COXSWAIN_CLUSTER_DIR). Only processes recorded in the pid files
# are signalled, and only while they still run the binary we started, so
# nothing else on the machine is touched. Harmless if nothing runs.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STOP_TIMEOUT="${COXSWAIN_STOP_TIMEOUT:-10}" # seconds between TERM and KILL

# stop NAME: TERM the component, wait up to STOP_TIMEOUT for it to exit, then
# KILL it.
stop() {
  local name=$1 pid deadline
  pid=$(component_pid "$name") || return 0
  log "stopping ${name} (pid ${pid})"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while is_running "$pid"; do
    if (( $(date +%s) >= deadline )); then
      log "${name} ignored TERM for ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      # KILL isn't instant either; the next up.sh needs the ports free.
      while is_running "$pid"; do sleep 0.1; done
      return 0
    fi
    sleep 0.1
  done
}

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
  stop_all
  rm -rf "$CLUSTER_DIR"
  log "cluster stopped; removed ${CLUSTER_DIR}"
}

main "$@"
