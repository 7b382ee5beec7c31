// Services, the NetworkPolicy and the HorizontalPodAutoscaler.
import { API_VERSION, KIND, type Microservice, type Slot } from '../api/schema.js';
import { baseLabels, LABEL_MANAGED_BY, LABEL_NAME, LABEL_SLOT, previewServiceName } from '../api/names.js';
import { ownedMeta } from './meta.js';
import { type KubeObject } from '../kube/object.js';
import { compact } from './workload.js';

type Port = NonNullable<Microservice['spec']['ports']>[number];

/**
 * The target of a Service port, so that pods of `also` (another revision the Service selects
 * while it runs) match too: the name when they have a port of that name, else the number when
 * they have that one (a port renamed, its number kept), else the name.
 */
function targetOf(p: Port, also: readonly Port[]): string | number {
  if (!p.name) return p.port;
  if (also.length === 0 || also.some((q) => q.name === p.name)) return p.name;
  return also.some((q) => q.port === p.port && q.protocol === p.protocol) ? p.port : p.name;
}

/**
 * Whether `<name>`, on the `serving` revision's ports, reaches pods of a revision with `other`
 * ports through at least one of them (no ports: nothing to reach, so yes).
 */
export function reaches(serving: readonly Port[], other: readonly Port[]): boolean {
  if (serving.length === 0) return true;
  return serving.some((p) => other.some((q) => (p.name ? targetOf(p, other) === q.name || targetOf(p, other) === q.port : q.port === p.port) && q.protocol === p.protocol));
}

/**
 * A Service over the Microservice's pods on a revision's ports; `slot` narrows it to one slot;
 * `also` are the ports of another revision whose pods it selects too.
 */
export function renderService(ms: Microservice, name: string, ports: readonly Port[], slot?: Slot, also: readonly Port[] = []): KubeObject | undefined {
  if (ports.length === 0) return undefined;
  const svc = ms.spec.service;
  const selector = { ...baseLabels(ms.metadata.name), ...(slot ? { [LABEL_SLOT]: slot } : {}) };
  const meta = ownedMeta(ms, name);
  if (svc?.annotations && name === ms.metadata.name) meta.annotations = svc.annotations;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: {
      // The preview Service is for tests inside the cluster; only the main one takes the user's type.
      type: name === ms.metadata.name ? (svc?.type ?? 'ClusterIP') : 'ClusterIP',
      selector,
      ports: ports.map((p) => compact({ name: p.name, port: p.servicePort ?? p.port, targetPort: targetOf(p, also), protocol: p.protocol })),
    },
  };
}

export function renderPreviewService(ms: Microservice, ports: readonly Port[], slot: Slot): KubeObject | undefined {
  return renderService(ms, previewServiceName(ms.metadata.name), ports, slot);
}

export function renderHPA(ms: Microservice): KubeObject | undefined {
  const a = ms.spec.autoscaling;
  if (!a) return undefined;
  const target = (name: string, averageUtilization: number) => ({
    type: 'Resource',
    resource: { name, target: { type: 'Utilization', averageUtilization } },
  });
  const metrics = [];
  if (a.targetCPUUtilizationPercentage) metrics.push(target('cpu', a.targetCPUUtilizationPercentage));
  if (a.targetMemoryUtilizationPercentage) metrics.push(target('memory', a.targetMemoryUtilizationPercentage));
  metrics.push(...(a.metrics ?? []));
  // With no target given, say what Kubernetes would assume anyway, so the object reads plainly.
  if (metrics.length === 0) metrics.push(target('cpu', 80));
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: ownedMeta(ms, ms.metadata.name),
    spec: compact({
      // The HPA scales the Microservice through /scale, never a Deployment: Coxswain splits the total between slots.
      scaleTargetRef: { apiVersion: API_VERSION, kind: KIND, name: ms.metadata.name },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics,
      behavior: a.behavior,
    }),
  };
}

type Peer = NonNullable<NonNullable<Microservice['spec']['networkPolicy']>['allowFrom']>[number];

function peerSelector(peer: Peer): Record<string, unknown> {
  if (peer.cidr) return { ipBlock: { cidr: peer.cidr } };
  const out: Record<string, unknown> = {};
  if (peer.microservice) out.podSelector = { matchLabels: { [LABEL_NAME]: peer.microservice, [LABEL_MANAGED_BY]: 'coxswain' } };
  if (peer.namespace) out.namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } };
  return out;
}

// An empty list counts as unset: in a NetworkPolicy rule, `ports: []` would open every port.
const peerPorts = (peer: Peer) => (peer.ports?.length ? peer.ports.map((p) => ({ port: p.port, protocol: p.protocol })) : undefined);

/** The NetworkPolicy, admitting the ports of every revision that runs (`ports`: theirs, in order). */
export function renderNetworkPolicy(ms: Microservice, ports: readonly Port[] = ms.spec.ports ?? []): KubeObject | undefined {
  const np = ms.spec.networkPolicy;
  if (np && !np.enabled) return undefined;
  const seen = new Set<string>();
  const declared = ports.map((p) => ({ port: p.port, protocol: p.protocol })).filter((p) => !seen.has(`${p.port}/${p.protocol}`) && !!seen.add(`${p.port}/${p.protocol}`));
  // No declared port means nothing to admit: the policy then denies all ingress.
  const sameNamespace = [{ from: [{ podSelector: {} }], ports: declared }];
  const ingress = declared.length === 0 ? []
    : np?.allowFrom?.map((peer) => ({ from: [peerSelector(peer)], ports: peerPorts(peer) ?? declared })) ?? sameNamespace;
  const policyTypes = ['Ingress'];
  const spec: Record<string, unknown> = { podSelector: { matchLabels: baseLabels(ms.metadata.name) }, policyTypes, ingress };
  if (np?.allowTo) {
    policyTypes.push('Egress');
    const dns = { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] };
    spec.egress = [dns, ...np.allowTo.map((peer) => compact({ to: [peerSelector(peer)], ports: peerPorts(peer) }))];
  }
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: ownedMeta(ms, ms.metadata.name), spec };
}
