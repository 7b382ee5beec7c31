#!/usr/bin/env bash
# Builds Argo Rollouts' controller, pinned in hack/tools/argo-rollouts/go.mod, from its Go module,
# once, into the same cache as the cluster binaries (hack/cluster/lib.sh), with its CRDs from the
# module's manifests/crds/:
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/argo-rollouts-<version>/rollouts-controller
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/crds/argo-rollouts-<version>/*.yaml
#
# and prints the binary's path. Only `make bench-peers` uses it. Nothing is downloaded but Go
# modules and, for the toolchain the module declares (go 1.26.10), that toolchain from the Go
# module proxy (GOTOOLCHAIN).
#
# Usage: hack/tools/argo-rollouts/argo-rollouts.sh [--crds]   (--crds prints the CRD directory)
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

ARGO_MODULE_DIR="${TOOLS_DIR}/argo-rollouts"
ARGO_MODULE=github.com/argoproj/argo-rollouts
ARGO_TOOLCHAIN=go$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${ARGO_MODULE_DIR}/go.mod")
version=$(go_mod_version "$ARGO_MODULE_DIR" "$ARGO_MODULE")
bin="${BIN_CACHE}/argo-rollouts-${version}/rollouts-controller"
crds="${CACHE_DIR}/crds/argo-rollouts-${version}"

# argo_into TMP: the build, with the version stamp Argo's Makefile sets.
argo_into() {
  local pkg=${ARGO_MODULE}/utils/version
  (cd "$ARGO_MODULE_DIR" && GOTOOLCHAIN=$ARGO_TOOLCHAIN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X ${pkg}.version=${version#v} -X ${pkg}.gitTag=${version}" \
    -o "$1" "${ARGO_MODULE}/cmd/rollouts-controller")
}
cached_build "$bin" "argo-rollouts ${version}" argo_into

if [[ ! -f "${crds}/.complete" ]]; then
  src=$(cd "$ARGO_MODULE_DIR" && GOTOOLCHAIN=$ARGO_TOOLCHAIN go mod download -json "$ARGO_MODULE" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d "${src}/manifests/crds" ]] || die "no manifests/crds in ${ARGO_MODULE}@${version} (${src:-download failed})"
  mkdir -p "${CACHE_DIR}/crds"
  tmp=$(mktemp -d "${CACHE_DIR}/crds/.argo-rollouts-${version}.XXXXXX")
  cp "${src}"/manifests/crds/*-crd.yaml "$tmp"/
  chmod -R u+w "$tmp" # the module cache is read-only
  touch "${tmp}/.complete"
  rm -rf "$crds"
  mv "$tmp" "$crds"
fi

if [[ "${1:-}" == --crds ]]; then printf '%s\n' "$crds"; else printf '%s\n' "$bin"; fi
