#!/usr/bin/env bash
# Builds Traefik, pinned in hack/tools/traefik/go.mod, from its Go module, once, into the same cache
# as the cluster binaries (hack/cluster/lib.sh):
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/traefik-<version>/traefik
#
# and prints its path. A cached binary is never rebuilt. Nothing is downloaded but Go modules.
# Traefik is the Gateway API controller of the data-plane end-to-end tests (test/e2e/dataplane/):
# it reads the Gateway, HTTPRoutes and EndpointSlices and carries the tests' real requests.
# go.mod explains the workarounds its module needs (a nested module absent from the zip, versions
# the module proxy refuses). About 4 minutes on 2 cores, cold; `nice` keeps it from starving the
# machine's other work.
#
# Usage: hack/tools/traefik/traefik.sh
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

TRAEFIK_MODULE_DIR="${TOOLS_DIR}/traefik"
TRAEFIK_MODULE=github.com/traefik/traefik/v3
version=$(go_mod_version "$TRAEFIK_MODULE_DIR" "$TRAEFIK_MODULE")
bin="${BIN_CACHE}/traefik-${version}/traefik"

# traefik_into TMP: the build, with the version stamp Traefik's release build sets.
traefik_into() {
  local pkg=${TRAEFIK_MODULE}/pkg/version
  (cd "$TRAEFIK_MODULE_DIR" && CGO_ENABLED=0 nice go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X ${pkg}.Version=${version} -X ${pkg}.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -o "$1" "${TRAEFIK_MODULE}/cmd/traefik")
}
cached_build "$bin" "traefik ${version}" traefik_into
printf '%s\n' "$bin"
