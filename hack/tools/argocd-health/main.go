// argocd-health evaluates docs/argocd/health.lua (or -script FILE) against Kubernetes objects, as
// Argo CD would, and prints one JSON line per object: {"file","status","message"}.
//
//	go run . -script ../../../docs/argocd/health.lua obj.json other.yaml
//	kubectl get microservice orders -o json | go run . -script ... -
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// ReadObject reads one object from YAML or JSON.
func ReadObject(data []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	return DecodeObject(j)
}

func main() {
	script := flag.String("script", "docs/argocd/health.lua", "the health script")
	flag.Parse()
	src, err := os.ReadFile(*script)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed := false
	for _, file := range flag.Args() {
		var data []byte
		if file == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		var h Health
		if err == nil {
			var obj map[string]any
			if obj, err = ReadObject(data); err == nil {
				h, err = Evaluate(string(src), obj)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			failed = true
			continue
		}
		line, _ := json.Marshal(map[string]string{"file": file, "status": h.Status, "message": h.Message})
		fmt.Println(string(line))
	}
	if failed {
		os.Exit(1)
	}
}
