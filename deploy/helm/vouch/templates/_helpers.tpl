{{- define "vouch.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{- define "vouch.labels" -}}
app.kubernetes.io/name: vouch-admission
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "vouch.checks" -}}
{{- if not .Values.policies -}}
{{- fail "policies: at least one policy file is required (--set-file policies.NAME=FILE)" -}}
{{- end -}}
{{- $t := int .Values.timeoutSeconds -}}
{{- if or (lt $t 3) (gt $t 30) -}}
{{- fail "timeoutSeconds: must be 3..30" -}}
{{- end -}}
{{- end -}}

{{/* Both webhooks' shared part; the argument is the endpoint path. */}}
{{- define "vouch.webhook" -}}
clientConfig:
  service:
    name: vouch-admission
    namespace: {{ include "vouch.namespace" .root }}
    path: {{ .path }}
    port: 443
  {{- with .root.Values.caBundle }}
  caBundle: {{ b64enc . }}
  {{- end }}
rules:
- operations: ["CREATE", "UPDATE"]
  apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods", "pods/ephemeralcontainers"]
- operations: ["CREATE", "UPDATE"]
  apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
- operations: ["CREATE", "UPDATE"]
  apiGroups: ["batch"]
  apiVersions: ["v1"]
  resources: ["jobs", "cronjobs"]
# Never the webhook's own namespace nor kube-system (the API server sets this label).
namespaceSelector:
  matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: [{{ include "vouch.namespace" .root | quote }}, "kube-system"]
failurePolicy: Fail
sideEffects: None
timeoutSeconds: {{ int .root.Values.timeoutSeconds }}
admissionReviewVersions: ["v1"]
{{- end -}}
