// argocd runs Coxswain's argocd-cm keys (docs/argocd/argocd-cm.yaml) in Argo CD's own Lua runtime
// against Kubernetes objects and prints one JSON line per object:
//
//	go run . -cm ../../../docs/argocd/argocd-cm.yaml health obj.yaml         {"file","status","message"}
//	go run . -cm ... discover obj.yaml                                       {"file","actions":[{name,disabled,params}]}
//	go run . -cm ... run undo obj.yaml [-param revision=HASH]                {"file","object","patch"}
//	kubectl get microservice orders -o json | go run . -cm ... health -
//	go run . cm-actions ../../../docs/argocd      the actions key of argocd-cm.yaml, from docs/argocd/actions
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type params map[string]string

func (p params) String() string { return fmt.Sprint(map[string]string(p)) }
func (p params) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("-param %q: want NAME=VALUE", s)
	}
	p[k] = v
	return nil
}

func main() {
	cmPath := flag.String("cm", "docs/argocd/argocd-cm.yaml", "the argocd-cm ConfigMap with Coxswain's keys")
	ps := params{}
	flag.Var(ps, "param", "an action parameter NAME=VALUE (repeatable)")
	flag.Parse()
	if err := run(*cmPath, ps, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(cmPath string, ps params, args []string) error {
	data, err := ReadConfigMap(cmPath)
	if err != nil {
		return err
	}
	argo, err := NewArgo(data)
	if err != nil {
		return err
	}
	if len(args) == 2 && args[0] == "cm-actions" {
		// The value of argocd-cm's actions key, from docs/argocd/actions (args[1]: docs/argocd).
		value, err := ActionsValue(args[1])
		if err == nil {
			fmt.Print(indent(value, "    "))
		}
		return err
	}
	if len(args) < 2 {
		return fmt.Errorf("usage: argocd [-cm FILE] health|discover FILE... | run ACTION [-param K=V] FILE...")
	}
	command, files := args[0], args[1:]
	action := ""
	if command == "run" {
		action, files = files[0], files[1:]
	}
	for _, file := range files {
		var raw []byte
		if file == "-" {
			raw, err = io.ReadAll(os.Stdin)
		} else {
			raw, err = os.ReadFile(file)
		}
		if err != nil {
			return err
		}
		obj, err := ReadObject(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		out := map[string]any{"file": file}
		switch command {
		case "health":
			h, err := argo.Health(obj)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			out["status"], out["message"] = h.Status, h.Message
		case "discover":
			actions, err := argo.Discover(obj)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			sort.Slice(actions, func(i, j int) bool { return actions[i].Name < actions[j].Name })
			out["actions"] = actions
		case "run":
			next, patch, err := argo.Run(obj, action, ps)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			out["object"], out["patch"] = next.Object, json.RawMessage(patch)
		default:
			return fmt.Errorf("unknown command %s", command)
		}
		line, err := json.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Println(string(line))
	}
	return nil
}
