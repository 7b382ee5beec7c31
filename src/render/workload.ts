// The pod template, its revision, the config ConfigMap, and the slot Deployments.
import { CONFIG_VOLUME, type Microservice, type MicroserviceSpec, type Slot } from '../api/schema.js';
import { ANNOTATION_RESTARTED_AT, baseLabels, configMapName, contentHash, deploymentName, LABEL_REVISION, LABEL_SLOT, slotLabels } from '../api/names.js';
import { ownedMeta } from './meta.js';
import { type KubeObject } from '../kube/object.js';


/** The ConfigMap name for spec.config, or undefined when there is none. Named by its content. */
export function configMapNameFor(ms: Microservice): string | undefined {
  const config = ms.spec.config;
  return config ? configMapName(ms.metadata.name, contentHash(config.data)) : undefined;
}

/** The immutable ConfigMap a revision reads its config from, if it has config. */
export function renderConfigMap(ms: Microservice, config: { name: string; data: Record<string, string> } | undefined): KubeObject | undefined {
  if (!config) return undefined;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: ownedMeta(ms, config.name), immutable: true, data: config.data };
}

/** The application's own shutdown after a drain: Kubernetes' default grace period. */
const DRAIN_SHUTDOWN_SECONDS = 30;

/**
 * spec.drainSeconds: the main container sleeps that long before it is sent SIGTERM (a preStop
 * sleep, run by the kubelet, so the image needs no shell), and keeps serving meanwhile, while the
 * EndpointSlice change reaches every gateway and node. Its other hook (postStart) is kept.
 */
function drainSleep(s: MicroserviceSpec): Record<string, unknown> | undefined {
  if (s.drainSeconds === undefined) return undefined;
  return { ...(s.lifecycle ?? {}), preStop: { sleep: { seconds: s.drainSeconds } } };
}

function container(ms: Microservice, cmName: string | undefined): Record<string, unknown> {
  const s: MicroserviceSpec = ms.spec;
  const envFrom = [...(s.envFrom ?? [])];
  const volumeMounts = [...(s.pod?.volumeMounts ?? [])];
  if (cmName && s.config?.mountPath) volumeMounts.push({ name: CONFIG_VOLUME, mountPath: s.config.mountPath, readOnly: true });
  else if (cmName) envFrom.push({ configMapRef: { name: cmName } });
  return compact({
    name: ms.metadata.name,
    image: s.image,
    command: s.command,
    args: s.args,
    ports: s.ports?.map((p) => compact({ name: p.name, containerPort: p.port, protocol: p.protocol })),
    env: s.env,
    envFrom,
    resources: s.resources,
    readinessProbe: s.probes?.readiness,
    livenessProbe: s.probes?.liveness,
    startupProbe: s.probes?.startup,
    volumeMounts,
    securityContext: s.pod?.containerSecurityContext,
    lifecycle: drainSleep(s) ?? s.lifecycle,
    imagePullPolicy: s.imagePullPolicy,
    workingDir: s.workingDir,
  });
}

/**
 * The pod's init containers as Kubernetes runs them: the native sidecars first (restartPolicy
 * Always: each starts, and keeps running, before the next init container begins), so that the
 * ordinary init containers (a migration) can already use them (a database proxy).
 */
function initContainers(s: MicroserviceSpec): Array<Record<string, unknown>> {
  return [...(s.sidecars ?? []).map((c) => ({ ...c, restartPolicy: 'Always' })), ...(s.initContainers ?? [])];
}

/** A spread constraint without a labelSelector would count no pods at all: it counts the Microservice's (both slots). */
function spread(ms: Microservice): Array<Record<string, unknown>> | undefined {
  return ms.spec.pod?.topologySpreadConstraints?.map((c) => (c.labelSelector ? c : { ...c, labelSelector: { matchLabels: baseLabels(ms.metadata.name) } }));
}

/**
 * The pod template for the current spec, without slot or revision labels: it is what the
 * revision hashes, so two slots running the same spec share a revision.
 */
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export function podTemplate(ms: Microservice): PodTemplate {
  const s = ms.spec;
  const cmName = configMapNameFor(ms);
  const volumes = [...(s.pod?.volumes ?? [])];
  if (cmName && s.config?.mountPath) volumes.push({ name: CONFIG_VOLUME, configMap: { name: cmName } });
  return {
    metadata: compact({ labels: { ...(s.pod?.labels ?? {}), ...baseLabels(ms.metadata.name) }, annotations: s.pod?.annotations }),
    spec: compact({
      initContainers: initContainers(s),
      containers: [container(ms, cmName)],
      serviceAccountName: s.pod?.serviceAccountName,
      nodeSelector: s.pod?.nodeSelector,
      tolerations: s.pod?.tolerations,
      affinity: s.pod?.affinity,
      securityContext: s.pod?.securityContext,
      imagePullSecrets: s.pod?.imagePullSecrets,
      volumes,
      terminationGracePeriodSeconds: s.pod?.terminationGracePeriodSeconds ?? (s.drainSeconds !== undefined ? s.drainSeconds + DRAIN_SHUTDOWN_SECONDS : undefined),
      topologySpreadConstraints: spread(ms),
      priorityClassName: s.pod?.priorityClassName,
      dnsPolicy: s.pod?.dnsPolicy,
      dnsConfig: s.pod?.dnsConfig,
      hostAliases: s.pod?.hostAliases,
      runtimeClassName: s.pod?.runtimeClassName,
      shareProcessNamespace: s.pod?.shareProcessNamespace,
      enableServiceLinks: s.pod?.enableServiceLinks,
      automountServiceAccountToken: s.pod?.automountServiceAccountToken,
    }),
  };
}

/** The revision of the current spec: a hash of its pod template, config included. */
export function revisionOf(ms: Microservice): string {
  return contentHash(podTemplate(ms));
}

export { ANNOTATION_RESTARTED_AT };

/**
 * A slot's Deployment running a revision's pod template (by default the current spec's) with the
 * given replica count. `restartedAt` restarts its pods without making a new revision (like
 * kubectl rollout restart).
 */
export function renderDeployment(ms: Microservice, slot: Slot, replicas: number, opts: { paused?: boolean; restartedAt?: string; template?: PodTemplate } = {}): KubeObject {
  const template = opts.template ?? podTemplate(ms);
  const revision = contentHash(template);
  const annotations = opts.restartedAt ? { ...template.metadata.annotations, [ANNOTATION_RESTARTED_AT]: opts.restartedAt } : template.metadata.annotations;
  const name = ms.metadata.name;
  const rolling = ms.spec.strategy.rollingUpdate ?? { maxSurge: '25%', maxUnavailable: 0 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMeta(ms, deploymentName(name, slot), slotLabels(name, slot)),
    spec: {
      replicas,
      selector: { matchLabels: slotLabels(name, slot) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: rolling.maxSurge, maxUnavailable: rolling.maxUnavailable } },
      // A rollout setting like the deadline, not part of the pod: a change applies to both slots, rolling nothing.
      ...(ms.spec.minReadySeconds ? { minReadySeconds: ms.spec.minReadySeconds } : {}),
      progressDeadlineSeconds: ms.spec.strategy.progressDeadlineSeconds,
      revisionHistoryLimit: 3,
      ...(opts.paused ? { paused: true } : {}),
      template: {
        metadata: compact({ labels: { ...template.metadata.labels, [LABEL_SLOT]: slot, [LABEL_REVISION]: revision }, annotations }),
        spec: template.spec,
      },
    },
  };
}

/** Drops undefined fields and empty lists or maps, which the API server would not store anyway. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as T;
}
