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

{{/*
Selector labels of a pods-only workload of daemonset sharding (dict "root" $ "role" role):
an instance label of its own, so that no workload's selector matches another's pods.
*/}}
{{- define "kse.shardSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kse.name" .root }}
app.kubernetes.io/instance: {{ printf "%s-%s" .root.Release.Name .role | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Name of a pods-only workload (and its Service): the full name, then the role. */}}
{{- define "kse.shardName" -}}
{{- $max := sub 62 (len .role) | int -}}
{{- printf "%s-%s" (include "kse.fullname" .root | trunc $max | trimSuffix "-") .role -}}
{{- end -}}

{{- define "kse.labels" -}}
{{ include "kse.selectorLabels" . }}
{{ include "kse.commonLabels" . }}
{{- end -}}

{{/* The labels of every object and pod beside the selector labels. */}}
{{- define "kse.commonLabels" -}}
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

{{/*
The exporter's arguments (values → flags), as a YAML list, for one workload:
dict "root" $ "resources" (its collectors) "mode" (its sharding flags).
*/}}
{{- define "kse.args" -}}
{{- $v := .root.Values -}}
{{- $args := list "--port=8080" (printf "--telemetry-port=%d" (int $v.selfMonitor.telemetryPort)) (printf "--resources=%s" (join "," .resources)) -}}
{{- with $v.metricAllowlist }}{{ $args = append $args (printf "--metric-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricDenylist }}{{ $args = append $args (printf "--metric-denylist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricOptInList }}{{ $args = append $args (printf "--metric-opt-in-list=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricLabelsAllowlist }}{{ $args = append $args (printf "--metric-labels-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.metricAnnotationsAllowList }}{{ $args = append $args (printf "--metric-annotations-allowlist=%s" (join "," .)) }}{{ end -}}
{{- with $v.namespaces }}{{ $args = append $args (printf "--namespaces=%s" .) }}{{ end -}}
{{- with $v.namespacesDenylist }}{{ $args = append $args (printf "--namespaces-denylist=%s" .) }}{{ end -}}
{{- $args = concat $args .mode -}}
{{- if $v.authFilter.enabled }}{{ $args = append $args "--auth-filter" }}{{ end -}}
{{- if $v.tls.enabled }}{{ $args = append $args (printf "--tls-config=%s" (include "kse.tlsConfigPath" .root)) }}{{ end -}}
{{- $args = concat $args $v.extraArgs -}}
{{- toYaml $args -}}
{{- end -}}

{{/*
TLS (tls.*): the web configuration's file name and folder. The folder is one projected
volume holding the web configuration and the Secrets' files, so the file's relative paths
resolve beside it and a renewed Secret rewrites the whole folder, the web configuration
with it (the exporter reloads when the file changes).
*/}}
{{- define "kse.tlsConfigFile" -}}web-config.yml{{- end -}}

{{- define "kse.tlsConfigPath" -}}
{{- printf "%s/%s" (.Values.tls.mountPath | trimSuffix "/") (include "kse.tlsConfigFile" .) -}}
{{- end -}}

{{- define "kse.tlsClientCAFile" -}}client-ca.crt{{- end -}}

{{/* Whether every client must present a certificate (the kubelet's probes cannot). */}}
{{- define "kse.tlsRequiresClientCert" -}}
{{- if and .Values.tls.enabled .Values.tls.clientCASecretName (eq .Values.tls.clientAuthType "RequireAndVerifyClientCert") -}}true{{- end -}}
{{- end -}}

{{/* The exporter-toolkit web configuration (--tls-config), paths relative to it. */}}
{{- define "kse.webConfig" -}}
{{- $tls := .Values.tls -}}
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
  {{- with $tls.minVersion }}
  min_version: {{ . }}
  {{- end }}
  {{- if $tls.clientCASecretName }}
  client_auth_type: {{ $tls.clientAuthType }}
  client_ca_file: {{ include "kse.tlsClientCAFile" . }}
  {{- end }}
{{- end -}}

{{/*
The ServiceMonitor endpoints' tlsConfig with tls.enabled: the Service's DNS name, the CA
and client certificate of tls.scrape, insecureSkipVerify only when set there.
*/}}
{{- define "kse.tlsServerName" -}}
{{- default (printf "%s.%s.svc" (include "kse.fullname" .) (include "kse.namespace" .)) .Values.tls.scrape.serverName -}}
{{- end -}}

{{- define "kse.scrapeTLSConfig" -}}
{{- $s := .Values.tls.scrape -}}
serverName: {{ include "kse.tlsServerName" . }}
{{- range $key := list "ca" "cert" "keySecret" }}
{{- with get $s $key }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- range $key := list "caFile" "certFile" "keyFile" }}
{{- with get $s $key }}
{{ $key }}: {{ . }}
{{- end }}
{{- end }}
{{- if $s.insecureSkipVerify }}
insecureSkipVerify: true
{{- end }}
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
{{- range $key := list "tlsConfig" "bearerTokenSecret" "authorization" "metricRelabelings" "relabelings" }}
{{- with get $ $key }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Combinations of values the chart refuses, with what to change. */}}
{{- define "kse.validate" -}}
{{- if and .Values.autosharding.enabled .Values.daemonsetSharding.enabled -}}
{{- fail "autosharding.enabled and daemonsetSharding.enabled are mutually exclusive: pick one sharding mode" -}}
{{- end -}}
{{- if .Values.daemonsetSharding.enabled -}}
{{- if not (has "pods" .Values.collectors) -}}
{{- fail "daemonsetSharding.enabled shards pods by node: collectors must include pods" -}}
{{- end -}}
{{- if not (without .Values.collectors "pods") -}}
{{- fail "daemonsetSharding.enabled: collectors holds nothing but pods, which leaves the main Deployment nothing to serve" -}}
{{- end -}}
{{- if .Values.hostNetwork -}}
{{- fail "daemonsetSharding.enabled with hostNetwork: the DaemonSet takes the exporter's ports on every node, so the Deployments' pods could not be scheduled" -}}
{{- end -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- if not .Values.tls.secretName -}}
{{- fail "tls.enabled needs tls.secretName: an existing kubernetes.io/tls Secret (tls.crt, tls.key) in the release namespace, e.g. from cert-manager" -}}
{{- end -}}
{{- if and .Values.tls.clientCASecretName (not (has .Values.tls.clientAuthType (list "RequireAndVerifyClientCert" "VerifyClientCertIfGiven"))) -}}
{{- fail (printf "tls.clientAuthType %q: the exporter verifies client certificates, use RequireAndVerifyClientCert or VerifyClientCertIfGiven" .Values.tls.clientAuthType) -}}
{{- end -}}
{{- if not (has .Values.tls.minVersion (list "" "TLS12" "TLS13")) -}}
{{- fail (printf "tls.minVersion %q: the exporter serves TLS12 and TLS13" .Values.tls.minVersion) -}}
{{- end -}}
{{- if not (hasPrefix "/" .Values.tls.mountPath) -}}
{{- fail "tls.mountPath must be an absolute path" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The pod template of one workload: dict "root" $, "selectorLabels" (rendered), "args"
(rendered kse.args), "env" (its downward-API variables), "resources", "nodeSelector",
"tolerations", "affinity", "topologySpreadConstraints".
*/}}
{{- define "kse.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
metadata:
  labels:
    {{- .selectorLabels | nindent 4 }}
    {{- include "kse.commonLabels" $root | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "kse.serviceAccountName" $root }}
  automountServiceAccountToken: true
  hostNetwork: {{ $v.hostNetwork }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if $v.securityContext.enabled }}
  securityContext:
    {{- toYaml (omit $v.securityContext "enabled") | nindent 4 }}
  {{- end }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: kube-state-exporter
      image: {{ include "kse.image" $root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        {{- .args | nindent 8 }}
      {{- if or .env $v.env }}
      env:
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http-metrics
          containerPort: 8080
        - name: telemetry
          containerPort: {{ $v.selfMonitor.telemetryPort }}
      {{- if include "kse.tlsRequiresClientCert" $root }}
      # Every client needs a certificate, which the kubelet has not: TCP probes only.
      livenessProbe:
        tcpSocket:
          port: http-metrics
        {{- toYaml $v.livenessProbe | nindent 8 }}
      readinessProbe:
        tcpSocket:
          port: telemetry
        {{- toYaml $v.readinessProbe | nindent 8 }}
      {{- else }}
      # /livez reaches the apiserver; /readyz turns 200 once every resource has synced.
      livenessProbe:
        httpGet:
          path: /livez
          port: http-metrics
          {{- if $v.tls.enabled }}
          scheme: HTTPS
          {{- end }}
        {{- toYaml $v.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: telemetry
          {{- if $v.tls.enabled }}
          scheme: HTTPS
          {{- end }}
        {{- toYaml $v.readinessProbe | nindent 8 }}
      {{- end }}
      {{- if $v.tls.enabled }}
      volumeMounts:
        - name: tls
          mountPath: {{ $v.tls.mountPath }}
          readOnly: true
      {{- end }}
      {{- with .resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.containerSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- with .nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $v.tls.enabled }}
  volumes:
    # The web configuration and the files it names, side by side (kse.tlsConfigFile).
    - name: tls
      projected:
        sources:
          - configMap:
              name: {{ include "kse.fullname" $root }}-web-config
              items:
                - key: {{ include "kse.tlsConfigFile" $root }}
                  path: {{ include "kse.tlsConfigFile" $root }}
          - secret:
              name: {{ $v.tls.secretName }}
              items:
                - key: tls.crt
                  path: tls.crt
                - key: tls.key
                  path: tls.key
          {{- with $v.tls.clientCASecretName }}
          - secret:
              name: {{ . }}
              items:
                - key: {{ $v.tls.clientCAKey }}
                  path: {{ include "kse.tlsClientCAFile" $root }}
          {{- end }}
  {{- end }}
{{- end -}}
