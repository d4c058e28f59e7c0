{{/* Chart name, overridable. */}}
{{- define "awsorg-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless the release name contains it. */}}
{{- define "awsorg-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 53 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 53 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 53 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "awsorg-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "awsorg-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "awsorg-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "awsorg-operator.labels" -}}
helm.sh/chart: {{ include "awsorg-operator.chart" . }}
{{ include "awsorg-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: awsorg-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "awsorg-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "awsorg-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "awsorg-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the pods use kopf peering: always with more than one replica. */}}
{{- define "awsorg-operator.peering" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.peering.enabled }}true{{ end }}
{{- end }}

{{- define "awsorg-operator.peeringName" -}}
{{- default (include "awsorg-operator.fullname" .) .Values.peering.name }}
{{- end }}

{{/* A map from Region to URL as "REGION=URL,REGION=URL", sorted by Region. */}}
{{- define "awsorg-operator.regionEndpoints" -}}
{{- $pairs := list }}
{{- range $region, $url := . }}
{{- $pairs = append $pairs (printf "%s=%s" $region $url) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* Checks that span several values, which values.schema.json cannot express. */}}
{{- define "awsorg-operator.validate" -}}
{{- if eq (int .Values.operator.metricsPort) (int .Values.operator.healthPort) }}
{{- fail "operator.metricsPort and operator.healthPort must differ" }}
{{- end }}
{{- if kindIs "string" .Values.aws.serviceEndpoints.auditmanager }}
{{- fail "aws.serviceEndpoints.auditmanager is one URL, which every Region's Audit Manager calls would reach: Audit Manager is Regional, so give each Region its endpoint, e.g. {us-east-1: https://..., eu-west-1: https://...} (docs/configuration.md)" }}
{{- end }}
{{- end }}

{{/*
The pod template shared by the Deployment (one replica) and the StatefulSet (peering).
Security context: the "restricted" Pod Security Standard, plus a read-only root filesystem.
*/}}
{{- define "awsorg-operator.podTemplate" -}}
metadata:
  labels:
    {{- include "awsorg-operator.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: operator
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "awsorg-operator.serviceAccountName" . }}
  # The operator talks to the Kubernetes API with this ServiceAccount's token.
  automountServiceAccountToken: true
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds | int }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    # Lets the non-root user read projected tokens (IRSA's aws-iam-token among them).
    fsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  initContainers:
    {{- include "awsorg-operator.waitForOtherWorkload" . | nindent 4 }}
  containers:
    - name: operator
      image: {{ include "awsorg-operator.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      env:
        # kopf's identity among peers, and the namespace the operator runs in.
        - name: POD_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: AWSORG_DEFAULT_REGION
          value: {{ .Values.operator.defaultRegion | quote }}
        - name: AWSORG_RESYNC_SECONDS
          value: {{ .Values.operator.resyncSeconds | int | toString | quote }}
        - name: AWSORG_LOG_FORMAT
          value: {{ .Values.operator.logFormat | quote }}
        - name: AWSORG_METRICS_PORT
          value: {{ .Values.operator.metricsPort | int | toString | quote }}
        - name: AWSORG_HEALTH_PORT
          value: {{ .Values.operator.healthPort | int | toString | quote }}
        - name: AWSORG_AWS_CONNECT_TIMEOUT
          value: {{ .Values.aws.connectTimeout | toString | quote }}
        - name: AWSORG_AWS_READ_TIMEOUT
          value: {{ .Values.aws.readTimeout | toString | quote }}
        - name: AWSORG_AWS_MAX_ATTEMPTS
          value: {{ .Values.aws.maxAttempts | int | toString | quote }}
        - name: AWSORG_AWS_WORKERS
          value: {{ .Values.aws.workers | int | toString | quote }}
        - name: AWSORG_STUCK_SECONDS
          value: {{ .Values.operator.stuckSeconds | int | toString | quote }}
        - name: AWSORG_WATCH_TIMEOUT
          value: {{ .Values.operator.watchTimeout | int | toString | quote }}
        {{- if .Values.operator.verbose }}
        - name: AWSORG_VERBOSE
          value: "true"
        {{- end }}
        {{- if include "awsorg-operator.peering" . }}
        - name: AWSORG_PEERING
          value: {{ include "awsorg-operator.peeringName" . | quote }}
        {{- if gt (int .Values.replicaCount) 1 }}
        # Distinct priorities: each StatefulSet pod's ordinal (0, 1, ...). The highest is active.
        - name: AWSORG_PRIORITY
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
        {{- else }}
        - name: AWSORG_PRIORITY
          value: {{ .Values.peering.priority | int | toString | quote }}
        {{- end }}
        {{- end }}
        {{- with .Values.aws.region }}
        - name: AWS_REGION
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.aws.endpointURL }}
        - name: AWS_ENDPOINT_URL
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.aws.serviceEndpoints.organizations }}
        - name: AWS_ENDPOINT_URL_ORGANIZATIONS
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.aws.serviceEndpoints.sts }}
        - name: AWS_ENDPOINT_URL_STS
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.aws.serviceEndpoints.auditmanager }}
        # Audit Manager is Regional: one endpoint per Region (REGION=URL, comma-separated).
        - name: AWSORG_AUDITMANAGER_ENDPOINTS
          value: {{ include "awsorg-operator.regionEndpoints" . | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.operator.metricsPort | int }}
          protocol: TCP
        - name: health
          containerPort: {{ .Values.operator.healthPort | int }}
          protocol: TCP
      # kopf answers /healthz once it has started; startupProbe gives the first cluster scan
      # time before liveness counts.
      startupProbe:
        httpGet:
          path: /healthz
          port: health
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      # A paused peer (standby) is ready too: readiness only gates the metrics Service.
      readinessProbe:
        httpGet:
          path: /healthz
          port: health
        periodSeconds: 10
        timeoutSeconds: 5
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- include "awsorg-operator.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
The pods of the other workload kind: the StatefulSet's when this is the Deployment (one
replica), the Deployment's when this is the StatefulSet. Each controller adds its own label.
*/}}
{{- define "awsorg-operator.otherWorkloadPods" -}}
{{- $kindLabel := ternary "statefulset.kubernetes.io/pod-name" "pod-template-hash" (eq (int .Values.replicaCount) 1) }}
{{- printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s,%s" (include "awsorg-operator.name" .) .Release.Name $kindLabel }}
{{- end }}

{{/*
Going from 1 replica to more (or back), `helm upgrade` creates the new workload before it
deletes the old one, and the old kind's pods do not take part in the new kind's peering (a
single replica runs standalone). So the operator of the new workload starts only once every
pod of the other kind is gone: its containers stopped, in-flight AWS calls included. Without
another workload's pods it starts at once. Then a StatefulSet pod below the highest ordinal
waits (at most the peering lifetime) for a live peer of higher priority, so that pods started
together never both reconcile.
*/}}
{{- define "awsorg-operator.waitForOtherWorkload" -}}
- name: wait-for-other-workload
  image: {{ include "awsorg-operator.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # The image's entry point: `awsorg-operator wait-for-turn` (operator/awsorg_operator/kube/startup.py).
  args: [wait-for-turn]
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: OTHER_PODS
      value: {{ include "awsorg-operator.otherWorkloadPods" . | quote }}
    {{- if gt (int .Values.replicaCount) 1 }}
    - name: PEERING
      value: {{ include "awsorg-operator.peeringName" . | quote }}
    - name: PRIORITY
      valueFrom:
        fieldRef:
          fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
    - name: TOP_PRIORITY
      value: {{ sub (int .Values.replicaCount) 1 | toString | quote }}
    {{- end }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- include "awsorg-operator.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}

{{- define "awsorg-operator.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end }}
