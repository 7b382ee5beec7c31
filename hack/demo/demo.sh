#!/usr/bin/env bash
# The traffic demo of `make run` (README, Try it): a real Gateway (Traefik, built by `make tools`)
# and a load generator in front of the local cluster, and examples/traffic/ (a canary through an
# HTTPRoute), so a release's traffic can be watched moving.
#
# KWOK's pods run nothing, so the data-plane tests' application (test/e2e/dataplane/pods.ts) answers
# for them. As in hack/dataplane.sh, everything that sends to pod addresses (Traefik, the load
# generator, pods.ts: hack/demo/plane.ts) runs in a network namespace whose only interface is its
# loopback, with the pod range routed to it: no packet sent there can leave the machine. The cluster
# stays outside, where `make cluster-up` put it. Two bridges (hack/demo/bridge.ts) cross the
# namespace's wall through unix sockets in the state directory, both ends on loopback: the API
# server's port into the namespace, and the gateway out to the host's 127.0.0.1:PORT, for curl.
#
# Usage: hack/demo/demo.sh up | down
# Env:   COXSWAIN_DEMO_KUBECONFIG  the cluster (default: the local cluster's kubeconfig); its
#                                  context's namespace is where the example goes (else default)
#        COXSWAIN_DEMO_PORT        the gateway on the host's 127.0.0.1 (default 8088; 0: the OS picks)
#        COXSWAIN_DEMO_DIR         pids, logs, sockets (default <cluster dir>/demo; down.sh removes it)
# `up` needs root and iproute2 and the local cluster (KWOK); elsewhere it says why it skips, exit 0.
# `up` on a running demo prints how to reach it; `down` stops it (harmless when none runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh

POD_CIDR=10.244.0.0/16 # hack/cluster/up.sh's
HOST=storefront.example.com # examples/traffic/storefront.yaml's hostname
KCFG="${COXSWAIN_DEMO_KUBECONFIG:-$KUBECONFIG_ADMIN}"
PORT="${COXSWAIN_DEMO_PORT:-8088}"
DIR="${COXSWAIN_DEMO_DIR:-${CLUSTER_DIR%/}/demo}"
MARKER="${DIR}/.coxswain-demo"
# One namespace per state directory, so two checkouts side by side keep apart.
NETNS="cx-demo-$(printf '%s' "$DIR" | sha256sum | cut -c1-10)"
PARTS=(plane bridge) # stopped in this order

skip() { echo "SKIPPED the traffic demo (hack/demo/demo.sh): $*" >&2; exit 0; }
k() { kubectl --kubeconfig "$KCFG" "$@"; }

# part_pid NAME: the pid of the part we started, while it still runs node (not a recycled pid).
part_pid() {
  local f="${DIR}/$1.pid" pid exe
  [[ -s "$f" ]] || return 1
  pid=$(<"$f")
  is_running "$pid" || return 1
  exe=$(readlink "/proc/${pid}/exe" 2>/dev/null) || return 1
  [[ "${exe##*/}" == node ]] || return 1
  printf '%s\n' "$pid"
}

# wait_line FILE PATTERN PART: until FILE has a line matching PATTERN, failing when PART exits.
wait_line() {
  local deadline=$(( $(date +%s) + 180 ))
  until grep -q "$2" "$1" 2>/dev/null; do
    # Alive, whatever it runs yet (ip and env exec into node on the way).
    is_running "$(<"${DIR}/$3.pid")" || { log "the demo's $3 exited; its log:"; tail -n 40 "${DIR}/$3.log" >&2; return 1; }
    (( $(date +%s) < deadline )) || { log "the demo's $3 did not start in 180 s; see ${DIR}/$3.log"; return 1; }
    sleep 0.25
  done
}

gateway_url() { printf 'http://127.0.0.1:%s/' "$(sed -n 's/^listening tcp:127.0.0.1:\([0-9]*\)$/\1/p' "${DIR}/bridge.out")"; }

show() {
  cat <<MSG
Traffic demo: Traefik as Gateway gateways/public and ${HOST} under steady load, from network namespace ${NETNS}
  curl -s -H 'Host: ${HOST}' $(gateway_url)     # which pod, slot and revision answered
  tail -f ${DIR}/traffic.log                    # where the requests went, every 5 s
MSG
}

down() {
  local part pid
  [[ -e "$MARKER" ]] || return 0
  for part in "${PARTS[@]}"; do
    pid=$(part_pid "$part") || continue
    log "stopping the demo's ${part} (pid ${pid})"
    # setsid made each part its process group's leader: the group is the part and its children (Traefik, pods.ts).
    kill -TERM -- "-${pid}" 2>/dev/null || true
    for _ in $(seq 50); do is_running "$pid" || break; sleep 0.2; done
    kill -KILL -- "-${pid}" 2>/dev/null || true
  done
  if ip netns list 2>/dev/null | grep -qw "$NETNS"; then ip netns delete "$NETNS"; fi
  rm -rf "$DIR"
}

up() {
  [[ $(id -u) -eq 0 ]] || skip "it needs root, to make the network namespace in which its pods answer"
  command -v ip >/dev/null || skip "it needs iproute2 (ip), to make the network namespace in which its pods answer"
  local server apiport ns
  server=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  [[ "$server" =~ ^https://127\.0\.0\.1:([0-9]+)$ ]] || skip "it plays the pods of the local cluster, whose API server is on 127.0.0.1, not ${server}"
  apiport=${BASH_REMATCH[1]}
  [[ -n "$(k get nodes -o jsonpath='{.items[?(@.metadata.annotations.kwok\.x-k8s\.io/node)].metadata.name}')" ]] ||
    skip "it plays KWOK's pods, and this cluster's nodes are not KWOK's (real pods would need an image that answers)"
  ns=$(k config view --minify -o jsonpath='{.contexts[0].context.namespace}')
  ns=${ns:-default}
  if part_pid plane >/dev/null && part_pid bridge >/dev/null; then show; return 0; fi
  down

  # Built (or found in the cache) out here: inside the namespace there is no network to fetch with.
  hack/tools/traefik/traefik.sh >/dev/null
  hack/tools/gateway-api/crds.sh >/dev/null
  # Half a demo is no demo: what started goes again if the rest does not come up.
  trap 'log "the traffic demo did not start"; down' EXIT
  mkdir -p -m 700 "$DIR"
  touch "$MARKER"
  ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" route add local "$POD_CIDR" dev lo

  log "starting the traffic demo in network namespace ${NETNS} (state in ${DIR})"
  # Detached like the cluster's components (hack/cluster/lib.sh start): Ctrl-C on `make run` leaves them be.
  setsid node --import tsx hack/demo/bridge.ts "tcp:127.0.0.1:${PORT}=unix:${DIR}/gateway.sock" \
    "unix:${DIR}/apiserver.sock=tcp:127.0.0.1:${apiport}" </dev/null >"${DIR}/bridge.out" 2>"${DIR}/bridge.log" 8>&- &
  echo $! >"${DIR}/bridge.pid"
  wait_line "${DIR}/bridge.out" '^ready$' bridge
  setsid ip netns exec "$NETNS" env COXSWAIN_E2E_KUBECONFIG="$KCFG" node --import tsx hack/demo/plane.ts \
    "$DIR" "$ns" "$HOST" "$apiport" </dev/null >"${DIR}/traffic.log" 2>"${DIR}/plane.log" 8>&- &
  echo $! >"${DIR}/plane.pid"
  wait_line "${DIR}/traffic.log" '^ready' plane
  k apply -n "$ns" -f examples/traffic/
  trap - EXIT
  show
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
