// The Service and HorizontalPodAutoscaler a Microservice takes over: what of them it can say,
// what it cannot, and what makes a takeover unsafe (a refusal).
import { LABEL_MANAGED_BY, LABEL_NAME, MANAGER } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { brief } from './compare.js';

type Json = Record<string, unknown>;

export interface ServicePort { name?: string; port: number; targetPort?: number | string; protocol?: string; nodePort?: number; appProtocol?: string }
export interface ContainerPort { name?: string; containerPort: number; protocol?: string; hostPort?: number; hostIP?: string }

/** A workload or pod besides the adopted Deployment, and the labels its pods carry. */
export interface Other { what: string; labels: Record<string, string> }

export const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Service spec fields Coxswain's Service says, or that hold what it would get anyway. */
const SERVICE_DEFAULTS: Record<string, (v: unknown) => boolean> = {
  type: () => true, selector: () => true, ports: () => true,
  clusterIP: () => true, clusterIPs: () => true, ipFamilies: () => true,
  ipFamilyPolicy: (v) => v === 'SingleStack',
  sessionAffinity: (v) => v === 'None',
  internalTrafficPolicy: (v) => v === 'Cluster',
  externalTrafficPolicy: (v) => v === 'Cluster',
  allocateLoadBalancerNodePorts: (v) => v === true,
};

/** Why a Service cannot be taken over safely, one line each; empty when it can. */
export function serviceRefusals(svc: KubeObject, name: string, podLabels: Record<string, string>, others: readonly Other[]): string[] {
  const spec = (svc.spec ?? {}) as Json;
  const svcName = svc.metadata.name;
  const selector = (spec.selector ?? {}) as Record<string, string>;
  if (spec.type === 'ExternalName') return [`service/${svcName} is an ExternalName Service: it selects no pods to take over`];
  if (Object.keys(selector).length === 0) return [`service/${svcName} has no selector: its endpoints are kept by hand, not by pods Coxswain could run`];
  const out: string[] = [];
  if (spec.clusterIP === 'None') out.push(`service/${svcName} is headless (clusterIP: None); Coxswain's Service has a cluster IP, and a cluster IP cannot be added to a Service`);
  if (!matches(selector, podLabels)) out.push(`service/${svcName} does not select the Deployment's pods (selector ${brief(selector)})`);
  // Coxswain's own pod labels: a selector on them with other values could never select its pods.
  if (selector[LABEL_NAME] !== undefined && selector[LABEL_NAME] !== name) {
    out.push(`service/${svcName} selects ${LABEL_NAME}=${selector[LABEL_NAME]}, but Coxswain labels every pod of Microservice ${name} with ${LABEL_NAME}=${name}, so its pods could not serve beside the old ones`);
  }
  if (selector[LABEL_MANAGED_BY] !== undefined && selector[LABEL_MANAGED_BY] !== MANAGER) {
    out.push(`service/${svcName} selects ${LABEL_MANAGED_BY}=${selector[LABEL_MANAGED_BY]}, but Coxswain labels its pods ${LABEL_MANAGED_BY}=${MANAGER}`);
  }
  for (const k of Object.keys(selector)) if (k.startsWith('coxswain.dev/')) out.push(`service/${svcName} selects on ${k}, a label Coxswain sets itself`);
  for (const o of others) if (matches(selector, o.labels)) out.push(`service/${svcName} also selects the pods of ${o.what}: taking it over would cut them off`);
  return out;
}

/** The Microservice's ports from the main container's, with the Service's port numbers; and what does not carry over. */
export function portsOf(containerPorts: readonly ContainerPort[], svc: KubeObject | undefined): { ports: Json[]; lost: string[] } {
  const lost: string[] = [];
  const ports: Json[] = containerPorts.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.containerPort, ...(p.protocol && p.protocol !== 'TCP' ? { protocol: p.protocol } : {}) }));
  if (!svc) {
    if (ports.length > 0) lost.push(`no Service was named (--service): the Microservice makes a Service for its ports, which the Deployment had none of`);
    return { ports, lost };
  }
  const svcName = svc.metadata.name;
  const exposed = new Set<number>();
  for (const sp of ((svc.spec as Json).ports ?? []) as ServicePort[]) {
    const target = sp.targetPort ?? sp.port;
    const protocol = sp.protocol ?? 'TCP';
    const i = containerPorts.findIndex((cp) => (cp.protocol ?? 'TCP') === protocol && (typeof target === 'string' ? cp.name === target : cp.containerPort === target));
    const where = `service/${svcName} port ${sp.name ?? sp.port}`;
    if (i < 0) { lost.push(`${where}: its target ${target} is no port of the main container`); continue; }
    if (exposed.has(i)) { lost.push(`${where}: a second Service port onto the same container port cannot be said`); continue; }
    exposed.add(i);
    const cp = containerPorts[i]!;
    if (sp.port !== cp.containerPort) ports[i]!.servicePort = sp.port;
    if ((sp.name ?? '') !== (cp.name ?? '') && ((svc.spec as Json).ports as unknown[]).length > 1) {
      lost.push(`${where}: its name would become ${cp.name ?? 'none'}, the container port's`);
    }
    if (sp.nodePort !== undefined && (svc.spec as Json).type === 'NodePort') lost.push(`${where}: nodePort ${sp.nodePort} cannot be said; the API server allocates one`);
    if (sp.appProtocol !== undefined) lost.push(`${where}: appProtocol ${sp.appProtocol} cannot be said`);
  }
  containerPorts.forEach((cp, i) => {
    if (!exposed.has(i)) lost.push(`container port ${cp.name ?? cp.containerPort}: service/${svcName} would also expose it (a Microservice's Service exposes every port)`);
  });
  return { ports, lost };
}

/** The Microservice's `service` from the Service, and the fields of it that cannot be said. */
export function serviceSpec(svc: KubeObject): { service?: Json; lost: string[] } {
  const spec = (svc.spec ?? {}) as Json;
  const lost = Object.entries(spec)
    .filter(([k, v]) => !(SERVICE_DEFAULTS[k]?.(v) ?? false))
    .map(([k, v]) => `service/${svc.metadata.name} spec.${k}: ${brief(v)} cannot be said in a Microservice`);
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  const annotations = keptAnnotations(svc.metadata.annotations);
  const service = { ...(type !== 'ClusterIP' ? { type } : {}), ...(annotations ? { annotations } : {}) };
  return { ...(Object.keys(service).length > 0 ? { service } : {}), lost };
}

/** Bookkeeping of the tools that made an object, not part of what it does. */
const BOOKKEEPING = [/^meta\.helm\.sh\//, /^deployment\.kubernetes\.io\//, /^kubectl\.kubernetes\.io\/last-applied-configuration$/, /^argocd\.argoproj\.io\//];

export function keptAnnotations(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  const kept = Object.entries(annotations ?? {}).filter(([k]) => !BOOKKEEPING.some((re) => re.test(k)));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** Labels that describe an object (the recommended app.kubernetes.io ones, Helm's chart label): Coxswain's objects carry their own. */
const DESCRIPTIVE = [/^app\.kubernetes\.io\//, /^helm\.sh\/chart$/, /^argocd\.argoproj\.io\//];

/** The labels and annotations of an adopted object that its Coxswain counterpart would not carry. */
export function metadataLost(obj: KubeObject): string[] {
  const what = `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
  const labels = Object.keys(obj.metadata.labels ?? {}).filter((k) => !DESCRIPTIVE.some((re) => re.test(k)));
  const annotations = Object.keys(keptAnnotations(obj.metadata.annotations) ?? {});
  return [
    ...labels.map((k) => `${what} metadata.labels.${k}: not carried over (put it in spec.pod.labels if the pods need it)`),
    ...(obj.kind === 'Service' ? [] : annotations.map((k) => `${what} metadata.annotations.${k}: not carried over`)),
  ];
}

/** The Microservice's `autoscaling` from an autoscaling/v2 HPA aimed at the Deployment, or why not. */
export function autoscalingOf(hpa: KubeObject, deployment: string): { autoscaling?: Json; refusals: string[]; lost: string[] } {
  const spec = (hpa.spec ?? {}) as Json;
  const ref = (spec.scaleTargetRef ?? {}) as Json;
  const hpaName = `horizontalpodautoscaler/${hpa.metadata.name}`;
  if (ref.kind !== 'Deployment' || ref.name !== deployment) {
    return { refusals: [`${hpaName} scales ${String(ref.kind)}/${String(ref.name)}, not deployment/${deployment}`], lost: [] };
  }
  const out: Json = { minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas };
  const metrics: Json[] = [];
  for (const m of (spec.metrics ?? []) as Json[]) {
    const r = m.resource as Json | undefined;
    const target = r?.target as Json | undefined;
    const key = r?.name === 'cpu' ? 'targetCPUUtilizationPercentage' : r?.name === 'memory' ? 'targetMemoryUtilizationPercentage' : undefined;
    if (m.type === 'Resource' && key && target?.type === 'Utilization' && out[key] === undefined && metrics.length === 0) out[key] = target.averageUtilization;
    else metrics.push(m);
  }
  if (metrics.length > 0) out.metrics = metrics;
  if (spec.behavior !== undefined) out.behavior = spec.behavior;
  const lost = Object.keys(spec).filter((k) => !['scaleTargetRef', 'minReplicas', 'maxReplicas', 'metrics', 'behavior'].includes(k))
    .map((k) => `${hpaName} spec.${k} cannot be said in a Microservice`);
  return { autoscaling: out, refusals: [], lost };
}
