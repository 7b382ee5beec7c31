//go:build tools

// Package tools pins helm (helm.sh/helm/v4/cmd/helm), which the test suite uses to lint and
// render charts/coxswain. The version is in go.mod; hack/tools/helm/helm.sh builds and caches it.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
