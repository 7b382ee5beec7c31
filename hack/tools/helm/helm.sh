#!/usr/bin/env bash
# Runs helm, pinned in hack/tools/helm/go.mod and built from its Go module on first use into the
# same cache as the cluster binaries (hack/cluster/lib.sh):
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/helm-<version>/helm
#
# Usage: hack/tools/helm/helm.sh [helm args...]   (HELM_BUILD_ONLY=1: build, print the path, exit)
# Nothing is downloaded but Go modules. helm's own state (cache, config, data) goes to a
# directory under the cache, so a developer's real helm repositories and plugins are not touched.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

HELM_MODULE_DIR="${TOOLS_DIR}/helm"

helm_version() { go_mod_version "$HELM_MODULE_DIR" helm.sh/helm/v4; }
helm_path() { printf '%s/helm-%s/helm\n' "$BIN_CACHE" "$(helm_version)"; }

# build_helm: as binaries.sh's build_tool: temp file and rename, under the cache's build lock.
build_helm() {
  local dest tmp start v
  dest=$(helm_path)
  [[ -x "$dest" ]] && return 0
  command -v go >/dev/null || die "go is not installed (helm is built from its Go module)"
  mkdir -p "$BIN_CACHE" "$(dirname "$dest")"
  exec 9>"${BIN_CACHE}/.build.lock"
  flock 9
  if [[ -x "$dest" ]]; then exec 9>&-; return 0; fi # built by another run while we waited
  v=$(helm_version)
  tmp=$(mktemp "${dest}.tmp.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -f '$tmp'" EXIT
  log "helm: building ${v} ..."
  start=$(now_ms)
  # The version ldflags are the ones helm's Makefile sets for a release build.
  (cd "$HELM_MODULE_DIR" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${v} -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    -o "$tmp" helm.sh/helm/v4/cmd/helm)
  mv -f "$tmp" "$dest"
  trap - EXIT
  exec 9>&-
  log "helm: built in $(elapsed "$start") -> ${dest}"
}

build_helm
if [[ -n "${HELM_BUILD_ONLY:-}" ]]; then
  helm_path
  exit 0
fi
state="${CACHE_DIR}/helm-home"
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-${state}/cache}" HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-${state}/config}" HELM_DATA_HOME="${HELM_DATA_HOME:-${state}/data}"
exec "$(helm_path)" "$@"
