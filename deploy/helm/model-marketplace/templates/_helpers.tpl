{{/*
Names and labels, in the shape `helm create` gives them.
*/}}
{{- define "mm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mm.fullname" -}}
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

{{- define "mm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component (api, worker-cpu, worker-gpu, migrations). Call with (list $ "api"). */}}
{{- define "mm.componentLabels" -}}
{{ include "mm.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "mm.componentSelector" -}}
{{ include "mm.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "mm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "mm.gpuImage" -}}
{{- $tag := default (printf "%s-gpu" (default .Chart.AppVersion .Values.image.tag)) .Values.image.gpu.tag }}
{{- printf "%s:%s" (default .Values.image.repository .Values.image.gpu.repository) $tag }}
{{- end }}

{{- define "mm.secretName" -}}
{{- default (include "mm.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The app's secret variables (src/config.ts SECRET_KEYS): read from one Secret, never from the
ConfigMap. DATABASE_URL and REDIS_URL are required; the rest are optional keys.
*/}}
{{- define "mm.secretVariables" -}}
DATABASE_URL REDIS_URL JWT_SECRET JWT_PRIVATE_KEYS STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRET METRICS_TOKEN OTEL_EXPORTER_OTLP_HEADERS S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY SMTP_URL
{{- end }}

{{/*
Refuses values that would give pods that cannot start, with a message naming the value.
*/}}
{{- define "mm.validate" -}}
{{- if and (eq (include "mm.s3" .) "true") (not .Values.config.S3_BUCKET) }}
{{- fail "config.S3_BUCKET is required with config.MODEL_STORAGE=s3 (and S3_ENDPOINT for a store other than AWS S3)" }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- $env := .Values.secrets.env }}
{{- if not $env.DATABASE_URL }}
{{- fail "secrets.env.DATABASE_URL is required (postgresql://user:password@host:5432/database), or name a Secret holding it in secrets.existingSecret" }}
{{- end }}
{{- if not $env.REDIS_URL }}
{{- fail "secrets.env.REDIS_URL is required (redis://[:password@]host:6379), or name a Secret holding it in secrets.existingSecret" }}
{{- end }}
{{- if and (eq (toString .Values.config.NODE_ENV) "production") (not $env.JWT_SECRET) (not $env.JWT_PRIVATE_KEYS) }}
{{- fail "secrets.env.JWT_SECRET or secrets.env.JWT_PRIVATE_KEYS is required: NODE_ENV=production refuses to start without an access-token signing key (e.g. JWT_SECRET=\"k1:$(openssl rand -base64 32)\")" }}
{{- end }}
{{- end }}
{{- if and .Values.workers.cpu.enabled .Values.keda.enabled (lt (int .Values.workers.cpu.autoscaling.minReplicas) 1) }}
{{- fail "workers.cpu.autoscaling.minReplicas must be at least 1: delayed retries are promoted and lost jobs swept only by running workers" }}
{{- end }}
{{- if and .Values.workers.gpu.enabled (not .Values.workers.cpu.enabled) .Values.keda.enabled (lt (int .Values.workers.gpu.autoscaling.minReplicas) 1) }}
{{- fail "workers.gpu.autoscaling.minReplicas must be at least 1 when CPU workers are off: below activationWaiting, queued jobs would wait for no worker" }}
{{- end }}
{{- $grace := include "mm.shutdownGraceSeconds" (list . .Values.api.env) | int }}
{{- $apiNeed := add $grace 5 (int .Values.api.preStopSleepSeconds) }}
{{- if le (int .Values.api.terminationGracePeriodSeconds) $apiNeed }}
{{- fail (printf "api.terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + SHUTDOWN_GRACE_MS + 5 s = %d s, or Kubernetes kills the API before it has drained" (int .Values.api.terminationGracePeriodSeconds) $apiNeed) }}
{{- end }}
{{- range $kind := list "cpu" "gpu" }}
{{- $w := index $.Values.workers $kind }}
{{- $need := add (include "mm.shutdownGraceSeconds" (list $ $w.env) | int) 5 }}
{{- if and $w.enabled (le (int $w.terminationGracePeriodSeconds) $need) }}
{{- fail (printf "workers.%s.terminationGracePeriodSeconds (%d) must exceed SHUTDOWN_GRACE_MS + 5 s = %d s, or Kubernetes kills workers before their running jobs finish" $kind (int $w.terminationGracePeriodSeconds) $need) }}
{{- end }}
{{- end }}
{{- end }}

{{/* SHUTDOWN_GRACE_MS in whole seconds, rounded up: (list $ componentEnv). */}}
{{- define "mm.shutdownGraceSeconds" -}}
{{- $root := index . 0 }}
{{- $ms := int (default (default "25000" $root.Values.config.SHUTDOWN_GRACE_MS) (index . 1).SHUTDOWN_GRACE_MS) }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{/*
A container's environment: the shared ConfigMap (envFrom), then the component's own variables,
then the secret ones from the Secret. Call with
(dict "root" $ "env" componentEnv "extra" chartSetEnv ["secretName" name]).
*/}}
{{- define "mm.envFrom" -}}
- configMapRef:
    name: {{ include "mm.fullname" . }}
{{- end }}

{{- define "mm.env" -}}
{{- $root := .root }}
{{- $vars := merge (dict) (default (dict) .extra) (default (dict) .env) }}
{{- range $name := keys $vars | sortAlpha }}
- name: {{ $name }}
  value: {{ index $vars $name | toString | quote }}
{{- end }}
{{- $secret := default (include "mm.secretName" $root) .secretName }}
{{- range $name := include "mm.secretVariables" $root | splitList " " }}
{{- $external := $root.Values.secrets.existingSecret }}
{{- if or $external (index $root.Values.secrets.env $name) }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ default $name (index $root.Values.secrets.keys $name) }}
      {{- if and $external (not (has $name (list "DATABASE_URL" "REDIS_URL"))) }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Pod-level pieces every component shares: (list $ componentValues).
*/}}
{{- define "mm.podCommon" -}}
{{- $root := index . 0 }}
{{- $c := index . 1 }}
serviceAccountName: {{ include "mm.serviceAccountName" $root }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Checksums of the ConfigMap and the chart's Secret: a changed value rolls the pods (environment
variables are read once, at start).
*/}}
{{- define "mm.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
"true" when model files live in an S3-compatible bucket (config.MODEL_STORAGE=s3): no shared
model volume then, and each pod keeps its copies in a cache volume of its own.
*/}}
{{- define "mm.s3" -}}
{{- eq (toString (default "local" .Values.config.MODEL_STORAGE)) "s3" }}
{{- end }}

{{/*
The volumes where the app writes, under a read-only root filesystem: DATA_DIR (scratch), /tmp
(multipart uploads), and either the shared model volume at MODEL_STORAGE_DIR or, with S3, the
pod's model cache at MODEL_CACHE_DIR. (list $ tmpSizeLimit)
*/}}
{{- define "mm.volumes" -}}
{{- $root := index . 0 }}
- name: data
  emptyDir:
    sizeLimit: {{ $root.Values.storage.dataSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: {{ index . 1 }}
{{- if eq (include "mm.s3" $root) "true" }}
- name: model-cache
  emptyDir:
    sizeLimit: {{ $root.Values.storage.modelCache.sizeLimit }}
{{- else }}
- name: models
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-models" (include "mm.fullname" $root)) $root.Values.storage.models.existingClaim }}
{{- end }}
{{- end }}

{{- define "mm.volumeMounts" -}}
- name: data
  mountPath: {{ .Values.config.DATA_DIR }}
- name: tmp
  mountPath: /tmp
{{- if eq (include "mm.s3" .) "true" }}
- name: model-cache
  mountPath: {{ .Values.config.MODEL_CACHE_DIR | default (printf "%s/model-cache" .Values.config.DATA_DIR) }}
{{- else }}
- name: models
  mountPath: {{ .Values.config.MODEL_STORAGE_DIR }}
{{- end }}
{{- end }}

{{/*
Where KEDA's Redis scaler connects: keda.redis.* when set, else parsed from the chart-managed
REDIS_URL. Returns YAML: address, enableTLS, databaseIndex, password, username.
*/}}
{{- define "mm.kedaRedis" -}}
{{- include "mm.validate" . }}
{{- $r := .Values.keda.redis }}
{{- $u := dict "host" "" "scheme" "" "path" "" "userinfo" "" }}
{{- if not .Values.secrets.existingSecret }}
{{- $u = urlParse .Values.secrets.env.REDIS_URL }}
{{- end }}
{{- $address := $r.address }}
{{- if not $address }}
{{- if not $u.host }}
{{- fail "keda.redis.address (host:port) is required with secrets.existingSecret: KEDA's Redis scaler connects to Redis itself" }}
{{- end }}
{{- $address = $u.host }}
{{- if not (regexMatch ":[0-9]+$" $address) }}
{{- $address = printf "%s:6379" $address }}
{{- end }}
{{- end }}
{{- $tls := toString $r.enableTLS }}
{{- if eq $tls "" }}
{{- $tls = ternary "true" "false" (eq $u.scheme "rediss") }}
{{- end }}
{{- $db := toString $r.databaseIndex }}
{{- if eq $db "" }}
{{- $db = default "0" (trimPrefix "/" $u.path) }}
{{- end }}
{{- $user := "" }}
{{- $password := "" }}
{{- if $u.userinfo }}
{{- if contains "%" $u.userinfo }}
{{- fail "REDIS_URL's user or password is percent-encoded: put the plain password in a Secret and name it in keda.redis.passwordSecret" }}
{{- end }}
{{- $parts := splitn ":" 2 $u.userinfo }}
{{- $user = $parts._0 }}
{{- $password = default "" $parts._1 }}
{{- end }}
address: {{ $address | quote }}
enableTLS: {{ $tls | quote }}
databaseIndex: {{ $db | quote }}
password: {{ $password | quote }}
username: {{ $user | quote }}
{{- end }}
