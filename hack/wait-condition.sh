#!/usr/bin/env bash
# hack/wait-condition.sh CONDITION RESOURCE...: waits until every RESOURCE (kubectl's TYPE/NAME,
# e.g. crd/microservices.coxswain.dev) has the status condition CONDITION True, for at most
# WAIT_TIMEOUT_SECONDS (60) in all. The cluster is kubectl's: KUBECONFIG.
#
# Not `kubectl wait --for condition=...`: on an object whose status.conditions is still null, as a
# CRD's is for a moment after it is first created, kubectl (1.32) fails at once with
# ".status.conditions accessor error: <nil> is of the type <nil>" instead of waiting, and so does a
# jsonpath filter on the conditions. This asks again until the condition is True; an object that
# does not exist yet is waited for too.
set -euo pipefail

if (( $# < 2 )); then
  echo "usage: $0 CONDITION RESOURCE..." >&2
  exit 2
fi
condition=$1
shift
timeout=${WAIT_TIMEOUT_SECONDS:-60}
deadline=$((SECONDS + timeout))

for resource in "$@"; do
  for (( ; ; )); do
    # Each condition as TYPE=STATUS on a line; nothing while there are none (null included).
    conditions=$(kubectl get "$resource" -o jsonpath='{range .status.conditions[*]}{.type}={.status}{"\n"}{end}' 2>&1) || true
    if grep -qx "${condition}=True" <<<"$conditions"; then
      echo "${resource}: ${condition}"
      break
    fi
    if (( SECONDS >= deadline )); then
      echo "timed out after ${timeout}s waiting for ${resource} to be ${condition}; last seen: ${conditions:-no conditions}" >&2
      exit 1
    fi
    sleep 0.5
  done
done
