// Package ext stands in for Traefik's nested module github.com/traefik/traefik/dynamic/ext, which
// the v3 module zip leaves out (a nested module is never in its parent's zip). Upstream it is this
// small: empty extension points that the open-source build inlines into dynamic.HTTP and Router.
package ext

// HTTP is a dynamic.HTTP extension.
type HTTP struct{}

// Router is a dynamic.Router extension.
type Router struct{}

// RouterIng is a RouterIng extension for ingress provider annotations.
type RouterIng struct{}

// ToRouter converts RouterIng to a Router.
func (r RouterIng) ToRouter() Router { return Router{} }
