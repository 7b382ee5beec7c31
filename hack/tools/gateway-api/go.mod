// The Gateway API's CRDs for the end-to-end tests, pinned here and nowhere else: crds.sh reads
// the version from this file, downloads the module through GOPROXY (checked against go.sum), and
// caches its config/crd/standard/ by version. Nothing is built from it, so `go mod tidy` would
// drop the requirement: do not run it here.
module coxswain.dev/hack/tools/gateway-api

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3
