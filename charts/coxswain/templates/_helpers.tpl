{{/* Names, after `helm create`'s conventions, truncated to the 63 characters a label allows. */}}
{{- define "coxswain.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "coxswain.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "coxswain.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "coxswain.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret whose `token` the ServiceMonitor sends: the user's, or the chart's scraper's. */}}
{{- define "coxswain.metricsTokenSecret" -}}
{{- default (printf "%s-metrics-scraper-token" (include "coxswain.fullname" .)) .Values.metrics.serviceMonitor.tokenSecret }}
{{- end }}

{{- define "coxswain.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coxswain.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "coxswain.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "coxswain.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "coxswain.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
What the operator does to the objects of the namespaces it watches, and no more. Every rule is
exercised by the end-to-end suite, which runs the operator under this chart's ServiceAccount.
*/}}
{{- define "coxswain.managerRules" -}}
# Microservices: watched; patched only to clear the one-shot coxswain.dev/action annotation and
# to hold or let go the coxswain.dev/adoption finalizer (docs/adopt.md, "Backing out").
- apiGroups: [coxswain.dev]
  resources: [microservices]
  verbs: [get, list, watch, patch]
- apiGroups: [coxswain.dev]
  resources: [microservices/status]
  verbs: [patch]
# What a Microservice becomes: written by server-side apply (create + patch), deleted when unwanted.
- apiGroups: [apps]
  resources: [deployments, controllerrevisions]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments/scale]
  verbs: [patch]
- apiGroups: [""]
  resources: [services, configmaps]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, patch, delete]
# The PodDisruptionBudget of spec.disruption.
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
{{- if .Values.gatewayAPI.enabled }}
# The HTTPRoute of spec.traffic.gateway (watched once the Gateway API's CRDs are installed).
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, create, patch, delete]
{{- end }}
{{- if .Values.podMonitors.enabled }}
# The PodMonitor of spec.monitoring (watched once the Prometheus Operator's CRDs are installed).
- apiGroups: [monitoring.coreos.com]
  resources: [podmonitors]
  verbs: [get, list, watch, create, patch, delete]
{{- end }}
{{- if .Values.secrets.track }}
# Secrets in the revision (spec.trackSecrets, docs/secrets.md): referenced Secrets are read and
# watched; each revision's immutable copies are written, and deleted with their revision.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
{{- end }}
# Pods are read (a crash-looping candidate aborts its rollout); patched only for their
# coxswain.dev/role label, never otherwise written.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch]
# EndpointSlices are only read: a route's weight moves once the slot's Ready pods are published.
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
# Analysis templates are only read. ClusterAnalysisTemplates are cluster-scoped: a Role (watchNamespaces)
# cannot grant them, and the operator then does not read them.
- apiGroups: [coxswain.dev]
  resources: [analysistemplates, clusteranalysistemplates]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* Where the notifications config and each target's Secret are mounted. */}}
{{- define "coxswain.notificationsDir" -}}/etc/coxswain/notifications{{- end }}

{{/* The operator's notifications config (src/notifications/config.ts), from the values. */}}
{{- define "coxswain.notificationsConfig" -}}
{{- $dir := include "coxswain.notificationsDir" . -}}
{{- $n := .Values.notifications -}}
{{- $targets := list -}}
{{- range $n.targets -}}
{{- $t := dict "name" .name "format" .format "urlFile" (printf "%s/targets/%s/url" $dir .name) -}}
{{- if .signingSecret }}{{ $_ := set $t "signingSecretFile" (printf "%s/targets/%s/signing-key" $dir .name) }}{{ end -}}
{{- if .events }}{{ $_ := set $t "events" .events }}{{ end -}}
{{- if .minSeverity }}{{ $_ := set $t "minSeverity" .minSeverity }}{{ end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- $c := dict "defaultEnabled" $n.defaultEnabled "timeoutSeconds" $n.timeoutSeconds "retries" $n.retries "queueSize" $n.queueSize "targets" $targets -}}
{{- if $n.clusterName }}{{ $_ := set $c "cluster" $n.clusterName }}{{ end -}}
{{- toJson $c -}}
{{- end }}
