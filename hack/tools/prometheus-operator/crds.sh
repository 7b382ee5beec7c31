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

# podmonitor_into TMP: controller-gen over the API's v1 types; the PodMonitor CRD kept.
podmonitor_into() {
  (cd "$MODULE_DIR" && "$gen" crd:crdVersions=v1 "paths=${API}/v1" "output:crd:dir=${1}/all")
  [[ -f "${1}/all/monitoring.coreos.com_podmonitors.yaml" ]] || die "controller-gen wrote no PodMonitor CRD (${1}/all)"
  mv "${1}/all/monitoring.coreos.com_podmonitors.yaml" "$1"/
  rm -rf "${1}/all"
}

if [[ ! -f "${dest}/.complete" ]]; then
  cached_build "$gen" "controller-gen ${gen_version}" controller_gen_into
  cached_dir "$dest" "prometheus-operator ${version} (PodMonitor CRD)" podmonitor_into
fi
printf '%s\n' "$dest"
