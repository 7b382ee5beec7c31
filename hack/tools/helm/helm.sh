#!/usr/bin/env bash
# Runs helm, pinned in hack/tools/helm/go.mod (Helm 4) or hack/tools/helm3/go.mod (Helm 3, with
# HELM_MAJOR=3) and built from its Go module on first use into the same cache as the cluster
# binaries (hack/cluster/lib.sh):
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/bin/helm-<version>/helm
#
# Usage: [HELM_MAJOR=3] hack/tools/helm/helm.sh [helm args...]
#        (HELM_BUILD_ONLY=1: build, print the path, exit)
# Nothing is downloaded but Go modules. helm's own state (cache, config, data) goes to a
# directory under the cache, so a developer's real helm repositories and plugins are not touched.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

case "${HELM_MAJOR:-4}" in
  4) HELM_MODULE_DIR="${TOOLS_DIR}/helm" ;;
  3) HELM_MODULE_DIR="${TOOLS_DIR}/helm3" ;;
  *) die "HELM_MAJOR must be 3 or 4, not ${HELM_MAJOR}" ;;
esac
HELM_MODULE="helm.sh/helm/v${HELM_MAJOR:-4}"

helm_version() { go_mod_version "$HELM_MODULE_DIR" "$HELM_MODULE"; }
helm_path() { printf '%s/helm-%s/helm\n' "$BIN_CACHE" "$(helm_version)"; }

# helm_into TMP: the build. The ldflags are the ones helm's Makefile sets for a release build.
# Helm 3 also takes the Kubernetes version it assumes offline (helm template, lint) from them,
# from client-go's v0.X.Y as 1.X; without them it assumes 1.20 and refuses the chart's kubeVersion.
helm_into() {
  local v ldflags
  v=$(helm_version)
  ldflags="-s -w -X ${HELM_MODULE}/internal/version.version=${v} -X ${HELM_MODULE}/internal/version.gitTreeState=clean"
  if [[ "$HELM_MODULE" == */v3 ]]; then
    local minor
    minor=$(go_mod_version "$HELM_MODULE_DIR" k8s.io/client-go | cut -d. -f2)
    for pkg in pkg/lint/rules pkg/chartutil; do
      ldflags+=" -X ${HELM_MODULE}/${pkg}.k8sVersionMajor=1 -X ${HELM_MODULE}/${pkg}.k8sVersionMinor=${minor}"
    done
  fi
  (cd "$HELM_MODULE_DIR" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$1" "${HELM_MODULE}/cmd/helm")
}

# As binaries.sh's build_tool: temp file and rename, under the cache's build lock (lib.sh).
build_helm() { cached_build "$(helm_path)" "helm $(helm_version)" helm_into; }

build_helm
if [[ -n "${HELM_BUILD_ONLY:-}" ]]; then
  helm_path
  exit 0
fi
state="${CACHE_DIR}/helm-home"
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-${state}/cache}" HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-${state}/config}" HELM_DATA_HOME="${HELM_DATA_HOME:-${state}/data}"
exec "$(helm_path)" "$@"
