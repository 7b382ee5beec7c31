package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

const docs = "../../../docs/argocd"

// The fixtures in docs/argocd/testdata come from real runs; health_test.yaml says what Argo CD
// must make of each (the layout of Argo CD's own resource_customizations tests).
func TestFixtures(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(docs, "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(docs, "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Tests []struct {
			HealthStatus Health `json:"healthStatus"`
			InputPath    string `json:"inputPath"`
		} `json:"tests"`
	}
	if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range spec.Tests {
		covered[filepath.Base(tc.InputPath)] = true
		t.Run(tc.InputPath, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(docs, tc.InputPath))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := ReadObject(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Evaluate(string(script), obj)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.HealthStatus {
				t.Errorf("got %+v, want %+v", got, tc.HealthStatus)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(docs, "testdata", "*.yaml"))
	var missing []string
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			missing = append(missing, filepath.Base(f))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fixtures without an expectation in health_test.yaml: %v", missing)
	}
	if len(spec.Tests) < 10 {
		t.Errorf("only %d fixtures", len(spec.Tests))
	}
}

// Shapes no real run produced, but a user's cluster might hold (an older operator, a hand edit).
func TestEdgeCases(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(docs, "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		obj  string
		want Health
	}{
		{"empty status", `{"metadata":{"generation":1},"status":{}}`,
			Health{"Progressing", "Waiting for Coxswain to observe generation 1"}},
		{"no generation at all", `{"metadata":{},"status":{"phase":"Healthy","conditions":[{"type":"Ready","status":"True","reason":"Available"}]}}`,
			Health{"Healthy", "Available"}},
		{"Degraded without conditions", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Degraded"}}`,
			Health{"Degraded", "Degraded"}},
		{"Stalled wins over Paused", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Paused","conditions":[{"type":"Stalled","status":"True","reason":"InvalidSpec","message":"invalid spec: spec.image: required"}]}}`,
			Health{"Degraded", "InvalidSpec: invalid spec: spec.image: required"}},
		{"Healthy phase but Ready False", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Healthy","conditions":[{"type":"Ready","status":"False","reason":"Progressing","message":"scaling"}]}}`,
			Health{"Progressing", "Progressing: scaling"}},
		{"an unknown phase", `{"metadata":{"generation":2},"status":{"observedGeneration":2,"phase":"Bogus"}}`,
			Health{"Progressing", "Waiting for Coxswain to report status"}},
		{"observedGeneration ahead (a restored backup)", `{"metadata":{"generation":2},"status":{"observedGeneration":3,"phase":"Healthy","conditions":[{"type":"Ready","status":"True","reason":"Available","message":"ok"}]}}`,
			Health{"Healthy", "Available: ok"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, err := ReadObject([]byte(c.obj))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Evaluate(string(script), obj)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// Argo CD gives a custom health check no string library: a script that used one would fail there.
func TestNoStringLibrary(t *testing.T) {
	_, err := Evaluate(`return { status = string.upper("healthy") }`, map[string]any{})
	if err == nil {
		t.Fatal("string library available: the harness is not as strict as Argo CD")
	}
}

// The argocd-cm snippet users copy must carry the script as it is tested here.
func TestConfigMapSnippet(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(docs, "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(docs, "argocd-cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["resource.customizations.health.coxswain.dev_Microservice"]; got != string(script) {
		t.Errorf("argocd-cm.yaml's health check differs from health.lua; paste health.lua into it again")
	}
	if _, ok := cm.Data["resource.customizations.ignoreDifferences.coxswain.dev_Microservice"]; !ok {
		t.Errorf("argocd-cm.yaml lost the ignoreDifferences for replicas")
	}
}
