#!/usr/bin/env bash
# Builds the Prometheus server pinned in hack/tools/prometheus/go.mod from its Go module, once,
# into the same cache as the cluster binaries (hack/cluster/lib.sh):
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/prometheus-<version>-k8ssd/prometheus
#
# and prints its path. A cached binary is never rebuilt. Nothing is downloaded but Go modules.
#
# The build is trimmed for the tests: `remove_all_sd` leaves out the cloud service discoveries
# and `enable_kubernetes_sd` puts the Kubernetes one back (the data-plane tests scrape the pods
# through it, role pod; static and file targets stay for the other analysis tests). The build tags
# are part of the cache path (`-k8ssd`), so a binary cached from a build without the Kubernetes SD
# is never taken for one with it. Without `builtinassets` the web UI's assets are absent (they are
# not in the module); the HTTP API, which is what Coxswain queries, is complete either way.
#
# Usage: hack/tools/prometheus/prometheus.sh
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

PROM_MODULE_DIR="${TOOLS_DIR}/prometheus"
PROM_MODULE=github.com/prometheus/prometheus

prom_version() { go_mod_version "$PROM_MODULE_DIR" "$PROM_MODULE"; }
PROM_TAGS=remove_all_sd,enable_kubernetes_sd # see discovery/ and plugins/ in the module
prom_path() { printf '%s/prometheus-%s-k8ssd/prometheus\n' "$BIN_CACHE" "$(prom_version)"; }

# release_version v0.316.0 -> 3.16.0: what `prometheus --version` and /api/v1/status/buildinfo say.
release_version() {
  local v=${1#v0.} minor patch
  minor=${v%%.*}; patch=${v#*.}; patch=${patch%%-*}
  printf '3.%d.%s\n' $((10#${minor} - 300)) "$patch"
}

# prometheus_into TMP: the build. The -X flags are the ones Prometheus' release build (promu) sets.
prometheus_into() {
  local v ldflags pkg=github.com/prometheus/common/version
  v=$(prom_version)
  ldflags="-s -w -X ${pkg}.Version=$(release_version "$v") -X ${pkg}.Revision=${v} -X ${pkg}.Branch=module"
  ldflags+=" -X ${pkg}.BuildUser=coxswain -X ${pkg}.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"
  (cd "$PROM_MODULE_DIR" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags "$PROM_TAGS" \
    -ldflags "$ldflags" -o "$1" "${PROM_MODULE}/cmd/prometheus")
}

cached_build "$(prom_path)" "prometheus $(prom_version) ($(release_version "$(prom_version)"))" prometheus_into
prom_path
