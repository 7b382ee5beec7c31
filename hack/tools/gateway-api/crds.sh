#!/usr/bin/env bash
# Prints the directory holding the Gateway API's CRDs (standard channel), pinned in this
# directory's go.mod (the only place the version is written), taken from the Go module
# sigs.k8s.io/gateway-api (downloaded through GOPROXY, checked against go.sum: nothing else is
# downloaded) and cached by version next to the cluster binaries:
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/crds/gateway-api-<version>/*.yaml
#
# A cached copy is used as it is; the first run needs `go`. The end-to-end tests install what it
# prints (`kubectl apply --server-side -f <dir>`).
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

MODULE_DIR="${TOOLS_DIR}/gateway-api"
MODULE=sigs.k8s.io/gateway-api
version=$(go_mod_version "$MODULE_DIR" "$MODULE")
dest="${CACHE_DIR}/crds/gateway-api-${version}"

if [[ ! -f "${dest}/.complete" ]]; then
  command -v go >/dev/null || die "go is not installed (the Gateway API CRDs come from their Go module)"
  mkdir -p "${CACHE_DIR}/crds"
  # Two runs at once (two test files, two terminals) would copy twice; the second waits instead.
  exec 9>"${CACHE_DIR}/crds/.lock"
  flock 9
  if [[ ! -f "${dest}/.complete" ]]; then
    log "gateway-api: fetching ${MODULE}@${version} ..."
    src=$(cd "$MODULE_DIR" && go mod download -json "$MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [[ -d "${src}/config/crd/standard" ]] || die "no config/crd/standard in ${MODULE}@${version} (${src:-download failed})"
    tmp=$(mktemp -d "${CACHE_DIR}/crds/.gateway-api-${version}.XXXXXX")
    # shellcheck disable=SC2064 # expand $tmp now
    trap "rm -rf '$tmp'" EXIT
    cp "${src}"/config/crd/standard/*.yaml "$tmp"/
    chmod -R u+w "$tmp" # the module cache is read-only
    touch "${tmp}/.complete"
    rm -rf "$dest"
    mv "$tmp" "$dest"
    trap - EXIT
    log "gateway-api: ${version} cached in ${dest}"
  fi
  exec 9>&-
fi
printf '%s\n' "$dest"
