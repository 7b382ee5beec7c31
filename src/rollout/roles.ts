// Which role each pod plays in the release (the pod label coxswain.dev/role), for dashboards and
// queries: pure, from the status the reconcile arrives at. The shell patches the label onto the
// pods themselves (never the Deployment's template, so no pod restarts for it); docs/pod.md says
// which pod gets which role in each strategy.
import type { Microservice, MicroserviceStatus } from '../api/schema.js';
import { deploymentName, LABEL_REVISION, LABEL_ROLE, LABEL_SLOT, SLOTS } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';

export type Role = 'stable' | 'canary' | 'preview';

/** What a pod's role is decided from. */
export interface Release {
  strategy: Microservice['spec']['strategy']['type'];
  /** The revision that serves: status.stableRevision (a first revision is stable from the start). */
  stable: string;
  /** The revision being released beside it, if any: the spec's, while neither stable nor held back (aborted, undone). */
  candidate?: string;
}

/** The release as a status tells it. */
export function releaseOf(strategy: Release['strategy'], status: Pick<MicroserviceStatus, 'stableRevision' | 'desiredRevision' | 'rollout'>): Release {
  const desired = status.desiredRevision;
  const stable = status.stableRevision ?? desired ?? '';
  const candidate = desired && desired !== stable && status.rollout?.abortedRevision !== desired ? desired : undefined;
  return { strategy, stable, ...(candidate ? { candidate } : {}) };
}

/**
 * The role of a pod of `revision`: `stable` for the serving revision; for the revision being
 * released, `preview` in a blue-green (it serves only through `<name>-preview` until the switch,
 * which makes it stable) and `canary` otherwise (a canary's candidate, and a RollingUpdate's new
 * pods, serve beside the stable ones). None for any other revision: an aborted or replaced
 * candidate's pods, and the previous revision's while a blue-green's old slot waits out its
 * scale-down delay, serve nothing and are on their way out.
 */
export function roleOf(revision: string | undefined, r: Release): Role | undefined {
  if (revision === undefined) return undefined;
  if (revision === r.stable) return 'stable';
  if (revision === r.candidate) return r.strategy === 'BlueGreen' ? 'preview' : 'canary';
  return undefined;
}

/** A pod whose role label is to change: `role` null removes the label. */
export interface Relabel {
  pod: KubeObject;
  role: Role | null;
}

/**
 * A pod of one of the Microservice's slots: its controller is a ReplicaSet of the slot's
 * Deployment (`<name>-<slot>-<pod-template-hash>`). Any other pod, however it is labelled, is not
 * Coxswain's to write.
 */
export function ofSlot(pod: KubeObject, name: string): boolean {
  const labels = pod.metadata.labels ?? {};
  const slot = SLOTS.find((s) => s === labels[LABEL_SLOT]);
  const hash = labels['pod-template-hash'];
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  return !!slot && !!hash && controller?.kind === 'ReplicaSet' && controller.name === `${deploymentName(name, slot)}-${hash}`;
}

/**
 * The pods of the Microservice `name` whose role label differs from their role, and only those,
 * so a steady state writes nothing. Each pod is judged by its own revision label, so a slot
 * holding pods of two revisions (mid-RollingUpdate, a stable slot being repaired) gives each its
 * own. Terminating pods, and pods that are not of its slots, are left as they are.
 */
export function relabels(pods: readonly KubeObject[], r: Release, name: string): Relabel[] {
  return pods.flatMap((pod) => {
    if (pod.metadata.deletionTimestamp || !ofSlot(pod, name)) return [];
    const labels = pod.metadata.labels ?? {};
    const role = roleOf(labels[LABEL_REVISION], r) ?? null;
    return (labels[LABEL_ROLE] ?? null) === role ? [] : [{ pod, role }];
  });
}
