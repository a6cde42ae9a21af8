{{/* The prefix of every object's name: the release name, or <release>-configsync when it lacks "configsync". */}}
{{- define "configsync.fullname" -}}
{{- if contains "configsync" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-configsync" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "configsync.labels" -}}
app.kubernetes.io/name: configsync-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "configsync.selectorLabels" -}}
app.kubernetes.io/name: configsync-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "configsync.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "configsync.fullname" .)) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "configsync.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "configsync.sidecarImage" -}}
{{- default (include "configsync.image" .) .Values.sidecar.image -}}
{{- end -}}

{{- define "configsync.webhookSecret" -}}
{{- default (printf "%s-webhook-tls" (include "configsync.fullname" .)) .Values.webhook.certificate.secretName -}}
{{- end -}}

{{- define "configsync.webhookService" -}}
{{- printf "%s-webhook" (include "configsync.fullname" .) -}}
{{- end -}}
