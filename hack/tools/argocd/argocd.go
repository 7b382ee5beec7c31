package main

// Argo CD's own Lua runtime (util/lua, github.com/argoproj/argo-cd/v3) with Coxswain's argocd-cm
// keys: the health check, action discovery and the actions run exactly as Argo CD runs them for
// a customization configured in argocd-cm (no string library; os.time and os.date only).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/health"
	jsonpatch "github.com/evanphx/json-patch"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argolua "github.com/argoproj/argo-cd/v3/util/lua"
)

// The argocd-cm keys Coxswain ships, by what Argo CD reads from each.
const (
	keyHealth  = "resource.customizations.health.coxswain.dev_Microservice"
	keyActions = "resource.customizations.actions.coxswain.dev_Microservice"
	keyIgnore  = "resource.customizations.ignoreDifferences.coxswain.dev_Microservice"
	// How Argo CD keys a ResourceOverride: group/kind.
	overrideKey = "coxswain.dev/Microservice"
)

// Argo is Argo CD's Lua VM configured from an argocd-cm ConfigMap.
type Argo struct {
	vm       argolua.VM
	override appv1.ResourceOverride
}

// ReadConfigMap reads the argocd-cm ConfigMap's data.
func ReadConfigMap(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cm.Data, nil
}

// NewArgo configures the VM as Argo CD's settings do from the split argocd-cm keys
// (resource.customizations.<health|actions>.<group>_<kind>).
func NewArgo(data map[string]string) (*Argo, error) {
	override := appv1.ResourceOverride{HealthLua: data[keyHealth], Actions: data[keyActions]}
	if override.Actions != "" {
		if _, err := override.GetActions(); err != nil {
			return nil, fmt.Errorf("%s: %w", keyActions, err)
		}
	}
	return &Argo{vm: argolua.VM{ResourceOverrides: map[string]appv1.ResourceOverride{overrideKey: override}}, override: override}, nil
}

// Health is what Argo CD shows for the object.
func (a *Argo) Health(obj *unstructured.Unstructured) (*health.HealthStatus, error) {
	return argolua.ResourceHealthOverrides(a.vm.ResourceOverrides).GetResourceHealth(obj)
}

// Discover lists the actions Argo CD offers for the object, and which are disabled.
func (a *Argo) Discover(obj *unstructured.Unstructured) ([]appv1.ResourceAction, error) {
	scripts, err := a.vm.GetResourceActionDiscovery(obj)
	if err != nil {
		return nil, err
	}
	return a.vm.ExecuteResourceActionDiscovery(obj, scripts)
}

// Run runs an action as Argo CD's API server does, and returns the object it would patch to and
// the merge patch it would send (the difference between the live object and the action's).
func (a *Argo) Run(obj *unstructured.Unstructured, action string, params map[string]string) (*unstructured.Unstructured, []byte, error) {
	def, err := a.vm.GetResourceAction(obj, action)
	if err != nil {
		return nil, nil, err
	}
	var ps []*applicationpkg.ResourceActionParameters
	for k, v := range params {
		ps = append(ps, &applicationpkg.ResourceActionParameters{Name: &k, Value: &v})
	}
	impacted, err := a.vm.ExecuteResourceAction(obj, def.ActionLua, ps)
	if err != nil {
		return nil, nil, err
	}
	if len(impacted) != 1 || impacted[0].K8SOperation != argolua.PatchOperation {
		return nil, nil, fmt.Errorf("action %s: want one patch of the Microservice, got %d resource(s)", action, len(impacted))
	}
	live, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	next, err := json.Marshal(impacted[0].UnstructuredObj)
	if err != nil {
		return nil, nil, err
	}
	patch, err := jsonpatch.CreateMergePatch(live, next)
	return impacted[0].UnstructuredObj, patch, err
}

// ReadObject reads one object from YAML or JSON, as Argo CD's tests read their fixtures.
func ReadObject(data []byte) (*unstructured.Unstructured, error) {
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// Actions are Coxswain's actions, in the order Argo CD lists them.
var Actions = []string{"promote", "promote-full", "abort", "retry", "undo", "pause", "resume", "restart"}

// ActionsValue is what argocd-cm.yaml must hold under keyActions: discovery.lua, and request.lua
// once per action with that action's name (docs is docs/argocd).
func ActionsValue(docs string) (string, error) {
	discovery, err := os.ReadFile(filepath.Join(docs, "actions", "discovery.lua"))
	if err != nil {
		return "", err
	}
	request, err := os.ReadFile(filepath.Join(docs, "actions", "request.lua"))
	if err != nil {
		return "", err
	}
	const line = `local action = "promote"` + "\n"
	if strings.Count(string(request), line) != 1 {
		return "", fmt.Errorf("request.lua: want exactly one line %q", line)
	}
	var b strings.Builder
	b.WriteString("discovery.lua: |\n" + indent(string(discovery), "  ") + "definitions:\n")
	for _, name := range Actions {
		script := strings.Replace(string(request), line, fmt.Sprintf("local action = %q\n", name), 1)
		b.WriteString("  - name: " + name + "\n    action.lua: |\n" + indent(script, "      "))
	}
	return b.String(), nil
}

func indent(text, prefix string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if l != "\n" && l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
