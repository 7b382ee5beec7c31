//go:build tools

// Package tools pins the Prometheus Operator's API types (the monitoring.coreos.com/v1 Go types,
// with their kubebuilder markers) and controller-gen, which crds.sh runs over them to write the
// PodMonitor CRD exactly as the Prometheus Operator generates its own.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
