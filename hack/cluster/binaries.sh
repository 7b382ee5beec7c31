#!/usr/bin/env bash
# Builds the local test cluster's binaries from Go modules (nothing is
# downloaded except modules through GOPROXY) into a cache outside the checkout:
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/<tool>-<version>/<tool>
#
# Versions come from hack/tools/{k8s,etcd,kwok}/go.mod only. A binary that is
# already cached is not rebuilt, so this is a no-op after the first run.
#
# Usage: hack/cluster/binaries.sh [tool...]   (default: all five)
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# k8s_ldflags: the -X flags hack/lib/version.sh in kubernetes sets, so
# `--version` prints the real version and the apiserver reports it in /version
# (without them it claims v0.0.0-master). -s -w strip debug info as release
# builds do. Only the link step sees ldflags, so the compile cache is shared.
k8s_ldflags() {
  local v major minor flags="-s -w" key val pkg
  v=$(k8s_version)
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for key in gitVersion gitMajor gitMinor gitTreeState buildDate; do
      case $key in
        gitVersion) val=$v ;;
        gitMajor) val=$major ;;
        gitMinor) val=$minor ;;
        gitTreeState) val=clean ;;
        buildDate) val=$(date -u +%Y-%m-%dT%H:%M:%SZ) ;;
      esac
      flags+=" -X ${pkg}.${key}=${val}"
    done
  done
  printf '%s\n' "$flags"
}

# build_tool TOOL: go build TOOL's package from its wrapper module into the
# cache. Builds to a temp file in the same directory and renames it, so an
# interrupted build never leaves a half-written binary that later runs would
# trust.
build_tool() {
  local tool=$1 dest moddir pkg ldflags="-s -w" start tmp
  dest=$(tool_path "$tool")
  if [[ -x "$dest" ]]; then
    log "${tool}: cached ($(dirname "$dest"))"
    return 0
  fi
  case $tool in
    kube-apiserver | kube-controller-manager | kube-scheduler)
      moddir="${TOOLS_DIR}/k8s"; pkg="k8s.io/kubernetes/cmd/${tool}"; ldflags=$(k8s_ldflags) ;;
    etcd) moddir="${TOOLS_DIR}/etcd"; pkg="." ;;       # etcd's version is a constant in its api module
    kwok) moddir="${TOOLS_DIR}/kwok"; pkg="sigs.k8s.io/kwok/cmd/kwok" ;; # kwok's too (pkg/consts)
    *) die "unknown tool ${tool}" ;;
  esac

  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "${dest}.tmp.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is local to this call.
  trap "rm -f '$tmp'" EXIT
  log "${tool}: building $(tool_version "$tool") ..."
  start=$(now_ms)
  # -buildvcs=false: the wrapper modules sit inside this repo, and stamping its
  # git state would fail in a repo without commits and break reproducibility.
  (cd "$moddir" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$dest"
  trap - EXIT
  log "${tool}: built in $(elapsed "$start") -> ${dest}"
}

main() {
  local tools=("$@") missing=() t start
  (( ${#tools[@]} )) || tools=("${COMPONENTS[@]}")
  for t in "${tools[@]}"; do
    [[ -x "$(tool_path "$t")" ]] || missing+=("$t")
  done
  if (( ${#missing[@]} == 0 )); then
    log "binaries cached in ${BIN_CACHE}"
    return 0
  fi
  command -v go >/dev/null || die "go is not installed (the cluster binaries are built from Go modules)"

  # Two concurrent builds (say `make cluster-up` in two terminals) would build
  # the same thing twice on 2 cores; serialise them instead. build_tool checks
  # the cache again once it holds the lock.
  mkdir -p "$BIN_CACHE"
  exec 9>"${BIN_CACHE}/.build.lock"
  if ! flock -n 9; then
    log "another build holds ${BIN_CACHE}/.build.lock; waiting for it"
    flock 9
  fi

  start=$(now_ms)
  for t in "${missing[@]}"; do
    build_tool "$t"
  done
  log "binaries ready in $(elapsed "$start")"
}

main "$@"
