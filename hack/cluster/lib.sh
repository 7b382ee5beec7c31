# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings and helpers for hack/cluster/*.sh. Source it; don't run it.
#
# Every knob is an environment variable with a default, so two checkouts (or a
# CI job next to a developer's cluster) can run side by side by changing ports
# and COXSWAIN_CLUSTER_DIR.

HACK_CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${HACK_CLUSTER_DIR}/../.." && pwd)"
TOOLS_DIR="${REPO_ROOT}/hack/tools"

# Built binaries live outside the checkout so `git clean` and fresh clones
# don't throw away a 10-minute build.
CACHE_DIR="${COXSWAIN_CACHE:-${HOME}/.cache/coxswain}"
BIN_CACHE="${CACHE_DIR}/bin"

# All runtime state (PKI, etcd data, logs, pids, kubeconfig). down.sh deletes it.
CLUSTER_DIR="${COXSWAIN_CLUSTER_DIR:-${REPO_ROOT}/.cluster}"
PKI_DIR="${CLUSTER_DIR}/pki"
LOG_DIR="${CLUSTER_DIR}/logs"
PID_DIR="${CLUSTER_DIR}/pids"
KUBECONFIG_ADMIN="${CLUSTER_DIR}/kubeconfig"
# down.sh only deletes a directory carrying this marker, so a mistyped
# COXSWAIN_CLUSTER_DIR (say, $HOME) is never rm -rf'ed.
CLUSTER_MARKER="${CLUSTER_DIR}/.coxswain-cluster"

# Loopback only, on unusual ports so a developer's real cluster isn't disturbed.
BIND_ADDRESS=127.0.0.1
APISERVER_PORT="${COXSWAIN_APISERVER_PORT:-16443}"
ETCD_CLIENT_PORT="${COXSWAIN_ETCD_CLIENT_PORT:-23790}"
ETCD_PEER_PORT="${COXSWAIN_ETCD_PEER_PORT:-23800}"
KCM_PORT="${COXSWAIN_KCM_PORT:-20257}"
SCHEDULER_PORT="${COXSWAIN_SCHEDULER_PORT:-20259}"
NODE_COUNT="${COXSWAIN_NODES:-3}"
UP_TIMEOUT="${COXSWAIN_UP_TIMEOUT:-120}" # seconds, per wait step
STOP_TIMEOUT="${COXSWAIN_STOP_TIMEOUT:-10}" # seconds between TERM and KILL

# Start order; down.sh stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch, for timings.
now_ms() { date +%s%3N; }
# elapsed START_MS -> "12.3s"
elapsed() { local d=$(( $(now_ms) - $1 )); printf '%d.%ds' $((d / 1000)) $(((d % 1000) / 100)); }

# go_mod_version DIR MODULE: the version DIR/go.mod requires for MODULE.
# go.mod is the single source of truth for every tool version. Replace lines
# ("a => b v1") are skipped; only require entries (block or single line) count.
go_mod_version() {
  local dir=$1 module=$2 v
  v=$(awk -v m="$module" '
    /=>/ { next }
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m { print $2; exit }
  ' "${dir}/go.mod")
  [[ -n "$v" ]] || die "no version for ${module} in ${dir}/go.mod"
  printf '%s\n' "$v"
}

k8s_version() { go_mod_version "${TOOLS_DIR}/k8s" k8s.io/kubernetes; }
etcd_version() { go_mod_version "${TOOLS_DIR}/etcd" go.etcd.io/etcd/server/v3; }
kwok_version() { go_mod_version "${TOOLS_DIR}/kwok" sigs.k8s.io/kwok; }

# tool_version TOOL: the pinned version of one of the cluster's binaries.
tool_version() {
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler) k8s_version ;;
    etcd) etcd_version ;;
    kwok) kwok_version ;;
    *) die "unknown tool $1" ;;
  esac
}

# tool_path TOOL: where binaries.sh caches it, keyed by version.
tool_path() {
  local v
  v=$(tool_version "$1")
  printf '%s/%s-%s/%s\n' "$BIN_CACHE" "$1" "$v" "$1"
}

# cached_build DEST WHAT FN [ARGS...]: builds DEST once, as binaries.sh's build_tool does: under the
# cache's build lock (a concurrent run waits, then finds it built), into a temp file in the same
# directory that is renamed into place, so an interrupted build never leaves a half-written
# binary that later runs would trust. FN does the build itself, called with the temp path and ARGS.
cached_build() {
  local dest=$1 what=$2 fn=$3 tmp start
  shift 3
  [[ -x "$dest" ]] && return 0
  command -v go >/dev/null || die "go is not installed (${what} is built from its Go module)"
  mkdir -p "$BIN_CACHE" "$(dirname "$dest")"
  exec 9>"${BIN_CACHE}/.build.lock"
  flock 9
  if [[ -x "$dest" ]]; then exec 9>&-; return 0; fi # built by another run while we waited
  tmp=$(mktemp "${dest}.tmp.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this call.
  trap "rm -f '$tmp'" EXIT
  log "${what}: building ..."
  start=$(now_ms)
  "$fn" "$tmp" "$@"
  mv -f "$tmp" "$dest"
  trap - EXIT
  exec 9>&-
  log "${what}: built in $(elapsed "$start") -> ${dest}"
}

# cached_dir DEST WHAT FN [ARGS...]: a directory made once (FN TMPDIR ARGS fills it) and kept,
# keyed by version in its name; `.complete` marks it whole. Two runs at once (two test files, two
# terminals) would make it twice: the second waits for the first and uses its copy.
cached_dir() {
  local dest=$1 what=$2 fn=$3 tmp
  shift 3
  [[ -f "${dest}/.complete" ]] && return 0
  command -v go >/dev/null || die "go is not installed (${what} comes from its Go module)"
  mkdir -p "$(dirname "$dest")"
  exec 8>"$(dirname "$dest")/.lock"
  flock 8
  if [[ -f "${dest}/.complete" ]]; then exec 8>&-; return 0; fi
  tmp=$(mktemp -d "$(dirname "$dest")/.$(basename "$dest").XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this call.
  trap "rm -rf '$tmp'" EXIT
  log "${what}: making ..."
  "$fn" "$tmp" "$@"
  touch "${tmp}/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  exec 8>&-
  log "${what}: cached in ${dest}"
}

# is_running PID: alive and not a zombie (a zombie's pid still answers kill -0
# until its parent reaps it, which may be never for a detached process).
is_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

pid_file() { printf '%s/%s.pid\n' "$PID_DIR" "$1"; }

# component_pid NAME: prints the pid if NAME is running *as the process we
# started* (the pid file's process still runs that binary; guards against a
# recycled pid), else fails.
component_pid() {
  local f pid exe
  f=$(pid_file "$1")
  [[ -s "$f" ]] || return 1
  pid=$(<"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_running "$pid" || return 1
  exe=$(readlink "/proc/${pid}/exe" 2>/dev/null) || return 1
  [[ "${exe##*/}" == "$1" || "${exe##*/}" == "$1 (deleted)" ]] || return 1
  printf '%s\n' "$pid"
}

# port_in_use PORT: true if something already listens on 127.0.0.1:PORT.
port_in_use() { (: >"/dev/tcp/${BIND_ADDRESS}/$1") 2>/dev/null; }

kubectl_admin() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# check_started_alive: fail if a component up.sh started has exited already
# (a bad flag, a port taken meanwhile), instead of waiting for a timeout.
check_started_alive() {
  local f name
  for f in "$PID_DIR"/*.pid; do
    [[ -e "$f" ]] || continue
    name=${f##*/}; name=${name%.pid}
    is_running "$(<"$f")" || die "${name} exited during start-up; see ${LOG_DIR}/${name}.log"
  done
}

# wait_for DESCRIPTION CMD...: retry CMD every 0.25s until it succeeds,
# failing fast if a started component died, or after UP_TIMEOUT. Each wait is
# short in practice; the timeout only turns a hang into a clear error.
wait_for() {
  local what=$1 deadline=$(( $(date +%s) + UP_TIMEOUT ))
  shift
  until "$@" >/dev/null 2>&1; do
    check_started_alive
    if (( $(date +%s) >= deadline )); then
      die "timed out after ${UP_TIMEOUT}s waiting for ${what}; see ${LOG_DIR}/"
    fi
    sleep 0.25
  done
}

# lock_cluster: serialise up.sh and down.sh runs on the same cluster dir (say
# `make cluster-up` in one terminal while the e2e script starts the cluster in
# another). The lock lives outside CLUSTER_DIR, which down.sh deletes. up.sh
# runs down.sh while holding it, hence COXSWAIN_CLUSTER_LOCKED.
lock_cluster() {
  [[ -z "${COXSWAIN_CLUSTER_LOCKED:-}" ]] || return 0
  local dir="${CACHE_DIR}/locks" key
  mkdir -p "$dir"
  key=$(printf '%s' "$CLUSTER_DIR" | sha256sum | cut -c1-16)
  exec 8>"${dir}/cluster-${key}.lock"
  if ! flock -n 8; then
    log "another up.sh/down.sh is running on ${CLUSTER_DIR}; waiting for it"
    flock 8
  fi
  export COXSWAIN_CLUSTER_LOCKED=1
}

# ------------------------------------------- shared by up, down and kind ------

# start NAME ARGS...: run the cached binary in the background, detached.
# setsid gives it its own session, so Ctrl-C in the terminal and the exit of
# the shell or `make` that started it don't reach it; every fd is redirected so
# `make` doesn't wait on an inherited pipe. Run non-interactively, the
# background child is no process-group leader, so setsid execs in place and $!
# is the component's own pid (cluster_healthy re-checks that via /proc).
start() {
  local name=$1 bin
  shift
  bin=$(tool_path "$name")
  log "starting ${name}"
  # 8>&-: don't let the component inherit (and so hold forever) lock_cluster's lock.
  setsid "$bin" "$@" </dev/null >>"${LOG_DIR}/${name}.log" 2>&1 8>&- &
  echo $! >"$(pid_file "$name")"
}

# stop NAME: TERM the component we started, then KILL it after STOP_TIMEOUT.
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

# create_nodes: COXSWAIN_NODES Node objects for KWOK to bring to Ready. No
# taints, and plenty of room so scheduling never depends on resource requests.
create_nodes() {
  local i
  for ((i = 0; i < NODE_COUNT; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-${i}
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  done | kubectl_admin apply -f - >/dev/null
}

