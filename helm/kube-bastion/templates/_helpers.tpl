{{/* Names and labels ----------------------------------------------------- */}}

{{- define "kube-bastion.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kube-bastion.fullname" -}}
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

{{- define "kube-bastion.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-bastion.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kube-bastion.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kube-bastion.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-bastion
{{- end }}

{{- define "kube-bastion.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kube-bastion.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-bastion.adminServiceName" -}}
{{- printf "%s-admin" (include "kube-bastion.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "kube-bastion.secretName" -}}
{{- default (include "kube-bastion.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "kube-bastion.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Ports and durations taken from the config, so the pod and the process agree. */}}

{{- define "kube-bastion.listenPort" -}}
{{- ((.Values.config).listen).port | default 8080 }}
{{- end }}

{{- define "kube-bastion.adminPort" -}}
{{- ((.Values.config).admin).port | default 9090 }}
{{- end }}

{{/*
Whole seconds (rounded up) of a Go-style duration such as "5s", "1m30s" or "250ms",
the format of the config's duration keys. Usage: include "kube-bastion.seconds" "1m30s"
*/}}
{{- define "kube-bastion.seconds" -}}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9.]+(ms|h|m|s)" (toString .) -1 }}
{{- $n := regexFind "^[0-9.]+" . | float64 }}
{{- if hasSuffix "ms" . }}{{ $total = addf $total (divf $n 1000) }}
{{- else if hasSuffix "h" . }}{{ $total = addf $total (mulf $n 3600) }}
{{- else if hasSuffix "m" . }}{{ $total = addf $total (mulf $n 60) }}
{{- else }}{{ $total = addf $total $n }}
{{- end }}
{{- end }}
{{- ceil $total | int }}
{{- end }}

{{/* delay + timeout of config.listen.shutdown, plus slack for the process to exit. */}}
{{- define "kube-bastion.terminationGracePeriodSeconds" -}}
{{- $shutdown := ((.Values.config).listen).shutdown | default dict }}
{{- $delay := include "kube-bastion.seconds" ($shutdown.delay | default "5s") | int }}
{{- $timeout := include "kube-bastion.seconds" ($shutdown.timeout | default "30s") | int }}
{{- add $delay $timeout .Values.terminationGraceExtraSeconds }}
{{- end }}

{{/* Host names ------------------------------------------------------------ */}}

{{/* The external base URL: config.publicURL, else https://<ingress.host>, else empty. */}}
{{- define "kube-bastion.publicURL" -}}
{{- if (.Values.config).publicURL }}
{{- .Values.config.publicURL | trimSuffix "/" }}
{{- else if .Values.ingress.host }}
{{- printf "https://%s" .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* Hosts served by host routing: *.<hostSuffix> and every configured route host, one per line. */}}
{{- define "kube-bastion.routingHosts" -}}
{{- $routing := (.Values.config).routing | default dict }}
{{- if $routing.hostSuffix }}
{{ printf "*.%s" $routing.hostSuffix }}
{{- end }}
{{- range $routing.routes }}
{{ .host }}
{{- end }}
{{- end }}

{{/* ingress.host plus, with hostRouting, the routing hosts; as a JSON list. */}}
{{- define "kube-bastion.hosts" -}}
{{- $hosts := list }}
{{- with .Values.ingress.host }}{{ $hosts = append $hosts . }}{{ end }}
{{- if .Values.ingress.hostRouting }}
{{- range splitList "\n" (include "kube-bastion.routingHosts" .) }}
{{- if . }}{{ $hosts = append $hosts . }}{{ end }}
{{- end }}
{{- end }}
{{- $hosts | uniq | toJson }}
{{- end }}

{{/* Features that decide which permissions and secrets are needed ---------- */}}

{{- define "kube-bastion.usesCluster" -}}
{{- if ne (toString (.Values.config).kubernetes) "none" }}true{{ end }}
{{- end }}

{{- define "kube-bastion.assertionEnabled" -}}
{{- $assertion := ((.Values.config).upstream).assertion | default dict }}
{{- if or (not (hasKey $assertion "enabled")) $assertion.enabled }}true{{ end }}
{{- end }}

{{/*
Terminal sign-in (`kube-bastion login`) keeps its shared state in Secrets of one namespace when
browser sign-in is on, the CLI is not turned off, sessions are not in Redis (or the store is set
to kubernetes) and there is a cluster. Prints that namespace, or nothing.
*/}}
{{- define "kube-bastion.terminalStateNamespace" -}}
{{- $authn := (.Values.config).authentication | default dict }}
{{- $cli := $authn.cli | default dict }}
{{- $store := $cli.store | default "auto" }}
{{- $on := or (not (hasKey $cli "enabled")) $cli.enabled }}
{{- $redisSessions := eq (toString ($authn.session | default dict).store) "redis" }}
{{- if and $authn.oidc $on (include "kube-bastion.usesCluster" .) (or (eq $store "kubernetes") (and (eq $store "auto") (not $redisSessions))) }}
{{- ($cli.kubernetes | default dict).namespace | default .Release.Namespace }}
{{- end }}
{{- end }}
