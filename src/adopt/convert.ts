// `kubectl coxswain adopt`, its pure part: live Deployment (and Service, HPA) -> the Microservice
// that takes them over, the fields it cannot say, or why a takeover would be unsafe. Nothing here
// reads or writes the cluster. What it cannot say is found by rendering the Microservice and
// comparing the pod template with the Deployment's, field by field, so nothing slips by unnamed.
import { API_VERSION, CONFIG_VOLUME, KIND, type MicroserviceObject, NAME_RULES } from '../api/schema.js';
import { LABEL_MANAGED_BY, LABEL_NAME } from '../api/names.js';
import { validateMicroservice } from '../api/validate.js';
import { podTemplate } from '../render/workload.js';
import type { KubeObject } from '../kube/object.js';
import { differences } from './compare.js';
import { withoutDefaults } from './defaults.js';
import { autoscalingOf, type ContainerPort, metadataLost, type Other, portsOf, serviceRefusals, serviceSpec } from './service.js';

type Json = Record<string, unknown>;
type Container = Json & { name: string; image?: string; ports?: ContainerPort[]; restartPolicy?: string };
export interface Template { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Json & { containers: Container[]; initContainers?: Container[] } }

export interface AdoptInput {
  deployment: KubeObject;
  service?: KubeObject;
  hpa?: KubeObject;
  /** The main container's name, when the pod has several. */
  container?: string;
  /** Pods and workloads of the namespace other than the Deployment's: the Service must select none of them. */
  others?: readonly Other[];
  /** Names of the HPAs that scale the Deployment: each must be the one named, or it would fight the takeover. */
  scalers?: readonly string[];
}

export type AdoptResult =
  | { ok: true; microservice: MicroserviceObject; lost: string[] }
  | { ok: false; refusals: string[] };

/** Pod fields `spec.pod` says as they are. */
const POD_FIELDS = ['serviceAccountName', 'nodeSelector', 'tolerations', 'affinity', 'securityContext', 'imagePullSecrets', 'volumes',
  'terminationGracePeriodSeconds', 'topologySpreadConstraints', 'priorityClassName', 'dnsPolicy', 'dnsConfig', 'hostAliases',
  'runtimeClassName', 'shareProcessNamespace', 'enableServiceLinks', 'automountServiceAccountToken'] as const;

/** Main-container fields said at the top of the spec, under the same name. */
const CONTAINER_FIELDS = ['image', 'command', 'args', 'env', 'envFrom', 'resources', 'lifecycle', 'imagePullPolicy', 'workingDir'] as const;

/** Labels Coxswain sets on every pod itself. */
const isCoxswainLabel = (k: string) => k === LABEL_NAME || k === LABEL_MANAGED_BY || k.startsWith('coxswain.dev/');

const pick = (obj: Json, keys: readonly string[]): Json => Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));

/** The main container: the one named, the only one, or the only one the Service sends traffic to. */
export function mainContainer(containers: readonly Container[], deployment: string, named?: string, svc?: KubeObject): { index: number } | { refusal: string } {
  const names = containers.map((c) => c.name);
  if (named !== undefined) {
    const index = names.indexOf(named);
    return index >= 0 ? { index } : { refusal: `deployment/${deployment} has no container ${named} (it has ${names.join(', ')})` };
  }
  if (containers.length === 1) return { index: 0 };
  const targets = (((svc?.spec as Json | undefined)?.ports ?? []) as Array<{ port: number; targetPort?: number | string }>).map((p) => p.targetPort ?? p.port);
  const served = containers.flatMap((c, i) => ((c.ports ?? []).some((p) => targets.includes(p.containerPort) || (p.name !== undefined && targets.includes(p.name))) ? [i] : []));
  if (served.length === 1) return { index: served[0]! };
  return { refusal: `deployment/${deployment} has containers ${names.join(', ')} and none is clearly the main one: name it with --container` };
}

/** What of the Deployment's own spec (beside its pod template) a Microservice says. */
function deploymentFields(d: Json, name: string): { spec: Json; lost: string[] } {
  const spec: Json = { replicas: d.replicas ?? 1 };
  const lost: string[] = [];
  if (typeof d.minReadySeconds === 'number' && d.minReadySeconds > 0) spec.minReadySeconds = d.minReadySeconds;
  const strategy = (d.strategy ?? {}) as Json;
  const out: Json = {};
  if (strategy.type === 'Recreate') lost.push(`deployment/${name} spec.strategy.type: Recreate cannot be said; the Microservice rolls with RollingUpdate`);
  else {
    const ru = (strategy.rollingUpdate ?? {}) as Json;
    out.rollingUpdate = { maxSurge: ru.maxSurge ?? '25%', maxUnavailable: ru.maxUnavailable ?? '25%' };
  }
  if (typeof d.progressDeadlineSeconds === 'number' && d.progressDeadlineSeconds !== 600) out.progressDeadlineSeconds = d.progressDeadlineSeconds;
  if (Object.keys(out).length > 0) spec.strategy = out;
  if (d.paused === true) lost.push(`deployment/${name} spec.paused: a paused Deployment's rollout cannot be carried over; resume it first`);
  return { spec, lost };
}

/** Sidecars from the pod's containers besides the main one, and its native sidecars; init containers as they are. */
function otherContainers(t: Template, main: number, deployment: string): { sidecars: Json[]; initContainers: Json[]; lost: string[] } {
  const lost: string[] = [];
  const init = t.spec.initContainers ?? [];
  const { sidecars: nativeSidecars, plain } = { sidecars: init.filter((c) => c.restartPolicy === 'Always'), plain: init.filter((c) => c.restartPolicy !== 'Always') };
  const extra = t.spec.containers.filter((_, i) => i !== main);
  for (const c of extra) {
    lost.push(`deployment/${deployment} container ${c.name}: runs as a native sidecar (an init container with restartPolicy Always), so it starts before the main container and stops after it`);
  }
  const strip = ({ restartPolicy: _, ...c }: Container) => c;
  return { sidecars: [...nativeSidecars, ...extra].map(strip), initContainers: plain, lost };
}

/** The Microservice for the Deployment (with its Service and HPA), and what it cannot say; or why not. */
export function adopt(input: AdoptInput): AdoptResult {
  const { deployment, service: svc, hpa } = input;
  const dName = deployment.metadata.name;
  const namespace = deployment.metadata.namespace;
  const name = svc?.metadata.name ?? dName;
  const dSpec = (deployment.spec ?? {}) as Json;
  const template = withoutDefaults(dSpec.template as Template);
  const refusals: string[] = [];
  for (const r of NAME_RULES) if (!r.holds(name)) refusals.push(`${svc ? `service/${name}` : `deployment/${name}`}: the Microservice takes its name, and ${r.message}`);
  const controller = deployment.metadata.ownerReferences?.find((o) => o.controller);
  if (controller) refusals.push(`deployment/${dName} is controlled by ${controller.kind}/${controller.name}; adopting it would fight its owner`);
  const podLabels = template.metadata?.labels ?? {};
  if (svc) refusals.push(...serviceRefusals(svc, name, podLabels, input.others ?? []));
  const main = mainContainer(template.spec.containers, dName, input.container, svc);
  if ('refusal' in main) refusals.push(main.refusal);
  const scaling = hpa ? autoscalingOf(hpa, dName) : undefined;
  refusals.push(...(scaling?.refusals ?? []));
  for (const h of input.scalers ?? []) {
    if (h !== hpa?.metadata.name) refusals.push(`horizontalpodautoscaler/${h} scales deployment/${dName}: name it with --hpa, or it would scale the old Deployment back up during the takeover`);
  }
  if (refusals.length > 0 || 'refusal' in main) return { ok: false, refusals };

  const c = template.spec.containers[main.index]!;
  const lost: string[] = [];
  const ports = portsOf(c.ports ?? [], svc);
  const others = otherContainers(template, main.index, dName);
  const deploymentSpec = deploymentFields(dSpec, dName);
  const svcSpec = svc ? serviceSpec(svc) : undefined;
  const labels = Object.fromEntries(Object.entries(podLabels).filter(([k]) => !isCoxswainLabel(k)));
  const pod: Json = {
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
    ...pick(template.spec, POD_FIELDS),
    ...(c.securityContext ? { containerSecurityContext: c.securityContext } : {}),
    ...(c.volumeMounts ? { volumeMounts: c.volumeMounts } : {}),
  };
  const probes = { readiness: c.readinessProbe, liveness: c.livenessProbe, startup: c.startupProbe };
  const spec: Json = {
    adopt: { deployment: dName, ...(svc ? { service: svc.metadata.name } : {}), ...(hpa ? { hpa: hpa.metadata.name } : {}) },
    ...pick(c, CONTAINER_FIELDS),
    ...deploymentSpec.spec,
    ...(ports.ports.length > 0 ? { ports: ports.ports } : {}),
    ...(Object.values(probes).some((p) => p !== undefined) ? { probes: pick(probes, ['readiness', 'liveness', 'startup']) } : {}),
    ...(Object.keys(pod).length > 0 ? { pod } : {}),
    ...(others.initContainers.length > 0 ? { initContainers: others.initContainers } : {}),
    ...(others.sidecars.length > 0 ? { sidecars: others.sidecars } : {}),
    ...(scaling?.autoscaling ? { autoscaling: scaling.autoscaling } : {}),
    ...(svcSpec?.service ? { service: svcSpec.service } : {}),
    // The Deployment had no NetworkPolicy of Coxswain's: one now would shut out whoever calls it from elsewhere.
    networkPolicy: { enabled: false },
  };
  const microservice: MicroserviceObject = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec,
  };
  if (c.name !== name) lost.push(`deployment/${dName} container ${c.name}: the main container is named after the Microservice, so it becomes ${name}`);
  lost.push(...deploymentSpec.lost, ...ports.lost, ...others.lost, ...(svcSpec?.lost ?? []), ...(scaling?.lost ?? []));
  lost.push(...[deployment, svc, hpa].flatMap((o) => (o ? metadataLost(o) : [])));

  // Render it, and compare the pod template with the Deployment's: whatever differs is named.
  const valid = validateMicroservice({ ...microservice, metadata: { ...microservice.metadata, namespace: namespace ?? 'default' } });
  if (!valid.ok) return { ok: false, refusals: valid.problems.map((p) => `the Microservice would be invalid: ${p}`) };
  const rendered = withoutDefaults(comparable(podTemplate(valid.value) as Template, name, c.name));
  const original = comparable(asSidecars(template, main.index), name, c.name);
  lost.push(...differences(original, rendered, `deployment/${dName} spec.template`));
  return { ok: true, microservice, lost };
}

/**
 * The Deployment's pod template with its containers besides the main one turned into native
 * sidecars, as the Microservice runs them (named on their own), after the pod's own native
 * sidecars; so that every other difference of theirs is still found.
 */
function asSidecars(t: Template, main: number): Template {
  const extra = t.spec.containers.filter((_, i) => i !== main).map((c) => ({ ...c, restartPolicy: 'Always' }));
  if (extra.length === 0) return t;
  const init = t.spec.initContainers ?? [];
  const at = init.findLastIndex((c) => c.restartPolicy === 'Always') + 1;
  return { ...t, spec: { ...t.spec, containers: [t.spec.containers[main]!], initContainers: [...init.slice(0, at), ...extra, ...init.slice(at)] } };
}

/**
 * A pod template as compared: without Coxswain's labels, the main container under its original
 * name (its renaming is named on its own), and the config volume Coxswain adds for spec.config.
 */
function comparable(t: Template, msName: string, mainName: string): Template {
  const labels = Object.fromEntries(Object.entries(t.metadata?.labels ?? {}).filter(([k]) => !isCoxswainLabel(k)));
  const rename = (c: Container) => (c.name === msName ? { ...c, name: mainName } : c);
  const metadata = { ...(Object.keys(labels).length > 0 ? { labels } : {}), ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}) };
  const volumes = (t.spec.volumes as Array<{ name: string }> | undefined)?.filter((v) => v.name !== CONFIG_VOLUME);
  return { metadata, spec: { ...t.spec, containers: t.spec.containers.map(rename), ...(volumes ? { volumes } : {}) } };
}
