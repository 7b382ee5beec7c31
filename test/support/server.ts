// What the API server hands back for an object we applied: the same content plus defaulted
// fields, server metadata and status, with quantities rewritten in canonical form and empty
// lists dropped (Go's omitempty). Used to check that the diff ignores everything we did not set.
import { quantityValue } from '../../src/render/diff.js';
import type { KubeObject } from '../../src/kube/object.js';

const BINARY = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const;
const DECIMAL = [['E', 1e18], ['P', 1e15], ['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]] as const;

/** The API server's canonical form of a quantity: "0.5" -> "500m", 1 -> "1", "1024Mi" -> "1Gi", "1000m" -> "1". */
export function canonicalQuantity(q: string | number): string {
  const value = quantityValue(q);
  if (value === undefined) throw new Error(`not a quantity: ${String(q)}`);
  if (typeof q === 'string' && /[KMGTPE]i$/.test(q) && Number.isInteger(value)) {
    const i = BINARY.findIndex((_, n) => value % 2 ** (10 * (6 - n)) === 0);
    return i < 0 ? String(value) : `${value / 2 ** (10 * (6 - i))}${BINARY[i]}`;
  }
  if (Number.isInteger(value)) {
    const d = DECIMAL.find(([, f]) => value !== 0 && value % f === 0);
    return d ? `${value / d[1]}${d[0]}` : String(value);
  }
  const milli = Math.round(value * 1e3);
  if (Math.abs(milli - value * 1e3) < 1e-9) return `${milli}m`;
  return `${Math.round(value * 1e9)}n`;
}

type Json = Record<string, unknown>;

function canonicalResources(container: Json): void {
  const resources = container.resources as Json | undefined;
  if (!resources) {
    container.resources = {};
    return;
  }
  for (const key of ['requests', 'limits']) {
    const map = resources[key] as Record<string, string | number> | undefined;
    if (map) for (const [name, q] of Object.entries(map)) map[name] = canonicalQuantity(q);
  }
}

function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.enableServiceLinks ??= true;
  for (const c of [...((spec.initContainers as Json[] | undefined) ?? []), ...((spec.containers as Json[] | undefined) ?? [])]) {
    c.imagePullPolicy ??= 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    canonicalResources(c);
    for (const env of (c.env as Json[] | undefined) ?? []) if (env.value === '') delete env.value; // omitempty
  }
  for (const v of (spec.volumes as Json[] | undefined) ?? []) {
    const cm = v.configMap as Json | undefined;
    if (cm) cm.defaultMode ??= 420;
  }
}

/** A copy of `obj` as the API server would return it after the apply. */
export function serverLike(obj: KubeObject): KubeObject {
  const out = structuredClone(obj) as KubeObject & { spec?: Json; status?: Json };
  out.metadata = {
    ...out.metadata,
    uid: 'c0ffee00-0000-4000-8000-000000000000',
    resourceVersion: '4711',
    generation: 2,
    creationTimestamp: '2024-05-01T10:00:00Z',
  };
  (out.metadata as unknown as Json).managedFields = [{ manager: 'coxswain', operation: 'Apply', apiVersion: obj.apiVersion }];
  const spec = out.spec ?? {};
  switch (obj.kind) {
    case 'Deployment': {
      out.metadata.annotations = { ...out.metadata.annotations, 'deployment.kubernetes.io/revision': '2' };
      const template = spec.template as { spec: Json; metadata: Json };
      template.metadata.creationTimestamp = null;
      defaultPodSpec(template.spec);
      out.status = { observedGeneration: 2, replicas: spec.replicas, readyReplicas: spec.replicas, conditions: [{ type: 'Available', status: 'True' }] };
      break;
    }
    case 'Service':
      spec.clusterIP = '10.96.12.34';
      spec.clusterIPs = ['10.96.12.34'];
      spec.ipFamilies = ['IPv4'];
      spec.ipFamilyPolicy = 'SingleStack';
      spec.sessionAffinity = 'None';
      spec.internalTrafficPolicy = 'Cluster';
      if (spec.type !== 'ClusterIP') for (const [i, p] of ((spec.ports as Json[] | undefined) ?? []).entries()) p.nodePort = 30000 + i;
      out.status = { loadBalancer: {} };
      break;
    case 'NetworkPolicy':
      if (Array.isArray(spec.ingress) && spec.ingress.length === 0) delete spec.ingress; // omitempty
      break;
    case 'HorizontalPodAutoscaler':
      out.status = { currentReplicas: 2, desiredReplicas: 2, currentMetrics: [] };
      break;
    default:
      break;
  }
  return out;
}
