{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "libvirt-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the resources: the release name, followed by the chart name unless the release name
already contains it. Truncated to 63 characters (DNS label limit of Kubernetes names).
*/}}
{{- define "libvirt-exporter.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "libvirt-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "libvirt-exporter.labels" -}}
helm.sh/chart: {{ include "libvirt-exporter.chart" . }}
{{ include "libvirt-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: metrics
app.kubernetes.io/part-of: {{ include "libvirt-exporter.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Namespace of every namespaced resource: namespaceOverride, else the release namespace.
*/}}
{{- define "libvirt-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/*
Selector labels: fixed for the life of a release (a DaemonSet selector cannot change).
*/}}
{{- define "libvirt-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "libvirt-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount.
*/}}
{{- define "libvirt-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "libvirt-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: [registry/]repository:tag[@digest], the tag defaulting to the appVersion.
*/}}
{{- define "libvirt-exporter.image" -}}
{{- $repository := .Values.image.repository }}
{{- $registry := default .Values.image.registry (dig "imageRegistry" "" (.Values.global | default dict)) }}
{{- if $registry }}
{{- $repository = printf "%s/%s" $registry .Values.image.repository }}
{{- end }}
{{- $ref := printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
Where the chart mounts what it gives the exporter.
*/}}
{{- define "libvirt-exporter.configDir" -}}/etc/libvirt-exporter/config{{- end }}
{{- define "libvirt-exporter.publisherSecretDir" -}}/etc/libvirt-exporter/publisher{{- end }}
{{- define "libvirt-exporter.webConfigDir" -}}/etc/libvirt-exporter/web{{- end }}
{{- define "libvirt-exporter.webTlsDir" -}}/etc/libvirt-exporter/tls{{- end }}

{{/*
Whether the Ceilometer publisher gets its secrets from a Secret (existing or created here).
*/}}
{{- define "libvirt-exporter.publisherSecretEnabled" -}}
{{- $publisher := get (.Values.config | default dict) "publisher" | default dict }}
{{- if and (get $publisher "enabled") (or .Values.publisherSecret.existingSecret .Values.publisherSecret.transportUrl) }}true{{- end }}
{{- end }}

{{- define "libvirt-exporter.publisherSecretName" -}}
{{- default (printf "%s-publisher" (include "libvirt-exporter.fullname" .)) .Values.publisherSecret.existingSecret }}
{{- end }}

{{/*
Whether a web configuration is given, and the Secret holding it.
*/}}
{{- define "libvirt-exporter.webConfigEnabled" -}}
{{- if or .Values.webConfig .Values.webConfigExistingSecret }}true{{- end }}
{{- end }}

{{- define "libvirt-exporter.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "libvirt-exporter.fullname" .)) .Values.webConfigExistingSecret }}
{{- end }}

{{/*
The exporter's config.yaml: the config value, with the paths of the publisher's secret files added.
Keys that the chart owns (or that would put a password in a ConfigMap) are refused with a message
that says where the value belongs.
*/}}
{{- define "libvirt-exporter.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $web := get $config "web" | default dict }}
{{- if hasKey $web "listen_address" }}
{{- fail "config.web.listen_address is set by the chart: use service.port (and hostNetwork / service.listenOnAllInterfaces)" }}
{{- end }}
{{- if hasKey $web "config_file" }}
{{- fail "config.web.config_file is set by the chart: use webConfig or webConfigExistingSecret" }}
{{- end }}
{{- $libvirt := get $config "libvirt" | default dict }}
{{- if hasKey $libvirt "read_only" }}
{{- fail "config.libvirt.read_only is set by the chart: use libvirt.readWrite" }}
{{- end }}
{{- if .Values.libvirt.readWrite }}
{{- $_ := set $libvirt "read_only" false }}
{{- $_ := set $config "libvirt" $libvirt }}
{{- end }}
{{- $publisher := get $config "publisher" | default dict }}
{{- if hasKey $publisher "transport_url" }}
{{- fail "config.publisher.transport_url holds a password and would land in a ConfigMap: use publisherSecret.existingSecret (or publisherSecret.transportUrl)" }}
{{- end }}
{{- if hasKey $publisher "telemetry_secret" }}
{{- fail "config.publisher.telemetry_secret would land in a ConfigMap: use publisherSecret.existingSecret (or publisherSecret.telemetrySecret)" }}
{{- end }}
{{- if get $publisher "enabled" }}
{{- $ps := .Values.publisherSecret }}
{{- $dir := include "libvirt-exporter.publisherSecretDir" . }}
{{- if include "libvirt-exporter.publisherSecretEnabled" . }}
{{- if hasKey $publisher "transport_url_file" }}
{{- fail "config.publisher.transport_url_file is set by the chart when publisherSecret is used: remove one of them" }}
{{- end }}
{{- $_ := set $publisher "transport_url_file" (printf "%s/%s" $dir $ps.transportUrlKey) }}
{{- if and $ps.telemetrySecretKey (or $ps.existingSecret $ps.telemetrySecret) }}
{{- $telemetryKey := $ps.telemetrySecretKey }}
{{- if hasKey $publisher "telemetry_secret_file" }}
{{- fail "config.publisher.telemetry_secret_file is set by the chart when publisherSecret has a telemetry secret: remove one of them" }}
{{- end }}
{{- $_ := set $publisher "telemetry_secret_file" (printf "%s/%s" $dir $telemetryKey) }}
{{- end }}
{{- else if not (hasKey $publisher "transport_url_file") }}
{{- fail "config.publisher.enabled needs the AMQP transport URL: set publisherSecret.existingSecret (a Secret with the key publisherSecret.transportUrlKey) or publisherSecret.transportUrl" }}
{{- end }}
{{- $_ := set $config "publisher" $publisher }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
The exporter's listen address: the node's address with hostNetwork (unless
service.listenOnAllInterfaces), else every address of the pod's own network namespace.
*/}}
{{- define "libvirt-exporter.listenAddress" -}}
{{- if and .Values.hostNetwork (not .Values.service.listenOnAllInterfaces) }}
{{- printf "[$(HOST_IP)]:%d" (int .Values.service.port) }}
{{- else }}
{{- printf ":%d" (int .Values.service.port) }}
{{- end }}
{{- end }}

{{/*
Path of the metrics endpoint, from the exporter configuration.
*/}}
{{- define "libvirt-exporter.telemetryPath" -}}
{{- dig "web" "telemetry_path" "/metrics" (.Values.config | default dict) }}
{{- end }}

{{/*
imagePullSecrets entries from names or {name: …} maps.
*/}}
{{- define "libvirt-exporter.imagePullSecrets" -}}
{{- range .Values.imagePullSecrets }}
{{- if kindIs "map" . }}
- name: {{ .name }}
{{- else }}
- name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
File mode of the mounted Secrets: readable by their owner only when the exporter runs as root (the
exporter warns about secret files its group or everyone may read); with a non-root uid the kubelet
hands the files to `securityContext.fsGroup`, which then needs the group bit.
*/}}
{{- define "libvirt-exporter.secretFileMode" -}}
{{- if eq (int (dig "runAsUser" 0 (.Values.securityContext | default dict))) 0 }}0400{{ else }}0440{{ end }}
{{- end }}
