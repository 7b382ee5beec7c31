// Runs docs/argocd/health.lua as Argo CD does (gopher-lua, the libraries Argo CD opens for a
// health check configured in argocd-cm), against fixtures taken from real runs. Versions follow
// Argo CD v3.6's go.mod.
module coxswain.dev/hack/tools/argocd-health

go 1.26.0

require (
	github.com/yuin/gopher-lua v1.1.2
	layeh.com/gopher-json v0.0.0-20190114024228-97fed8db8427
	sigs.k8s.io/yaml v1.6.0
)

require go.yaml.in/yaml/v2 v2.4.2 // indirect
