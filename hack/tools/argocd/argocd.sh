#!/usr/bin/env bash
# Builds hack/tools/argocd (Coxswain's argocd-cm keys run in Argo CD's own Lua runtime, the util/lua
# package of the Argo CD version go.mod pins) once per Argo CD version and wrapper source, into the
# same cache as the cluster binaries (hack/cluster/lib.sh), and prints the binary's path:
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/argocd-lua-<version>-<sources hash>/argocd-lua
#
# Nothing is downloaded but Go modules. The e2e tests run it on live objects.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

ARGOCD_DIR="${TOOLS_DIR}/argocd"
version=$(go_mod_version "$ARGOCD_DIR" github.com/argoproj/argo-cd/v3)
sources=$(cd "$ARGOCD_DIR" && cat go.mod go.sum $(ls -- *.go | grep -v '_test\.go$') | sha256sum | cut -c1-12)
bin="${BIN_CACHE}/argocd-lua-${version}-${sources}/argocd-lua"

# Not cached_build: its lock is shared by every tool, and this small link (its packages are in Go's
# build cache after `make test-argocd`) would wait out another's build of many minutes. A temp
# file renamed into place keeps it safe: two builds at once both write the same binary.
if [[ ! -x "$bin" ]]; then
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp "${bin}.tmp.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  log "argocd-lua ${version}: building ..."
  # No -trimpath: the build then reuses the packages `go test` (make test-argocd) compiled.
  (cd "$ARGOCD_DIR" && nice go build -o "$tmp" .)
  mv -f "$tmp" "$bin"
  trap - EXIT
fi
printf '%s\n' "$bin"
