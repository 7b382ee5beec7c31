// Is an API error from applying a rendered child object a refusal that a person must fix (the
// spec asks for something the API server will never take), or a hiccup to retry? And which of
// the Microservice's fields is it about? Pure: the error and the object that was applied in.
import { ApiError, type StatusCause } from './client.js';
import { type KubeObject } from './object.js';

export interface Refusal {
  reason: 'ApplyFailed';
  message: string;
}

/**
 * Server-side apply answers 500 when it cannot even build the patch: duplicate keys in a map
 * list, or a value of the wrong type in a passed-through field. Retrying never helps.
 */
const UNBUILDABLE = /failed to create typed (patch|live) object|duplicate entries for key|expected (string|numeric|bool|map|list)\b/i;

/**
 * A deterministic refusal (400, 413, 422, and a 500 that says the apply patch could not be
 * built), with a message that names the Microservice's field and keeps the API server's
 * explanation; undefined for anything that may pass on a retry (429, other 5xx, network errors).
 */
export function refusalOf(err: unknown, desired: KubeObject): Refusal | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const deterministic = err.status === 400 || err.status === 413 || err.status === 422 || (err.status === 500 && UNBUILDABLE.test(err.message));
  if (!deterministic) return undefined;
  const explained = explain(err.message, err.causes, desired);
  return { reason: 'ApplyFailed', message: `${explained} (the API server refused ${desired.kind} ${desired.metadata.name})` };
}

/**
 * The namespace is being deleted: the API server creates nothing in it any more (403 Forbidden
 * with the cause NamespaceTerminating), and never will again. Not a refusal and not an error:
 * whatever was to be reconciled there is going away with it.
 */
export function namespaceTerminating(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.status !== 403) return false;
  return err.causes.some((c) => c.reason === 'NamespaceTerminating') || /because it is being terminated/.test(err.message);
}

function explain(message: string, causes: readonly StatusCause[], desired: KubeObject): string {
  const fielded = causes.filter((c) => c.field && c.message);
  if (fielded.length > 0) {
    return fielded.map((c) => `${c.field === '[]' ? microservicePath(desired, 'data') ?? c.field : rewritePaths(c.field!, desired)}: ${c.message}`).join('; ');
  }
  const body = message
    .replace(/^failed to create typed (patch|live) object \([^)]*\): /, '')
    .replace(/^[\w.]+ "[^"]*" is invalid: /, '')
    .replace(/^\[(.*)\]$/s, '$1')
    .replace(/&value\.valueUnstructured\{Value:(.*?)\}/g, '$1');
  return rewritePaths(body, desired);
}

/** A path as the API server prints it: `spec.a[0].b`, `.spec.a[name="x"].b`. */
const PATH = /(?<![\w.\]"])\.?((?:spec|metadata|data)(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])+)/g;

/** Rewrites every path of the child in `text` to the Microservice field it came from. */
export function rewritePaths(text: string, desired: KubeObject): string {
  return text.replace(PATH, (whole, path: string) => microservicePath(desired, path) ?? whole);
}

type Segment = string;

/** `spec.a[0].b[name="x"]` -> ['spec', 'a', '[0]', 'b', '[name="x"]']. */
function segments(path: string): Segment[] {
  return [...path.matchAll(/\[[^\]]*\]|[^.[\]]+/g)].map((m) => m[0]);
}

const isIndex = (s: Segment) => s.startsWith('[');

/**
 * Where each child field comes from in the Microservice, by kind. `[*]` matches any index and
 * drops it (the one container); `[#]` keeps it (a list the Microservice holds in the same order);
 * `[#-1]` keeps it less one (the NetworkPolicy's egress starts with Coxswain's own DNS rule).
 * The first match wins; the rest of the path is kept.
 */
const ORIGINS: Record<string, Array<[string, string]>> = {
  Deployment: [
    ['spec.template.spec.containers[*].ports[#].containerPort', 'spec.ports[#].port'],
    ['spec.template.spec.containers[*].ports', 'spec.ports'],
    ['spec.template.spec.containers[*].env', 'spec.env'],
    ['spec.template.spec.containers[*].envFrom', 'spec.envFrom'],
    ['spec.template.spec.containers[*].image', 'spec.image'],
    ['spec.template.spec.containers[*].command', 'spec.command'],
    ['spec.template.spec.containers[*].args', 'spec.args'],
    ['spec.template.spec.containers[*].resources', 'spec.resources'],
    ['spec.template.spec.containers[*].readinessProbe', 'spec.probes.readiness'],
    ['spec.template.spec.containers[*].livenessProbe', 'spec.probes.liveness'],
    ['spec.template.spec.containers[*].startupProbe', 'spec.probes.startup'],
    ['spec.template.spec.containers[*].volumeMounts', 'spec.pod.volumeMounts'],
    ['spec.template.spec.containers[*].securityContext', 'spec.pod.containerSecurityContext'],
    ['spec.template.spec.containers[*].lifecycle', 'spec.lifecycle'],
    ['spec.template.spec.containers[*].imagePullPolicy', 'spec.imagePullPolicy'],
    ['spec.template.spec.containers[*].workingDir', 'spec.workingDir'],
    ['spec.template.spec.containers[*].name', 'metadata.name'],
    ['spec.template.spec.containers', 'spec'],
    ['spec.template.metadata.labels', 'spec.pod.labels'],
    ['spec.template.labels', 'spec.pod.labels'],
    ['spec.template.metadata.annotations', 'spec.pod.annotations'],
    ['spec.template.annotations', 'spec.pod.annotations'],
    ['spec.template.spec', 'spec.pod'],
    ['spec.progressDeadlineSeconds', 'spec.strategy.progressDeadlineSeconds'],
    ['spec.minReadySeconds', 'spec.minReadySeconds'],
    ['spec.strategy.rollingUpdate', 'spec.strategy.rollingUpdate'],
    ['spec.replicas', 'spec.replicas'],
  ],
  Service: [
    ['spec.ports[#].port', 'spec.ports[#].servicePort'],
    ['spec.ports', 'spec.ports'],
    ['spec.type', 'spec.service.type'],
    ['metadata.annotations', 'spec.service.annotations'],
  ],
  HorizontalPodAutoscaler: [
    ['spec.minReplicas', 'spec.autoscaling.minReplicas'],
    ['spec.maxReplicas', 'spec.autoscaling.maxReplicas'],
    ['spec.behavior', 'spec.autoscaling.behavior'],
    ['spec.metrics', 'spec.autoscaling'],
  ],
  PodDisruptionBudget: [
    ['spec.maxUnavailable', 'spec.disruption.maxUnavailable'],
    ['spec.minAvailable', 'spec.disruption.minAvailable'],
  ],
  ConfigMap: [['data', 'spec.config.data']],
  NetworkPolicy: [
    ['spec.ingress[#].from[*].ipBlock', 'spec.networkPolicy.allowFrom[#]'],
    ['spec.ingress[#].from[*]', 'spec.networkPolicy.allowFrom[#]'],
    ['spec.ingress[#]', 'spec.networkPolicy.allowFrom[#]'],
    ['spec.egress[#].to[*].ipBlock', 'spec.networkPolicy.allowTo[#-1]'],
    ['spec.egress[#].to[*]', 'spec.networkPolicy.allowTo[#-1]'],
    ['spec.egress[#]', 'spec.networkPolicy.allowTo[#-1]'],
  ],
};

/** The Microservice's path for a child's path, or undefined when the child's field is Coxswain's own. */
function microservicePath(desired: KubeObject, path: string): string | undefined {
  const segs = resolveKeys(segments(path), desired);
  const init = initContainerPath(desired, segs);
  if (init) return init;
  for (const [from, to] of ORIGINS[desired.kind] ?? []) {
    const pattern = segments(from);
    if (segs.length < pattern.length) continue;
    const kept: Segment[] = [];
    const matches = pattern.every((p, i) => {
      if (p === '[*]') return isIndex(segs[i]!);
      if (p === '[#]') return isIndex(segs[i]!) && kept.push(segs[i]!) > 0;
      return p === segs[i];
    });
    if (!matches) continue;
    const target = segments(to).map((t) => {
      if (t === '[#]') return kept.shift()!;
      if (t === '[#-1]') {
        const n = Number(kept.shift()!.slice(1, -1));
        return Number.isInteger(n) && n > 0 ? `[${n - 1}]` : '';
      }
      return t;
    });
    return join([...target, ...segs.slice(pattern.length)]);
  }
  return undefined;
}

/**
 * The pod's init containers are the sidecars, then the init containers (render/workload.ts): an
 * index into that one list is an index into one of the two.
 */
function initContainerPath(desired: KubeObject, segs: Segment[]): string | undefined {
  const at = ['spec', 'template', 'spec', 'initContainers'];
  if (desired.kind !== 'Deployment' || !at.every((s, i) => segs[i] === s)) return undefined;
  const list = ((desired.spec as { template?: { spec?: { initContainers?: Array<{ restartPolicy?: string }> } } }).template?.spec?.initContainers) ?? [];
  const leading = list.findIndex((c) => c.restartPolicy !== 'Always');
  const sidecars = leading < 0 ? list.length : leading;
  const i = segs[4] && isIndex(segs[4]) ? Number(segs[4].slice(1, -1)) : NaN;
  if (!Number.isInteger(i)) return join(['spec', 'initContainers', ...segs.slice(4)]);
  return join(i < sidecars ? ['spec', 'sidecars', `[${i}]`, ...segs.slice(5)] : ['spec', 'initContainers', `[${i - sidecars}]`, ...segs.slice(5)]);
}

function join(segs: Segment[]): string {
  return segs.reduce((acc, s) => (s === '' ? acc : isIndex(s) ? `${acc}${s}` : acc ? `${acc}.${s}` : s), '');
}

/**
 * Server-side apply names list items by their keys (`env[name="A"]`); an item the desired
 * object holds exactly once becomes its index (`env[1]`), which the Microservice's list shares.
 */
function resolveKeys(segs: Segment[], desired: KubeObject): Segment[] {
  let node: unknown = desired;
  return segs.map((seg) => {
    let out = seg;
    if (isIndex(seg) && Array.isArray(node)) {
      const keys = parseKeys(seg);
      if (keys) {
        const hits = node.flatMap((item, i) => (keys.every(([k, v]) => (item as Record<string, unknown>)?.[k] === v) ? [i] : []));
        out = hits.length === 1 ? `[${hits[0]}]` : seg;
      }
      const i = Number(out.slice(1, -1));
      node = Number.isInteger(i) ? node[i] : undefined;
    } else {
      node = node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[seg] : undefined;
    }
    return out;
  });
}

/** `[name="A"]` -> [['name', 'A']]; `[containerPort=8080,protocol="TCP"]` -> two pairs; `[3]` -> undefined. */
function parseKeys(seg: Segment): Array<[string, unknown]> | undefined {
  const pairs = [...seg.slice(1, -1).matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|[^,]+)/g)];
  if (pairs.length === 0) return undefined;
  return pairs.map(([, k, v]) => [k!, v!.startsWith('"') ? JSON.parse(v!) : Number(v)]);
}
