package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/gitops-engine/pkg/health"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
)

const docs = "../../../docs/argocd"

func argo(t *testing.T) (*Argo, map[string]string) {
	t.Helper()
	data, err := ReadConfigMap(filepath.Join(docs, "argocd-cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewArgo(data)
	if err != nil {
		t.Fatal(err)
	}
	return a, data
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := ReadObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// Every fixture in dir must be named by some test: a fixture nobody checks checks nothing.
func allCovered(t *testing.T, dir string, covered map[string]bool) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var missing []string
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			missing = append(missing, filepath.Base(f))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fixtures in %s no test names: %v", dir, missing)
	}
}

// The fixtures in docs/argocd/testdata come from real runs; health_test.yaml says what Argo CD
// must make of each (the layout of Argo CD's own resource_customizations tests).
func TestHealthFixtures(t *testing.T) {
	a, _ := argo(t)
	raw, err := os.ReadFile(filepath.Join(docs, "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Tests []struct {
			HealthStatus health.HealthStatus `json:"healthStatus"`
			InputPath    string              `json:"inputPath"`
		} `json:"tests"`
	}
	if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range spec.Tests {
		covered[filepath.Base(tc.InputPath)] = true
		t.Run(tc.InputPath, func(t *testing.T) {
			got, err := a.Health(readObject(t, filepath.Join(docs, tc.InputPath)))
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.HealthStatus {
				t.Errorf("got %+v, want %+v", *got, tc.HealthStatus)
			}
		})
	}
	allCovered(t, filepath.Join(docs, "testdata"), covered)
	if len(spec.Tests) < 10 {
		t.Errorf("only %d fixtures", len(spec.Tests))
	}
}

// Shapes no real run produced, but a user's cluster might hold (an older operator, a hand edit).
func TestHealthEdgeCases(t *testing.T) {
	a, _ := argo(t)
	cases := []struct {
		name string
		obj  string
		want health.HealthStatus
	}{
		{"empty status", `{"metadata":{"generation":1},"status":{}}`,
			health.HealthStatus{Status: "Progressing", Message: "Waiting for Coxswain to observe generation 1"}},
		{"no generation at all", `{"metadata":{},"status":{"phase":"Healthy","conditions":[{"type":"Ready","status":"True","reason":"Available"}]}}`,
			health.HealthStatus{Status: "Healthy", Message: "Available"}},
		{"Degraded without conditions", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Degraded"}}`,
			health.HealthStatus{Status: "Degraded", Message: "Degraded"}},
		{"Stalled wins over Paused", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Paused","conditions":[{"type":"Stalled","status":"True","reason":"InvalidSpec","message":"invalid spec: spec.image: required"}]}}`,
			health.HealthStatus{Status: "Degraded", Message: "InvalidSpec: invalid spec: spec.image: required"}},
		{"Healthy phase but Ready False", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Healthy","conditions":[{"type":"Ready","status":"False","reason":"Progressing","message":"scaling"}]}}`,
			health.HealthStatus{Status: "Progressing", Message: "Progressing: scaling"}},
		{"an unknown phase", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Bogus"}}`,
			health.HealthStatus{Status: "Progressing", Message: "Waiting for Coxswain to report status"}},
		{"observedGeneration ahead (a restored backup)", `{"metadata":{"generation":2},"status":{"observedGeneration":3,"phase":"Healthy","conditions":[{"type":"Ready","status":"True","reason":"Available","message":"ok"}]}}`,
			health.HealthStatus{Status: "Healthy", Message: "Available: ok"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, err := ReadObject([]byte(`{"apiVersion":"coxswain.dev/v1alpha1","kind":"Microservice",` + c.obj[1:]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Health(obj)
			if err != nil {
				t.Fatal(err)
			}
			if *got != c.want {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

// Argo CD gives a check configured in argocd-cm no string library: a script that used one would
// fail there, so it must fail here.
func TestNoStringLibrary(t *testing.T) {
	a, err := NewArgo(map[string]string{keyHealth: `return { status = string.upper("healthy") }`})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := ReadObject([]byte(`{"apiVersion":"coxswain.dev/v1alpha1","kind":"Microservice","metadata":{"name":"x"}}`))
	if _, err := a.Health(obj); err == nil {
		t.Fatal("string library available: the runtime is not configured as Argo CD configures argocd-cm checks")
	}
}

// The argocd-cm snippet users copy must carry the scripts as they are tested here.
func TestConfigMapSnippet(t *testing.T) {
	_, data := argo(t)
	script, err := os.ReadFile(filepath.Join(docs, "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if data[keyHealth] != string(script) {
		t.Errorf("argocd-cm.yaml's health check differs from health.lua; paste health.lua into it again")
	}
	want, err := ActionsValue(docs)
	if err != nil {
		t.Fatal(err)
	}
	if data[keyActions] != want {
		t.Errorf("argocd-cm.yaml's actions differ from docs/argocd/actions; put the output of `go run . cm-actions %s` under %s", docs, keyActions)
	}
	if _, ok := data[keyIgnore]; !ok {
		t.Errorf("argocd-cm.yaml lost the ignoreDifferences for replicas")
	}
}

// Argo CD's action_test.yaml, as util/lua's own test reads it.
type actionTests struct {
	DiscoveryTests []struct {
		InputPath string                 `json:"inputPath"`
		Result    []appv1.ResourceAction `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action               string            `json:"action"`
		InputPath            string            `json:"inputPath"`
		ExpectedOutputPath   string            `json:"expectedOutputPath"`
		ExpectedErrorMessage string            `json:"expectedErrorMessage"`
		Parameters           map[string]string `json:"parameters"`
	} `json:"actionTests"`
}

func readActionTests(t *testing.T) actionTests {
	raw, err := os.ReadFile(filepath.Join(docs, "actions", "action_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec actionTests
	if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestDiscovery(t *testing.T) {
	a, _ := argo(t)
	spec := readActionTests(t)
	covered := map[string]bool{}
	for _, tc := range spec.DiscoveryTests {
		covered[filepath.Base(tc.InputPath)] = true
		t.Run(tc.InputPath, func(t *testing.T) {
			got, err := a.Discover(readObject(t, filepath.Join(docs, "actions", tc.InputPath)))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := describe(got), describe(tc.Result); g != w {
				t.Errorf("discovery:\n got  %s\n want %s", g, w)
			}
		})
	}
	for _, tc := range spec.ActionTests {
		covered[filepath.Base(tc.InputPath)] = true
		covered[filepath.Base(tc.ExpectedOutputPath)] = true
	}
	allCovered(t, filepath.Join(docs, "actions", "testdata"), covered)
}

// One line per action, sorted: name, on or off, display name, parameters.
func describe(actions []appv1.ResourceAction) string {
	var lines []string
	for _, a := range actions {
		state := "on"
		if a.Disabled {
			state = "off"
		}
		var params []string
		for _, p := range a.Params {
			params = append(params, p.Name)
		}
		lines = append(lines, fmt.Sprintf("%s=%s%s%v", a.Name, state, map[bool]string{true: "(" + a.DisplayName + ")"}[a.DisplayName != ""], params))
	}
	sort.Strings(lines)
	return strings.Join(lines, " ")
}

// The request an action wrote: `<action>[=<revision>]:<base36 ms>-<6 hex>`.
var requestValue = regexp.MustCompile(`^([a-z-]+(?:=[0-9a-f]{10})?):([0-9a-z]+)-([0-9a-f]{6})$`)

func TestActions(t *testing.T) {
	a, _ := argo(t)
	spec := readActionTests(t)
	ran := map[string]bool{}
	for _, tc := range spec.ActionTests {
		ran[tc.Action] = true
		t.Run(tc.Action+"/"+tc.InputPath, func(t *testing.T) {
			in := readObject(t, filepath.Join(docs, "actions", tc.InputPath))
			before := time.Now().UnixMilli() / 1000 * 1000
			out, patch, err := a.Run(in.DeepCopy(), tc.Action, tc.Parameters)
			if tc.ExpectedErrorMessage != "" {
				if err == nil || err.Error() != tc.ExpectedErrorMessage {
					t.Fatalf("error %v, want %q", err, tc.ExpectedErrorMessage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What Argo CD sends is a merge patch of the one annotation, nothing else.
			var sent map[string]any
			if err := json.Unmarshal(patch, &sent); err != nil {
				t.Fatal(err)
			}
			value, _ := sent["metadata"].(map[string]any)["annotations"].(map[string]any)["coxswain.dev/action"].(string)
			if want := fmt.Sprintf(`{"metadata":{"annotations":{"coxswain.dev/action":%q}}}`, value); string(patch) != want {
				t.Errorf("patch %s, want only the annotation: %s", patch, want)
			}
			m := requestValue.FindStringSubmatch(value)
			if m == nil {
				t.Fatalf("annotation %q is not <action>[=<revision>]:<id> as kubectl coxswain writes it", value)
			}
			if v, err := parseBase36(m[2]); err != nil || v < before || v > time.Now().UnixMilli() {
				t.Errorf("id time %s (%d, %v) is not the time of the run", m[2], v, err)
			}
			var rv int64
			fmt.Sscanf(in.GetResourceVersion(), "%d", &rv)
			if m[3] != fmt.Sprintf("%06x", rv%(1<<24)) {
				t.Errorf("id suffix %s, want the resourceVersion's low 24 bits %06x", m[3], rv%(1<<24))
			}
			// The rest as Argo CD's tests compare it, the id normalized as they normalize a time.
			want := readObject(t, filepath.Join(docs, "actions", tc.ExpectedOutputPath))
			annotations := out.GetAnnotations()
			annotations["coxswain.dev/action"] = m[1] + ":<id>"
			out.SetAnnotations(annotations)
			g, _ := json.Marshal(out.Object)
			w, _ := json.Marshal(want.Object)
			if string(g) != string(w) {
				t.Errorf("output differs from %s:\n got  %s\n want %s", tc.ExpectedOutputPath, g, w)
			}
		})
	}
	for _, name := range Actions {
		if !ran[name] {
			t.Errorf("no action test runs %s", name)
		}
	}
}

func parseBase36(s string) (int64, error) {
	var n int64
	for _, c := range s {
		d := strings.IndexRune("0123456789abcdefghijklmnopqrstuvwxyz", c)
		if d < 0 {
			return 0, fmt.Errorf("not base 36: %q", s)
		}
		n = n*36 + int64(d)
	}
	return n, nil
}

// Shapes no walk of the e2e test reaches, written by hand from the status the operator writes.
func TestDiscoveryEdgeCases(t *testing.T) {
	a, _ := argo(t)
	const canary = `"spec":{"replicas":2,"strategy":{"type":"Canary","canary":{"steps":[{"setWeight":50},{"pause":{"duration":"1m"}},{"analysis":{"metrics":["m"]}},{"pause":{}}]}}}`
	const rolling = `"desiredRevision":"b","stableRevision":"a","activeSlot":"blue","observedGeneration":2`
	cases := []struct {
		name, obj string
		want      []string
	}{
		{"no status yet", `{"metadata":{"name":"x","generation":1},` + canary + `}`, nil},
		{"status behind the spec", `{"metadata":{"name":"x","generation":3},` + canary + `,"status":{` + rolling + `}}`, nil},
		{"invalid spec", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"conditions":[{"type":"Stalled","status":"True","reason":"InvalidSpec"}]}}`, nil},
		{"a bare request pending", `{"metadata":{"name":"x","generation":2,"annotations":{"coxswain.dev/action":"pause"}},` + canary + `,"status":{` + rolling + `}}`, nil},
		{"a request answered, not yet cleared", `{"metadata":{"name":"x","generation":2,"annotations":{"coxswain.dev/action":"pause:k1-000001"}},` + canary +
			`,"status":{` + rolling + `,"lastAction":{"id":"k1-000001","action":"pause","ok":true}}}`,
			[]string{"abort", "pause", "promote-full", "restart", "undo"}},
		{"the Gateway API missing", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"conditions":[{"type":"Stalled","status":"True","reason":"GatewayAPIMissing"}]}}`,
			[]string{"abort", "pause"}},
		{"a timed pause under way", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"rollout":{"step":1,"pausedUntil":"2030-01-01T00:00:00Z"}}}`,
			[]string{"abort", "pause", "promote", "promote-full", "restart", "undo"}},
		{"a pause step the candidate has not reached", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"rollout":{"step":1,"unreadySince":"2030-01-01T00:00:00Z"}}}`,
			[]string{"abort", "pause", "promote-full", "restart", "undo"}},
		{"an analysis step running", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"rollout":{"step":2,"analysis":{"step":{"id":"step-2","revision":"b"}}}}}`,
			[]string{"abort", "pause", "promote", "promote-full", "restart", "undo"}},
		{"a pause step held by spec.paused", `{"metadata":{"name":"x","generation":2},"spec":{"paused":true,"replicas":2,"strategy":{"type":"Canary","canary":{"steps":[{"pause":{}}]}}},"status":{` + rolling + `,"rollout":{"step":0}}}`,
			[]string{"abort", "pause", "promote", "promote-full", "restart", "undo"}},
		{"a setWeight step", `{"metadata":{"name":"x","generation":2},` + canary + `,"status":{` + rolling + `,"rollout":{"step":0}}}`,
			[]string{"abort", "pause", "promote-full", "restart", "undo"}},
		{"a blue-green preview of 1 of 3, Ready", `{"metadata":{"name":"x","generation":2},"spec":{"replicas":3,"strategy":{"type":"BlueGreen","blueGreen":{"previewReplicas":1}}},"status":{` + rolling +
			`,"rollout":{"candidateSlot":"green"},"slots":{"green":{"revision":"b","replicas":1,"readyReplicas":1}}}}`,
			[]string{"abort", "pause", "promote", "promote-full", "restart", "undo"}},
		{"a blue-green preview not Ready", `{"metadata":{"name":"x","generation":2},"spec":{"replicas":3,"strategy":{"type":"BlueGreen","blueGreen":{}}},"status":{` + rolling +
			`,"rollout":{"candidateSlot":"green"},"slots":{"green":{"revision":"b","replicas":3,"readyReplicas":2}}}}`,
			[]string{"abort", "pause", "promote-full", "restart", "undo"}},
		{"a blue-green switching", `{"metadata":{"name":"x","generation":2},"spec":{"replicas":1,"strategy":{"type":"BlueGreen","blueGreen":{}}},"status":{` + rolling +
			`,"rollout":{"step":1,"candidateSlot":"green"},"slots":{"green":{"revision":"b","replicas":1,"readyReplicas":1}}}}`,
			[]string{"abort", "pause", "promote-full", "restart", "undo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, err := ReadObject([]byte(`{"apiVersion":"coxswain.dev/v1alpha1","kind":"Microservice",` + c.obj[1:]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Discover(obj)
			if err != nil {
				t.Fatal(err)
			}
			var on []string
			for _, x := range got {
				if !x.Disabled {
					on = append(on, x.Name)
				}
			}
			sort.Strings(on)
			if strings.Join(on, " ") != strings.Join(c.want, " ") {
				t.Errorf("offered %v, want %v", on, c.want)
			}
		})
	}
}

// What an action refuses to write, and what it writes on an object with no annotations yet.
func TestActionEdgeCases(t *testing.T) {
	a, _ := argo(t)
	obj := func(meta string) *unstructured.Unstructured {
		o, err := ReadObject([]byte(`{"apiVersion":"coxswain.dev/v1alpha1","kind":"Microservice","metadata":{"name":"shop","namespace":"team","resourceVersion":"16777217"` + meta + `},"spec":{"image":"i"}}`))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if _, _, err := a.Run(obj(`,"annotations":{"coxswain.dev/action":"pause:k1-000001"}`), "resume", nil); err == nil ||
		err.Error() != "shop already has an action waiting for the operator (coxswain.dev/action=pause:k1-000001); wait for its answer, or withdraw it: kubectl annotate microservice shop coxswain.dev/action-" {
		t.Errorf("a second request while one is pending: %v", err)
	}
	for _, bad := range []string{"4b1c0d9e2", "4b1c0d9e2ag", "4b1c0d9e2g", "4b1c:d9e2a"} {
		if _, _, err := a.Run(obj(""), "undo", map[string]string{"revision": bad}); err == nil ||
			err.Error() != "revision "+bad+": a revision hash of 10 hex digits, as kubectl coxswain history shows" {
			t.Errorf("undo to %q: %v", bad, err)
		}
	}
	_, patch, err := a.Run(obj(""), "undo", map[string]string{"revision": "4b1c0d9e2a"})
	if err != nil {
		t.Fatal(err)
	}
	// 16777217 is 2^24 + 1: the id keeps its low 24 bits.
	if m := regexp.MustCompile(`^\{"metadata":\{"annotations":\{"coxswain.dev/action":"undo=4b1c0d9e2a:[0-9a-z]+-000001"\}\}\}$`); !m.Match(patch) {
		t.Errorf("patch %s", patch)
	}
	// A revision parameter means nothing to another action.
	if _, patch, err := a.Run(obj(""), "restart", map[string]string{"revision": "4b1c0d9e2a"}); err != nil || !regexp.MustCompile(`"restart:[0-9a-z]+-000001"`).Match(patch) {
		t.Errorf("restart with a revision: %s %v", patch, err)
	}
}
