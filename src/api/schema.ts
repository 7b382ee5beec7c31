// The Microservice API, coxswain.dev/v1alpha1: the single source of truth.
// The CRD's openAPIV3Schema is generated from these schemas (src/api/crd.ts), and the same
// schemas validate at reconcile time. Rules the OpenAPI schema cannot express are CEL rules
// attached with `cel()`; they run in the API server at `kubectl apply`.
import { z } from 'zod';
import { cel, Duration, Name, passThrough, type Rule, StringMap, unique, uniqueBy } from './rules.js';
import { CONTAINER_NAME_RULES, InitContainers, Pod, SIDECAR_INIT_RULE, Sidecars } from './pod.js';
import { ANALYSIS_NAME_RULES, AnalysisSpec, BackgroundAnalysis, GatingAnalysis } from '../analysis/api.js';
import { SetCanaryScale, SetHeaderRoute, Traffic, TRAFFIC_RULES } from './traffic.js';
import { Monitoring, MONITORING_RULES } from './monitoring.js';
import { Adopt, ADOPT_NAME_RULE } from './adopt.js';
import type { MicroserviceStatus } from './status.js';

export const GROUP = 'coxswain.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Microservice';
export const PLURAL = 'microservices';

/** `message` is for a value of neither type (null, true, 1.5), which zod would call only "Invalid input". */
const intOrString = (int: z.ZodInt, str: z.ZodString, message: string) =>
  z.union([int, str], { error: message }).meta({ 'x-kubernetes-int-or-string': true });

const QUANTITY = 'must be a quantity such as 500m, 1Gi or 2';
/** A resource quantity such as 500m, 1Gi or 2. */
export const Quantity = intOrString(
  z.int().min(0),
  z.string().regex(/^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/, QUANTITY),
  QUANTITY,
);

const INT_OR_PERCENT = 'must be a whole number or a percentage such as 25%';
/** A count or a percentage, like a Deployment's maxSurge. */
export const IntOrPercent = intOrString(z.int().min(0), z.string().regex(/^[0-9]+%$/, INT_OR_PERCENT), INT_OR_PERCENT);


export const Port = z.object({
  name: z.string().min(1).max(15).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase IANA service name of at most 15 characters').optional()
    .describe('Port name; required when there are several ports.'),
  port: z.int().min(1).max(65535).describe('Container port.'),
  servicePort: z.int().min(1).max(65535).optional().describe('Port the Service exposes; defaults to port.'),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
});

const Ports = cel(
  z.array(Port).max(32),
  { rule: 'self.size() <= 1 || self.all(p, has(p.name))', message: 'every port needs a name when there are several',
    holds: (ps) => ps.length <= 1 || ps.every((p) => p.name !== undefined) },
  { rule: 'self.all(p, self.exists_one(q, q.port == p.port && q.protocol == p.protocol))', message: 'container ports must be unique',
    holds: (ps) => unique(ps.map((p) => `${p.port}/${p.protocol}`)) },
  { rule: 'self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))', message: 'port names must be unique',
    holds: (ps) => unique(ps.flatMap((p) => p.name ?? [])) },
  { rule: 'self.all(p, self.exists_one(q, q.protocol == p.protocol && (has(q.servicePort) ? q.servicePort : q.port) == (has(p.servicePort) ? p.servicePort : p.port)))',
    message: 'service ports must be unique: two ports have the same servicePort (port when unset) and protocol',
    holds: (ps) => unique(ps.map((p) => `${p.servicePort ?? p.port}/${p.protocol}`)) },
);

/**
 * What a ConfigMap holds at most, its keys and values together: the API server refuses a larger
 * one (1 MiB, counted in bytes). CEL counts a string's characters, so the CRD's rule counts
 * those; a config of multi-byte characters that fits the rule and not the ConfigMap is still
 * refused by the API server, and its revision then gets no pods (src/controller/core.ts).
 */
export const CONFIG_MAX_SIZE = 1024 * 1024;

export const Config = z.object({
  data: cel(
    z.record(z.string(), z.string().max(CONFIG_MAX_SIZE)),
    { rule: "self.all(k, k.matches('^[-._a-zA-Z0-9]+$'))", message: 'keys may hold only letters, digits, -, _ and .',
      holds: (data) => Object.keys(data).every((k) => /^[-._a-zA-Z0-9]+$/.test(k)) },
    { rule: `self.map(k, size(k) + size(self[k])).sum() <= ${CONFIG_MAX_SIZE}`,
      message: `keys and values may hold at most ${CONFIG_MAX_SIZE} characters in all: a ConfigMap holds at most 1 MiB`,
      holds: (data) => Object.entries(data).reduce((n, [k, v]) => n + [...k].length + [...v].length, 0) <= CONFIG_MAX_SIZE },
  ).describe('Keys and values of the immutable ConfigMap <name>-config-<hash>, at most 1 MiB in all.'),
  mountPath: z.string().regex(/^\//, 'must be an absolute path').optional()
    .describe('Mount the keys as files here; without it they are exposed as environment variables.'),
});

export const Autoscaling = cel(
  z.object({
    minReplicas: z.int().min(1).default(1),
    maxReplicas: z.int().min(1),
    targetCPUUtilizationPercentage: z.int().min(1).max(1000).optional(),
    targetMemoryUtilizationPercentage: z.int().min(1).max(1000).optional(),
    behavior: passThrough('autoscaling/v2 HorizontalPodAutoscalerBehavior, passed through.').optional(),
    metrics: z.array(passThrough('autoscaling/v2 MetricSpec, passed through: Resource, ContainerResource, Pods, Object or External.', {
      type: z.enum(['Resource', 'ContainerResource', 'Pods', 'Object', 'External']),
    })).max(16).optional().describe('More metrics to scale on, after the cpu and memory targets.'),
  }),
  { rule: 'self.maxReplicas >= self.minReplicas', message: 'maxReplicas must be at least minReplicas', fieldPath: '.maxReplicas',
    holds: (a) => a.maxReplicas >= a.minReplicas },
);

const BUDGET = 'must be a whole number or a percentage from 0% to 100%';
const Budget = intOrString(z.int().min(0), z.string().regex(/^(100|[1-9]?[0-9])%$/, BUDGET), BUDGET);

/** The PodDisruptionBudget <name>, over every pod of both slots (src/render/disruption.ts). */
export const Disruption = cel(
  z.object({
    maxUnavailable: Budget.optional().describe('Pods that an eviction (a node drain) may take at once; 0 is taken as 1.'),
    minAvailable: Budget.optional().describe('Pods that must stay available through evictions; at or above replicas it is taken as replicas - 1.'),
  }),
  { rule: 'has(self.maxUnavailable) != has(self.minAvailable)', message: 'set exactly one of maxUnavailable or minAvailable',
    holds: (d) => (d.maxUnavailable === undefined) !== (d.minAvailable === undefined) },
);

const Peer = cel(
  z.object({
    microservice: Name.optional().describe('Pods of this Microservice (in namespace, or this one).'),
    namespace: Name.optional().describe('Pods of this namespace (all of them, unless microservice is set).'),
    cidr: z.string().regex(/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/, 'must be a CIDR such as 10.0.0.0/8').optional(),
    ports: z.array(z.object({ port: z.int().min(1).max(65535), protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP') })).max(32).optional()
      .describe('Ports this peer may use; defaults to every declared port (ingress) or all ports (egress).'),
  }),
  { rule: 'has(self.cidr) != (has(self.microservice) || has(self.namespace))', message: 'set cidr, or microservice and/or namespace',
    holds: (p) => (p.cidr !== undefined) !== (p.microservice !== undefined || p.namespace !== undefined) },
);

export const NetworkPolicySpec = z.object({
  enabled: z.boolean().default(true),
  allowFrom: z.array(Peer).max(64).optional().describe('Who may connect; omitted admits pods of the same namespace.'),
  allowTo: z.array(Peer).max(64).optional().describe('Where pods may connect; omitted leaves egress open, set allows DNS and these only.'),
});

/** CEL: an int-or-string field that is 0 or 0%. */
const isZeroRule = (f: string) => `(has(self.${f}) && (self.${f} == 0 || self.${f} == '0%'))`;
const isZero = (v: number | string | undefined) => v === 0 || v === '0%';
const canMove: Rule<{ maxSurge?: number | string; maxUnavailable?: number | string }> = {
  rule: `!(${isZeroRule('maxSurge')} && ${isZeroRule('maxUnavailable')})`,
  message: 'maxSurge and maxUnavailable may not both be 0: the rollout could not move',
  holds: (v) => !(isZero(v.maxSurge) && isZero(v.maxUnavailable)),
};

const PauseStep = z.object({ duration: Duration.optional().describe('Wait this long; without it, wait for promotion.') });

/** The step kinds: a step sets exactly one of them (their meaning is in src/rollout/steps.ts). */
const STEP_KEYS = ['setWeight', 'pause', 'analysis', 'setCanaryScale', 'setHeaderRoute'] as const;

const CanaryStep = cel(
  z.object({
    setWeight: z.int().min(0).max(100).optional(),
    pause: PauseStep.optional(),
    setCanaryScale: SetCanaryScale.optional(),
    setHeaderRoute: SetHeaderRoute.optional(),
    analysis: GatingAnalysis.optional().describe('Holds the step until every metric has passed; a failed metric aborts the rollout.'),
  }),
  { rule: `[${STEP_KEYS.map((k) => `has(self.${k})`).join(', ')}].filter(x, x).size() == 1`,
    message: `each step sets exactly one of ${STEP_KEYS.slice(0, -1).join(', ')} or ${STEP_KEYS.at(-1)}`,
    holds: (s) => STEP_KEYS.filter((k) => s[k] !== undefined).length === 1 },
);

export const Canary = cel(
  z.object({
    steps: cel(
      z.array(CanaryStep).min(1).max(64),
      { rule: 'self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()', message: 'setWeight values must not decrease from one step to the next',
        holds: (steps) => steps.flatMap((s) => s.setWeight ?? []).every((w, i, ws) => i === 0 || w >= ws[i - 1]!) },
    ),
    maxSurge: IntOrPercent.default('25%').describe('Cap on pods above replicas during the rollout.'),
    maxUnavailable: IntOrPercent.default(0).describe('How far Ready pods may drop below replicas during the rollout.'),
    scaleDownDelaySeconds: z.int().min(0).max(3600).optional()
      .describe('After promotion, an abort or an undo, the slot let go keeps its pods this long once it takes no traffic, while every gateway replica catches up; default 30 with spec.traffic.gateway, else 0.'),
    analysis: BackgroundAnalysis.optional().describe('Background analysis: measured from startingStep until the rollout completes; a failed metric aborts it.'),
  }),
  canMove,
);

export const BlueGreen = z.object({
  autoPromotionSeconds: z.int().min(0).optional().describe('Promote by itself after this long; without it, wait for promotion.'),
  scaleDownDelaySeconds: z.int().min(0).default(30),
  previewReplicas: z.int().min(1).optional().describe('Candidate size before promotion; defaults to full size.'),
  prePromotionAnalysis: GatingAnalysis.optional().describe('Must pass before promotion; a failed metric aborts the rollout.'),
  postPromotionAnalysis: GatingAnalysis.optional().describe('Runs once <name> serves the candidate, before the previous slot is let go; a failed metric switches back.'),
});

export const RollingUpdate = cel(
  z.object({
    maxSurge: IntOrPercent.default('25%'),
    maxUnavailable: IntOrPercent.default(0),
  }),
  canMove,
);

export const Strategy = cel(
  z.object({
    type: z.enum(['RollingUpdate', 'Canary', 'BlueGreen']).default('RollingUpdate'),
    rollingUpdate: RollingUpdate.optional(),
    canary: Canary.optional(),
    blueGreen: BlueGreen.optional(),
    progressDeadlineSeconds: z.int().min(10).default(600),
    abortOnFailure: z.boolean().default(true),
  }),
  // has() guards: the API server also checks these rules against the `{}` default, before nested defaults.
  { rule: "!has(self.type) || self.type != 'Canary' || has(self.canary)", message: 'strategy.canary is required when type is Canary', fieldPath: '.canary',
    holds: (s) => s.type !== 'Canary' || s.canary !== undefined },
  { rule: "!has(self.canary) || (has(self.type) && self.type == 'Canary')", message: 'strategy.canary is set but type is not Canary', fieldPath: '.canary',
    holds: (s) => s.canary === undefined || s.type === 'Canary' },
  { rule: "!has(self.blueGreen) || (has(self.type) && self.type == 'BlueGreen')", message: 'strategy.blueGreen is set but type is not BlueGreen', fieldPath: '.blueGreen',
    holds: (s) => s.blueGreen === undefined || s.type === 'BlueGreen' },
);

/** The pod volume that holds spec.config's files when it has a mountPath (src/render/workload.ts names it too). */
export const CONFIG_VOLUME = 'coxswain-config';

/** Fields set from spec.config with a mountPath: a volume CONFIG_VOLUME, mounted there. */
const mountsConfig = "has(self.config) && has(self.config.mountPath) && has(self.pod)";

export const MicroserviceSpec = cel(z.object({
  image: z.string().min(1).describe('Container image, e.g. registry.example/orders:1.4.2.'),
  replicas: z.int().min(0).default(1).describe('Total pods; the HorizontalPodAutoscaler owns it when autoscaling is set.'),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  ports: Ports.optional().describe('Ports; without any, no Service is made.'),
  env: cel(
    // value declared too: `value: 8080` unquoted in YAML is common, and server-side apply refuses it with a 500.
    z.array(passThrough('core/v1 EnvVar', { name: z.string().min(1).max(256), value: z.string().optional() })).max(256),
    uniqueBy('name', 'env names must be unique'),
  ).optional(),
  envFrom: z.array(passThrough('core/v1 EnvFromSource')).optional(),
  config: Config.optional(),
  resources: z.object({ requests: z.record(z.string(), Quantity).optional(), limits: z.record(z.string(), Quantity).optional() }).optional(),
  probes: z.object({
    readiness: passThrough('core/v1 Probe').optional(),
    liveness: passThrough('core/v1 Probe').optional(),
    startup: passThrough('core/v1 Probe').optional(),
  }).optional(),
  autoscaling: Autoscaling.optional(),
  service: z.object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    annotations: StringMap.optional(),
  }).optional(),
  networkPolicy: NetworkPolicySpec.optional(),
  pod: Pod.optional(),
  // preStop declared, so the drainSeconds rule can see it.
  lifecycle: passThrough('core/v1 Lifecycle of the main container: its postStart and preStop hooks.', {
    preStop: passThrough('core/v1 LifecycleHandler: run before the container is sent SIGTERM.').optional(),
  }).optional(),
  drainSeconds: z.int().min(1).max(300).optional()
    .describe('Seconds a stopping pod keeps serving while gateways and Services stop sending to it: a preStop sleep this long, and a grace period of this plus 30 s.'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().describe('Of the main container.'),
  workingDir: z.string().min(1).optional().describe('Of the main container.'),
  initContainers: InitContainers.optional(),
  sidecars: Sidecars.optional(),
  minReadySeconds: z.int().min(0).optional()
    .describe('A pod counts as available, for the slots and for every step, switch and promotion, only once Ready this long.'),
  trackSecrets: z.boolean().optional()
    .describe('Where the install tracks Secrets (--track-secrets), the content of every Secret the pod references is part of the revision unless this is false; true where the install does not track makes status say so (docs/secrets.md).'),
  disruption: Disruption.optional().describe('A PodDisruptionBudget <name> over every pod of the Microservice; none when omitted.'),
  monitoring: Monitoring.optional()
    .describe('A PodMonitor <name> (monitoring.coreos.com/v1) scraping every pod, with revision, slot and role as target labels; where that CRD is served.'),
  adopt: Adopt.optional().describe('Existing objects to take over with no dropped request (kubectl coxswain adopt prints it).'),
  strategy: Strategy.prefault({}),
  paused: z.boolean().default(false),
  revisionHistoryLimit: z.int().min(1).max(100).default(10)
    .describe('Revisions kept as ControllerRevisions, to rebuild a slot from and for undo; those in use are always kept.'),
  traffic: Traffic.optional().describe('How traffic reaches the slots; omitted, the Service <name> selects them (traffic by replica weight).'),
  analysis: AnalysisSpec.optional().describe('Metrics that judge a release (docs/analysis.md); analysis steps and strategies name them.'),
}),
// The config's volume and mount join the user's own lists, keyed the same way.
{ rule: `!(${mountsConfig} && has(self.pod.volumeMounts)) || self.pod.volumeMounts.all(m, m.mountPath != self.config.mountPath)`,
  message: 'config.mountPath is also the mountPath of an entry in pod.volumeMounts', fieldPath: '.config.mountPath',
  holds: (s) => !s.config?.mountPath || !(s.pod?.volumeMounts ?? []).some((m) => m.mountPath === s.config?.mountPath) },
{ rule: `!(${mountsConfig} && has(self.pod.volumes)) || self.pod.volumes.all(v, v.name != '${CONFIG_VOLUME}')`,
  message: `the volume name ${CONFIG_VOLUME} is taken by config.mountPath`, fieldPath: '.pod.volumes',
  holds: (s) => !s.config?.mountPath || !(s.pod?.volumes ?? []).some((v) => v.name === CONFIG_VOLUME) },
SIDECAR_INIT_RULE,
// The Deployment refuses a progress deadline that is not above minReadySeconds.
{ rule: '!has(self.minReadySeconds) || self.minReadySeconds < (has(self.strategy) && has(self.strategy.progressDeadlineSeconds) ? self.strategy.progressDeadlineSeconds : 600)',
  message: 'minReadySeconds must be below strategy.progressDeadlineSeconds', fieldPath: '.minReadySeconds',
  holds: (s) => s.minReadySeconds === undefined || s.minReadySeconds < s.strategy.progressDeadlineSeconds },
// drainSeconds renders the main container's preStop hook and needs the grace period to outlast it.
{ rule: '!has(self.drainSeconds) || !has(self.lifecycle) || !has(self.lifecycle.preStop)',
  message: 'drainSeconds renders a preStop sleep: set drainSeconds or lifecycle.preStop, not both', fieldPath: '.drainSeconds',
  holds: (s) => s.drainSeconds === undefined || !s.lifecycle?.preStop },
{ rule: '!has(self.drainSeconds) || !has(self.pod) || !has(self.pod.terminationGracePeriodSeconds) || self.pod.terminationGracePeriodSeconds > self.drainSeconds',
  message: 'pod.terminationGracePeriodSeconds must be above drainSeconds, or the pod is killed while it drains', fieldPath: '.drainSeconds',
  holds: (s) => s.drainSeconds === undefined || s.pod?.terminationGracePeriodSeconds === undefined || s.pod.terminationGracePeriodSeconds > s.drainSeconds },
...TRAFFIC_RULES,
...MONITORING_RULES,
...ANALYSIS_NAME_RULES,
);

/**
 * Rules on metadata.name the OpenAPI schema cannot state: `<name>-preview` and the other derived
 * names must be valid Service names. CEL in the CRD, with their twins for reconcile time.
 */
export const NAME_RULES: Array<{ rule: string; message: string; holds: (name: string) => boolean }> = [
  {
    rule: 'self.metadata.name.size() <= 55',
    message: 'metadata.name must be at most 55 characters, so that <name>-preview is a valid Service name',
    holds: (name) => name.length <= 55,
  },
  {
    rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message: 'metadata.name must start with a letter and hold only lowercase letters, digits and -, as a Service name must',
    holds: (name) => /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name),
  },
];

/** Rules at the CRD's root, over metadata.name and the spec, with their twins. */
export const ROOT_RULES = [...CONTAINER_NAME_RULES, ADOPT_NAME_RULE];

export { CONTAINER_NAME_RULES };

export type MicroserviceSpec = z.output<typeof MicroserviceSpec>;
export type MicroserviceSpecInput = z.input<typeof MicroserviceSpec>;
export type Slot = 'blue' | 'green';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

/** A Microservice as read from the API server: spec not yet validated. */
export interface MicroserviceObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: MicroserviceStatus;
}

/** A Microservice whose spec passed validation, defaults applied. */
export interface Microservice extends MicroserviceObject {
  spec: MicroserviceSpec;
}

export * from './status.js';
