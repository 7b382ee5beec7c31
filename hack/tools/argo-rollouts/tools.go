//go:build tools

// Package tools pins Argo Rollouts' controller, so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
