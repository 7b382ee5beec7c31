// The way out, pure: from a Microservice and its live objects to the plain Deployment that takes
// its place, the Service handed over to it, and the manifests left for Git. The plugin's steps
// (./command.ts) each read the cluster, ask these functions, and write at most one thing.
import type { MicroserviceObject } from '../api/schema.js';
import { ANNOTATION_EJECT, deploymentName, LABEL_MANAGED_BY, LABEL_NAME, SLOTS } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { withoutDefaults } from '../adopt/defaults.js';
import { holdsTakeover } from '../adopt/backout.js';

/** On the plain Deployment: the Microservice it was ejected from (how a re-run knows it is its own). */
export const ANNOTATION_EJECTED_FROM = 'coxswain.dev/ejected-from';

type Json = Record<string, any>;
type Labels = Record<string, string>;

/** Coxswain's own labels and annotations: `coxswain.dev/*` and `managed-by: coxswain`. The user's stay. */
function plain(map: Labels | undefined): Labels | undefined {
  const kept = Object.entries(map ?? {}).filter(([k, v]) => !k.startsWith('coxswain.dev/') && !(k === LABEL_MANAGED_BY && v === 'coxswain'));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/**
 * The plain Deployment's selector, and the Service's once handed over. Both the slot's pods and the
 * plain ones carry it, so while the slot's pods exist the Service serves both; they go with the
 * Microservice, and then it serves only the plain ones.
 */
export const plainSelector = (name: string): Labels => ({ [LABEL_NAME]: name });

export type Source = { ok: true; slot: KubeObject } | { ok: false; reason: string };

/**
 * The slot Deployment that runs the stable revision: the one to copy. Refused while a rollout is
 * under way (the other slot has pods), since the copy would be of a revision about to change.
 */
export function stableSlot(ms: MicroserviceObject, slots: readonly KubeObject[]): Source {
  const name = ms.metadata.name;
  const active = ms.status?.activeSlot;
  const stable = ms.status?.stableRevision;
  if (!active || !stable) return { ok: false, reason: `microservice ${name} has no stable revision yet (status.activeSlot, status.stableRevision): nothing to eject` };
  // Half taken over, the old Deployment still serves: deleting the Microservice is the way back then (src/adopt/backout.ts).
  const adoption = ms.status?.adoption;
  if (holdsTakeover(adoption?.phase)) return { ok: false, reason: `the takeover of deployment/${adoption?.deployment} is not done (status.adoption.phase ${adoption?.phase}): let it finish, or delete the Microservice, which puts deployment/${adoption?.deployment} back` };
  const slot = slots.find((d) => d.metadata.name === deploymentName(name, active));
  if (!slot) return { ok: false, reason: `deployment/${deploymentName(name, active)} (the active slot) does not exist` };
  const other = slots.find((d) => d.metadata.name !== slot.metadata.name && SLOTS.some((s) => d.metadata.name === deploymentName(name, s)));
  const busy = other && (((other.spec as Json)?.replicas ?? 0) > 0 || ((other.status as Json)?.replicas ?? 0) > 0);
  if (busy) {
    // No rollout, only the slot let go waiting out its scale-down delay: promote or abort would do nothing.
    const until = ms.status?.rollout?.scaleDownAt;
    if (until && ms.status?.desiredRevision === stable) return { ok: false, reason: `deployment/${other.metadata.name} still has pods until its scale-down delay ends at ${until}: run kubectl coxswain eject again then` };
    return { ok: false, reason: `deployment/${other.metadata.name} still has pods: a rollout is under way; finish it (kubectl coxswain promote ${name} --full) or abort it first` };
  }
  return { ok: true, slot };
}

/** The Deployment `to` that serves in place of the Microservice: the stable slot's pod template, at `replicas`. */
export function plainDeployment(ms: MicroserviceObject, slot: KubeObject, to: string, replicas: number): KubeObject {
  const spec = (slot.spec ?? {}) as Json;
  const template = spec.template ?? {};
  const labels = { ...plain(template.metadata?.labels), ...plainSelector(ms.metadata.name) };
  const annotations = plain(template.metadata?.annotations);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: to,
      namespace: ms.metadata.namespace,
      labels: { ...plain(ms.metadata.labels), ...plainSelector(ms.metadata.name) },
      annotations: { [ANNOTATION_EJECTED_FROM]: ms.metadata.name },
    },
    spec: {
      replicas,
      selector: { matchLabels: plainSelector(ms.metadata.name) },
      template: { metadata: { labels, ...(annotations ? { annotations } : {}) }, spec: template.spec },
      ...pick(spec, ['strategy', 'minReadySeconds', 'progressDeadlineSeconds', 'revisionHistoryLimit']),
    },
  };
}

function pick(o: Json, keys: string[]): Json {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

/** A Deployment is Ready at full size: rolled out, every replica updated and available. */
export function deploymentReady(d: KubeObject | undefined): boolean {
  if (!d) return false;
  const want = (d.spec as Json)?.replicas ?? 1;
  const st = (d.status ?? {}) as Json;
  return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) && (st.updatedReplicas ?? 0) >= want && (st.availableReplicas ?? 0) >= want && (st.readyReplicas ?? 0) >= want;
}

const ownedBy = (o: KubeObject, uid: string | undefined) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid);

/** The Service handed over: not the Microservice's, selecting the plain Deployment's pods (and, until they go, the slot's). */
export function handedOver(service: KubeObject, ms: MicroserviceObject): boolean {
  const selector = (service.spec as Json)?.selector;
  return !ownedBy(service, ms.metadata.uid) && JSON.stringify(selector) === JSON.stringify(plainSelector(ms.metadata.name));
}

type Op = { op: 'test' | 'replace' | 'remove' | 'add'; path: string; value?: unknown };

/** JSON patch operations that set `path` to `after`: added, replaced, or removed when undefined. */
function set(path: string, before: unknown, after: unknown): Op[] {
  return after !== undefined ? [{ op: before === undefined ? 'add' : 'replace', path, value: after }] : before !== undefined ? [{ op: 'remove', path }] : [];
}

/**
 * The start of a patch that releases `obj` from the Microservice, only if it is still as read
 * (resourceVersion): its owner reference gone (it is not deleted with it), Coxswain's labels and
 * annotations gone.
 */
function released(obj: KubeObject, ms: MicroserviceObject): Op[] {
  const meta = obj.metadata;
  const owners = (meta.ownerReferences ?? []).filter((r) => r.uid !== ms.metadata.uid);
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion },
    ...set('/metadata/ownerReferences', meta.ownerReferences, owners.length > 0 ? owners : undefined),
    ...set('/metadata/labels', meta.labels, plain(meta.labels)),
    ...set('/metadata/annotations', meta.annotations, plain(meta.annotations)),
  ];
}

/**
 * A JSON patch that hands `service` over: released, its selector the plain one, which the serving
 * slot's pods match too, so its Ready endpoints never drop.
 */
export function serviceHandover(service: KubeObject, ms: MicroserviceObject): Op[] {
  return [...released(service, ms), { op: 'replace', path: '/spec/selector', value: plainSelector(ms.metadata.name) }];
}

/** The Microservice's HPA, scaling the plain Deployment `to` instead: undefined when it is not the Microservice's (any more). */
export function hpaHandover(hpa: KubeObject, ms: MicroserviceObject, to: string): Op[] | undefined {
  if (!ownedBy(hpa, ms.metadata.uid)) return undefined;
  return [...released(hpa, ms), { op: 'replace', path: '/spec/scaleTargetRef', value: { apiVersion: 'apps/v1', kind: 'Deployment', name: to } }];
}

/**
 * The Microservice's HTTPRoute `<name>` (spec.traffic.gateway), released and sending every rule
 * to the Service `<name>`, which selects the plain pods by then: its backends, the slot Services,
 * go with the Microservice. The same matches, hostnames and parents, so the gateway's traffic
 * carries on. Undefined when the route is not the Microservice's (any more).
 */
export function routeHandover(route: KubeObject, ms: MicroserviceObject): Op[] | undefined {
  if (!ownedBy(route, ms.metadata.uid)) return undefined;
  const name = ms.metadata.name;
  const rules = ((route.spec as Json)?.rules ?? []) as Json[];
  const handed = rules.map((rule) => {
    // The slot Services serve on `<name>`'s ports: the port the route sent them on is the one to keep.
    const port = (rule.backendRefs as Json[] | undefined)?.find((b) => b.port !== undefined)?.port;
    return { ...rule, backendRefs: [{ group: '', kind: 'Service', name, ...(port !== undefined ? { port } : {}), weight: 1 }] };
  });
  return [...released(route, ms), { op: 'replace', path: '/spec/rules', value: handed }];
}

/**
 * A JSON patch moving a ConfigMap the plain pods use from the Microservice to the plain
 * Deployment: it stays as long as they do, and is not deleted with the Microservice.
 */
export function reown(obj: KubeObject, ms: MicroserviceObject, deployment: KubeObject): Op[] | undefined {
  if (!ownedBy(obj, ms.metadata.uid)) return undefined;
  const owners = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ms.metadata.uid);
  const to = { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name, uid: deployment.metadata.uid ?? '' };
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
    { op: 'replace', path: '/metadata/ownerReferences', value: [...owners, to] },
  ];
}

/** What is left, as it would be kept in Git: no status, no server-set or cluster-specific fields, nothing of Coxswain's. */
export function manifest(obj: KubeObject): KubeObject {
  const { labels, annotations } = obj.metadata;
  const kept = plain(Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !SERVER_ANNOTATIONS.has(k))));
  const out: Json = {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, ...(plain(labels) ? { labels: plain(labels) } : {}), ...(kept ? { annotations: kept } : {}) },
  };
  for (const k of ['spec', 'data', 'binaryData', 'immutable']) if ((obj as Json)[k] !== undefined) out[k] = structuredClone((obj as Json)[k]);
  // The API server's defaults out, so the YAML says what a person would write (they come back when applied).
  if (obj.kind === 'Deployment' && out.spec?.template) out.spec.template = withoutDefaults(out.spec.template);
  if (obj.kind === 'Service' && out.spec) {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) delete out.spec[k];
    if (out.spec.sessionAffinity === 'None') delete out.spec.sessionAffinity;
    if (out.spec.internalTrafficPolicy === 'Cluster') delete out.spec.internalTrafficPolicy;
  }
  return out as KubeObject;
}

const SERVER_ANNOTATIONS = new Set(['deployment.kubernetes.io/revision', 'kubectl.kubernetes.io/last-applied-configuration', ANNOTATION_EJECT]);
