{{/* Secrets the chart generates when no value is given ------------------------ */}}

{{/* What each one is, and what a new one on every render would do. */}}
{{- define "kube-bastion.generatable" -}}
cookieSecret: { what: session cookie secret, harm: signing everyone out }
assertionSigningKey: { what: assertion signing key, harm: changing the JWKS upstreams trust }
{{- end }}

{{/* The config reads the cookie secret from the chart's Secret: sign-in or sessions are on and
the admin named no secret of their own. */}}
{{- define "kube-bastion.uses.cookieSecret" -}}
{{- $authn := (.Values.config).authentication | default dict }}
{{- $session := $authn.session | default dict }}
{{- if and (or $authn.oidc $authn.session) (not (or $session.secret $session.secretFile)) }}true{{ end }}
{{- end }}

{{/* The config reads the assertion signing key from the chart's Secret. */}}
{{- define "kube-bastion.uses.assertionSigningKey" -}}
{{- $assertion := ((.Values.config).upstream).assertion | default dict }}
{{- if and (include "kube-bastion.assertionEnabled" .) (not $assertion.signingKeyFile) }}true{{ end }}
{{- end }}

{{/*
The chart-created Secret's generated values, as a JSON object of base64 strings keyed by value
name (cookieSecret, assertionSigningKey), for those not set in .Values.secrets:
  - the live Secret's value when it holds one (lookup), so upgrades keep it;
  - else, when the config uses it, a new one, but only if Helm is talking to a cluster: the
    Secret it creates is what every later render reads back. Listing the namespace's Secrets
    tells the two cases apart: with a cluster the answer is a SecretList (empty in a namespace
    that does not exist yet), without one it is empty. Helm itself lists Secrets there (its
    release records), so the installer may.
  - without a cluster, the render fails naming what to set instead of inventing values that
    change on every render.
*/}}
{{- define "kube-bastion.generatedSecrets" -}}
{{- $values := .Values.secrets }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "kube-bastion.fullname" .) }}
{{- $liveData := $live.data | default dict }}
{{- $out := dict }}
{{- $wanted := list }}
{{- range $name, $_ := include "kube-bastion.generatable" . | fromYaml }}
{{- $key := get $values.keys $name }}
{{- if get $values $name }}
{{- else if hasKey $liveData $key }}
{{- $_ := set $out $name (get $liveData $key) }}
{{- else if include (printf "kube-bastion.uses.%s" $name) $ }}
{{- $wanted = append $wanted $name }}
{{- end }}
{{- end }}
{{- if $wanted }}
{{- if or $live (lookup "v1" "Secret" .Release.Namespace "").kind }}
{{- range $wanted }}
{{- if eq . "cookieSecret" }}
{{- $_ := set $out . (randAlphaNum 48 | b64enc) }}
{{- else }}
{{- $_ := set $out . (genPrivateKey "ecdsa" | b64enc) }}
{{- end }}
{{- end }}
{{- else }}
{{- include "kube-bastion.failWithoutCluster" (list . $wanted) }}
{{- end }}
{{- end }}
{{- $out | toJson }}
{{- end }}

{{- define "kube-bastion.failWithoutCluster" -}}
{{- $root := index . 0 }}
{{- $about := include "kube-bastion.generatable" $root | fromYaml }}
{{- $what := list }}{{ $harm := list }}{{ $keys := list }}{{ $settings := list }}
{{- range index . 1 }}
{{- $what = append $what (get (get $about .) "what") }}
{{- $harm = append $harm (get (get $about .) "harm") }}
{{- $keys = append $keys (get $root.Values.secrets.keys .) }}
{{- $settings = append $settings (printf "secrets.%s" .) }}
{{- end }}
{{- fail (printf "Helm is rendering without cluster access (helm template, --dry-run=client, Argo CD), so `lookup` cannot read back the %s it generated before: every render would generate new values (%s). Set secrets.existingSecret to a Secret you manage holding the key(s) %s, or set %s, or render with --dry-run=server; see \"Secrets\" in the chart README" (join " and " $what) (join ", " $harm) (join " and " $keys) (join " and " $settings)) }}
{{- end }}
