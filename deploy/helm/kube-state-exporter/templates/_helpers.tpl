{{/* Chart name, 63 characters at most. */}}
{{- define "kse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name when it already holds the chart name. */}}
{{- define "kse.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kse.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "kse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kse.labels" -}}
{{ include "kse.selectorLabels" . }}
app.kubernetes.io/component: exporter
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The image: registry/repository:tag[-overlays][@sha]. */}}
{{- define "kse.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.schemaOverlays -}}
{{- $tag = printf "%s-%s" $tag (join "-" .Values.schemaOverlays) -}}
{{- end -}}
{{- $repository := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repository = printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.sha -}}
{{- printf "%s:%s@%s" $repository $tag .Values.image.sha -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
API group of every resource the exporter can serve (proto/resources.toml; a test checks
the two agree).
*/}}
{{- define "kse.apiGroups" -}}
certificatesigningrequests: certificates.k8s.io
clusterrolebindings: rbac.authorization.k8s.io
clusterroles: rbac.authorization.k8s.io
configmaps: ""
cronjobs: batch
daemonsets: apps
deployments: apps
endpoints: ""
endpointslices: discovery.k8s.io
horizontalpodautoscalers: autoscaling
ingressclasses: networking.k8s.io
ingresses: networking.k8s.io
jobs: batch
leases: coordination.k8s.io
limitranges: ""
mutatingadmissionpolicies: admissionregistration.k8s.io
mutatingadmissionpolicybindings: admissionregistration.k8s.io
mutatingwebhookconfigurations: admissionregistration.k8s.io
namespaces: ""
networkpolicies: networking.k8s.io
nodes: ""
persistentvolumeclaims: ""
persistentvolumes: ""
poddisruptionbudgets: policy
pods: ""
replicasets: apps
replicationcontrollers: ""
resourcequotas: ""
rolebindings: rbac.authorization.k8s.io
roles: rbac.authorization.k8s.io
secrets: ""
serviceaccounts: ""
services: ""
statefulsets: apps
storageclasses: storage.k8s.io
validatingadmissionpolicies: admissionregistration.k8s.io
validatingadmissionpolicybindings: admissionregistration.k8s.io
validatingwebhookconfigurations: admissionregistration.k8s.io
volumeattachments: storage.k8s.io
{{- end -}}

{{/* The exporter's arguments (values → flags), as a YAML list. */}}
{{- define "kse.args" -}}
{{- $v := .Values -}}
{{- $args := list "--port=8080" (printf "--telemetry-port=%d" (int $v.selfMonitor.telemetryPort)) (printf "--resources=%s" (join "," $v.collectors)) -}}
{{- with $v.metricAllowlist }}{{ $args = append $args (printf "--metric-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricDenylist }}{{ $args = append $args (printf "--metric-denylist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricOptInList }}{{ $args = append $args (printf "--metric-opt-in-list=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricLabelsAllowlist }}{{ $args = append $args (printf "--metric-labels-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricAnnotationsAllowList }}{{ $args = append $args (printf "--metric-annotations-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.namespaces }}{{ $args = append $args (printf "--namespaces=%s" .) }}{{ end -}}
{{- with $v.namespacesDenylist }}{{ $args = append $args (printf "--namespaces-denylist=%s" .) }}{{ end -}}
{{- if $v.autosharding.enabled }}{{ $args = concat $args (list "--pod=$(POD_NAME)" "--pod-namespace=$(POD_NAMESPACE)") }}{{ end -}}
{{- $args = concat $args $v.extraArgs -}}
{{- toYaml $args -}}
{{- end -}}

{{/* The settings of one ServiceMonitor endpoint that are set. */}}
{{- define "kse.endpoint" -}}
honorLabels: {{ .honorLabels }}
{{- range $key := list "interval" "scrapeTimeout" "proxyUrl" "scheme" "bearerTokenFile" }}
{{- with get $ $key }}
{{ $key }}: {{ . }}
{{- end }}
{{- end }}
{{- if .enableHttp2 }}
enableHttp2: true
{{- end }}
{{- range $key := list "tlsConfig" "bearerTokenSecret" "metricRelabelings" "relabelings" }}
{{- with get $ $key }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
