{{/*
The config file: .Values.config plus the keys the chart manages (publicURL from the
Ingress host, and the files of the mounted Secret). Keys the admin set win.
*/}}

{{- define "kube-bastion.secretsDir" -}}/var/run/secrets/kube-bastion{{- end }}

{{/* Secrets may appear in the config only as ${ENV_VAR} references (schema and template agree). */}}
{{- define "kube-bastion.refuseInlineSecret" -}}
{{- $value := index . 0 }}
{{- $path := index . 1 }}
{{- if and $value (not (regexMatch "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" (toString $value))) }}
{{- fail (printf "%s must not hold a secret inline (it would land in a ConfigMap): use secrets.* or a ${ENV_VAR} reference" $path) }}
{{- end }}
{{- end }}

{{- define "kube-bastion.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $dir := include "kube-bastion.secretsDir" . }}
{{- $keys := .Values.secrets.keys }}
{{- $url := include "kube-bastion.publicURL" . }}
{{- if $url }}{{ $_ := set $cfg "publicURL" $url }}{{ end }}

{{- $authn := $cfg.authentication | default dict }}
{{- $oidc := $authn.oidc }}
{{- if $oidc }}
{{- include "kube-bastion.refuseInlineSecret" (list $oidc.clientSecret "config.authentication.oidc.clientSecret") }}
{{- if not (or $oidc.clientSecret $oidc.clientSecretFile) }}
{{- if not (or .Values.secrets.existingSecret .Values.secrets.oidcClientSecret) }}
{{- fail "config.authentication.oidc is set: put the client secret in secrets.oidcClientSecret or secrets.existingSecret" }}
{{- end }}
{{- $_ := set $oidc "clientSecretFile" (printf "%s/%s" $dir $keys.oidcClientSecret) }}
{{- end }}
{{- if not $url }}
{{- fail "config.authentication.oidc is set: set config.publicURL (or ingress.host) so the redirect URI is known" }}
{{- end }}
{{- end }}
{{- if or $oidc $authn.session }}
{{- $session := $authn.session | default dict }}
{{- include "kube-bastion.refuseInlineSecret" (list $session.secret "config.authentication.session.secret") }}
{{- range $i, $old := $session.previousSecrets | default list }}
{{- include "kube-bastion.refuseInlineSecret" (list $old (printf "config.authentication.session.previousSecrets[%d]" $i)) }}
{{- end }}
{{- if include "kube-bastion.uses.cookieSecret" $ }}
{{- $_ := set $session "secretFile" (printf "%s/%s" $dir $keys.cookieSecret) }}
{{- end }}
{{- $_ := set $authn "session" $session }}
{{- end }}
{{- with include "kube-bastion.terminalStateNamespace" $ }}
{{- /* The config names the namespace the Role grants (the pod's own would do, but they must agree). */}}
{{- $cli := $authn.cli | default dict }}
{{- $k := $cli.kubernetes | default dict }}
{{- $_ := set $k "namespace" . }}
{{- $_ := set $cli "kubernetes" $k }}
{{- $_ := set $authn "cli" $cli }}
{{- end }}
{{- if $authn }}{{ $_ := set $cfg "authentication" $authn }}{{ end }}

{{- if include "kube-bastion.uses.assertionSigningKey" . }}
{{- $upstream := $cfg.upstream | default dict }}
{{- $assertion := $upstream.assertion | default dict }}
{{- $_ := set $assertion "signingKeyFile" (printf "%s/%s" $dir $keys.assertionSigningKey) }}
{{- $_ := set $upstream "assertion" $assertion }}
{{- $_ := set $cfg "upstream" $upstream }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}
