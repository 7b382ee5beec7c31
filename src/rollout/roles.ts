// Which role each pod plays in the release (the pod label coxswain.dev/role), for dashboards and
// queries: pure, from the status the reconcile arrives at. The shell patches the label onto the
// pods themselves (never the Deployment's template, so no pod restarts for it); docs/pod.md says
// which pod gets which role in each strategy.
import type { Microservice, MicroserviceStatus } from '../api/schema.js';
import { LABEL_REVISION, LABEL_ROLE } from '../api/names.js';
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
 * The pods whose role label differs from their role, and only those, so a steady state writes
 * nothing. Each pod is judged by its own revision label, so a slot holding pods of two revisions
 * (mid-RollingUpdate, a stable slot being repaired) gives each its own. Terminating pods are left
 * as they are.
 */
export function relabels(pods: readonly KubeObject[], r: Release): Relabel[] {
  return pods.flatMap((pod) => {
    if (pod.metadata.deletionTimestamp) return [];
    const labels = pod.metadata.labels ?? {};
    const role = roleOf(labels[LABEL_REVISION], r) ?? null;
    return (labels[LABEL_ROLE] ?? null) === role ? [] : [{ pod, role }];
  });
}
