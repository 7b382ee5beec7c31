//go:build tools

// Package tools pins the Prometheus server that the analysis end-to-end tests query. Prometheus
// 3.x is published as module version v0.3MM.P (v0.316.0 is Prometheus 3.16.0).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
