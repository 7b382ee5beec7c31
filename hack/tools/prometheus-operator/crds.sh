#!/usr/bin/env bash
# Prints the directory holding the Prometheus Operator's PodMonitor CRD
# (monitoring.coreos.com_podmonitors.yaml), for the end-to-end tests, cached by version next to
# the cluster binaries:
#
#   ${COXSWAIN_CACHE:-~/.cache/coxswain}/crds/prometheus-operator-<version>/
#
# The operator's root module (whose example/prometheus-operator-crd/ holds the YAML) is not served
# by the Go module proxy, so the CRD is generated from what upstream generates it from: the API
# module's Go types and their kubebuilder markers, run through controller-gen
# (crd:crdVersions=v1), both pinned in this directory's go.mod and checked against its go.sum.
# controller-gen is built once into ${COXSWAIN_CACHE}/bin/controller-gen-<version>/. A cached
# copy is used as it is; the first run needs `go`.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../cluster/lib.sh"

MODULE_DIR="${TOOLS_DIR}/prometheus-operator"
API=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
GEN=sigs.k8s.io/controller-tools
version=$(go_mod_version "$MODULE_DIR" "$API")
gen_version=$(go_mod_version "$MODULE_DIR" "$GEN")
gen="${BIN_CACHE}/controller-gen-${gen_version}/controller-gen"
dest="${CACHE_DIR}/crds/prometheus-operator-${version}"

controller_gen_into() {
  (cd "$MODULE_DIR" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '-s -w' -o "$1" "${GEN}/cmd/controller-gen")
}

if [[ ! -f "${dest}/.complete" ]]; then
  cached_build "$gen" "controller-gen ${gen_version}" controller_gen_into
  mkdir -p "${CACHE_DIR}/crds"
  # Two runs at once (two test files, two terminals) would generate twice; the second waits instead.
  exec 9>"${CACHE_DIR}/crds/.lock"
  flock 9
  if [[ ! -f "${dest}/.complete" ]]; then
    log "prometheus-operator: generating the PodMonitor CRD from ${API}@${version} ..."
    tmp=$(mktemp -d "${CACHE_DIR}/crds/.prometheus-operator-${version}.XXXXXX")
    # shellcheck disable=SC2064 # expand $tmp now
    trap "rm -rf '$tmp'" EXIT
    (cd "$MODULE_DIR" && "$gen" crd:crdVersions=v1 "paths=${API}/v1" "output:crd:dir=${tmp}/all")
    [[ -f "${tmp}/all/monitoring.coreos.com_podmonitors.yaml" ]] || die "controller-gen wrote no PodMonitor CRD (${tmp}/all)"
    mv "${tmp}/all/monitoring.coreos.com_podmonitors.yaml" "$tmp"/
    rm -rf "${tmp}/all"
    touch "${tmp}/.complete"
    rm -rf "$dest"
    mv "$tmp" "$dest"
    trap - EXIT
    log "prometheus-operator: ${version} cached in ${dest}"
  fi
  exec 9>&-
fi
printf '%s\n' "$dest"
