//go:build tools

// Package tools pins Helm 3 (helm.sh/helm/v3/cmd/helm), so the suite proves the chart on the Helm
// most clusters are still installed with, beside Helm 4. hack/tools/helm/helm.sh builds it when
// HELM_MAJOR=3.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
