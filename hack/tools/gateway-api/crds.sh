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

# crds_into TMP: the standard channel's YAML, copied out of the (read-only) module cache.
crds_into() {
  local src
  src=$(cd "$MODULE_DIR" && go mod download -json "$MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d "${src}/config/crd/standard" ]] || die "no config/crd/standard in ${MODULE}@${version} (${src:-download failed})"
  cp "${src}"/config/crd/standard/*.yaml "$1"/
  chmod -R u+w "$1"
}

cached_dir "$dest" "gateway-api ${version}" crds_into
printf '%s\n' "$dest"
