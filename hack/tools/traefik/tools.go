//go:build tools

// Package tools pins Traefik, the Gateway API controller that carries the data-plane end-to-end
// tests' real requests (hack/tools/traefik/traefik.sh).
package tools

import (
	_ "github.com/traefik/traefik/v3/cmd/traefik"
)
