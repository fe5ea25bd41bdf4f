{{/* The chart name, or nameOverride. */}}
{{- define "gyre.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: fullnameOverride, else the release name when it
contains the chart name, else "<release>-<chart>".
*/}}
{{- define "gyre.fullname" -}}
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

{{/* Labels of every object. */}}
{{- define "gyre.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gyre.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gyre
{{- end }}

{{/* Labels that select gyre's pods. */}}
{{- define "gyre.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gyre.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount gyre runs as. */}}
{{- define "gyre.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gyre.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with the API tokens: an existing one or the chart's. */}}
{{- define "gyre.tokenSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-tokens" (include "gyre.fullname" .)) }}
{{- end }}

{{/* Whether the chart creates the token Secret. */}}
{{- define "gyre.createTokenSecret" -}}
{{- if and (not .Values.auth.existingSecret) (or .Values.auth.tokens .Values.auth.generateAdminToken) }}true{{ end }}
{{- end }}

{{/* Whether gyre gets a token Secret: `gyre serve` does not start without tokens. */}}
{{- define "gyre.hasTokenSecret" -}}
{{- if or .Values.auth.existingSecret (include "gyre.createTokenSecret" .) }}true
{{- else }}
{{- fail "gyre serve needs API tokens: set auth.existingSecret, auth.tokens or auth.generateAdminToken" }}
{{- end }}
{{- end }}

{{/* The Secret with the webhook secrets, or "" when there is none. */}}
{{- define "gyre.webhookSecretName" -}}
{{- if .Values.webhooks.existingSecret }}
{{- .Values.webhooks.existingSecret }}
{{- else if .Values.webhooks.secrets }}
{{- printf "%s-webhooks" (include "gyre.fullname" .) }}
{{- end }}
{{- end }}

{{/* The namespaces gyre manages in namespace-limited mode, checked. */}}
{{- define "gyre.limitedNamespaces" -}}
{{- if and (not .Values.rbac.clusterWide) (not .Values.rbac.namespaces) }}
{{- fail "rbac.namespaces must list at least one namespace when rbac.clusterWide is false" }}
{{- end }}
{{- join "," .Values.rbac.namespaces }}
{{- end }}

{{/* http or https, as gyre's listener serves. */}}
{{- define "gyre.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}
