//go:build tools

// Package tools pins the KWOK controller (sigs.k8s.io/kwok/cmd/kwok), which
// simulates the local test cluster's nodes and pods. The version is in go.mod.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
