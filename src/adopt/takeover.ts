// The takeover that spec.adopt consents to, as a pure decision beside the engine's: the first
// revision comes up in the blue slot as usual (its pods carry the labels the old Service selects,
// spec.pod.labels, so the unchanged Service sends traffic to old and new pods alike); the old
// Deployment shrinks through /scale only as blue pods become Ready; once it has no pods left, the
// Service <name> is taken over. The old HPA goes first (retargeted when it is <name>, else
// deleted): left on the old Deployment it would scale it back up against every /scale write.
// Once taken over, a Service another manager keeps rewriting is src/adopt/rewrites.ts's to judge.
import type { AdoptionStatus, Microservice } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import type { Problem } from '../rollout/types.js';

export const ANNOTATION_ADOPTED_BY = 'coxswain.dev/adopted-by';
const MANAGER = 'coxswain';

/** The objects spec.adopt names, as read (managedFields kept): undefined where none exists. */
export interface Adopted { deployment?: KubeObject; service?: KubeObject; hpa?: KubeObject }

export interface TakeoverInput {
  ms: Microservice;
  adopted: Adopted;
  /** Available pods of the Microservice (each slot's own revision, both slots), and the total it wants. */
  newReady: number;
  total: number;
  desiredRevision: string;
  now: Date;
}

export type TakeoverWrite =
  | { resize: { name: string; replicas: number } }
  | { delete: KubeObject }
  | { apply: KubeObject; create: false };

export interface Takeover {
  /** Writes on the adopted objects, before the engine's. */
  writes: TakeoverWrite[];
  /** `Kind/name` of objects Coxswain may take over by applying its own (no NameConflict). */
  takeOver: Set<string>;
  /** `Kind/name` of objects the engine must not write yet. */
  withhold: Set<string>;
  status: AdoptionStatus;
  problem?: Problem;
  /** The old Deployment is not watched: come back to see it shrink, or to notice it revived. */
  requeueAfterMs: number;
}

type Json = Record<string, any>;

/**
 * The field manager that last set spec.replicas, read from managedFields. A /scale write's entry
 * may have no time (taken as the latest), and after an Apply manager's it may not be kept at all:
 * then no manager is named.
 */
export function replicasManager(d: KubeObject): string | undefined {
  const entries = (d.metadata as Json).managedFields as Array<{ manager?: string; time?: string; fieldsV1?: Json }> | undefined;
  const setting = (entries ?? []).filter((e) => e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined);
  setting.sort((a, b) => (a.time ?? '\uffff').localeCompare(b.time ?? '\uffff'));
  return setting.at(-1)?.manager;
}

export function takeover({ ms, adopted, newReady, total, desiredRevision, now }: TakeoverInput): Takeover {
  const adopt = ms.spec.adopt!;
  const name = ms.metadata.name;
  const previous = ms.status?.adoption;
  const old = adopted.deployment;
  const takeOver = new Set<string>();
  const withhold = new Set<string>();
  const writes: TakeoverWrite[] = [];
  const serviceId = `Service/${name}`;
  if (adopt.service) takeOver.add(serviceId);

  if (!old) {
    // Gone after the takeover (deleted from Git, as the guide says): nothing left to do.
    if (previous?.phase === 'Done') return { writes, takeOver, withhold, status: previous, requeueAfterMs: 0 };
    // Deleted mid-way (a revived one, as the guide says to do): nothing left to scale down, so the Service is next.
    if (previous?.phase === 'ScalingDown' || previous?.phase === 'TakingOverService') {
      return { writes, takeOver, withhold, ...serviceNext(ms, adopted, { ...previous, scaledTo: 0 }, `deployment/${adopt.deployment} is gone`) };
    }
    withhold.add(serviceId);
    const message = `deployment/${adopt.deployment} named in spec.adopt does not exist in namespace ${ms.metadata.namespace}`;
    return { writes, takeOver, withhold, status: { deployment: adopt.deployment, phase: 'Failed', message }, problem: { reason: 'AdoptionFailed', message }, requeueAfterMs: 30_000 };
  }

  // Another controller's Deployment (another Microservice's slot, an Argo Rollout's workload) is
  // its controller's to size: never written, as the plugin's adopt refuses it.
  const controller = old.metadata.ownerReferences?.find((r) => r.controller);
  if (controller) {
    withhold.add(serviceId);
    const message = `deployment/${adopt.deployment} named in spec.adopt is controlled by ${controller.kind}/${controller.name}: only a Deployment that no controller owns can be adopted`;
    return { writes, takeOver, withhold, status: { deployment: adopt.deployment, phase: 'Failed', message }, problem: { reason: 'AdoptionFailed', message }, requeueAfterMs: 30_000 };
  }

  const spec = (old.spec ?? {}) as Json;
  const oldStatus = (old.status ?? {}) as Json;
  const oldReplicas: number = spec.replicas ?? 1;
  const oldPods: number = oldStatus.replicas ?? 0;
  // One takeover per revision until it is done; once done it stays done, whatever comes next.
  const sameRun = previous?.replicas !== undefined && (previous.phase === 'Done' || previous.revision === desiredRevision);
  // A new revision in the middle of a run starts its own clock but carries on from where the run
  // got: the old Deployment's replicas before it, and what Coxswain last scaled it to (read
  // afresh, its current size is Coxswain's own half-way write, and a revival would go unseen).
  const carried = sameRun || (previous?.replicas !== undefined && (previous.phase === 'ScalingDown' || previous.phase === 'TakingOverService'));
  const original = carried ? previous!.replicas! : oldReplicas;
  const began = sameRun && previous!.startedAt ? previous!.startedAt : now.toISOString();
  // Held (spec.paused, kubectl coxswain pause), the slot gets no pods by design: the progress
  // deadline waits, as a rollout's does. Held time is recorded once (heldSince), and on the
  // resume the clock moves on by it, so status is written twice, not at every pass.
  const held = !!ms.spec.paused || !!ms.status?.rollout?.paused;
  const heldBefore = sameRun ? previous?.heldSince : undefined;
  const heldSince = held ? heldBefore ?? now.toISOString() : undefined;
  const startedAt = !held && heldBefore ? new Date(Date.parse(began) + Math.max(0, now.getTime() - Date.parse(heldBefore))).toISOString() : began;
  const lastSet = carried ? previous!.scaledTo ?? original : original;

  // The HPA first: left on the old Deployment it would scale it back up.
  const hpa = adopted.hpa;
  if (adopt.hpa && hpa) {
    const target = (hpa.spec as Json)?.scaleTargetRef ?? {};
    const onOld = target.kind === 'Deployment' && target.name === adopt.deployment;
    if (onOld && adopt.hpa === name && ms.spec.autoscaling) takeOver.add(`HorizontalPodAutoscaler/${name}`);
    else if (onOld) writes.push({ delete: hpa });
  }
  if (old.metadata.annotations?.[ANNOTATION_ADOPTED_BY] !== name) {
    writes.push({ apply: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: old.metadata.name, namespace: old.metadata.namespace, annotations: { [ANNOTATION_ADOPTED_BY]: name } } }, create: false });
  }

  const base = { deployment: adopt.deployment, revision: previous?.phase === 'Done' ? previous.revision : desiredRevision, replicas: original, startedAt, ...(heldSince ? { heldSince } : {}), oldReplicas };
  const deadlineMs = ms.spec.strategy.progressDeadlineSeconds * 1000;
  const failed = previous?.phase === 'Failed' && sameRun;
  const late = !held && newReady < total && now.getTime() - Date.parse(startedAt) > deadlineMs && previous?.phase !== 'Done';
  if (failed || late) {
    // Back to where it was; the Service stays as it is, on the old pods.
    withhold.add(serviceId);
    if (oldReplicas < original) writes.push({ resize: { name: adopt.deployment, replicas: original } });
    const message = `the new pods of revision ${desiredRevision} were not all Ready within ${ms.spec.strategy.progressDeadlineSeconds}s (${newReady}/${total}): `
      + `deployment/${adopt.deployment} is back at ${original} replicas and serves as before; fix the Microservice's pod template, and the takeover starts again with its next revision`;
    return { writes, takeOver, withhold, status: { ...base, phase: 'Failed', scaledTo: original, message }, problem: { reason: 'AdoptionFailed', message }, requeueAfterMs: 30_000 };
  }

  // Something else scaled it back up (a GitOps sync, Helm, a person): said, not fought.
  const manager = replicasManager(old);
  if (oldReplicas > lastSet && manager !== MANAGER) {
    withhold.add(serviceId);
    const message = `deployment/${adopt.deployment} was scaled back up to ${oldReplicas} by ${manager ?? 'a field manager that managedFields does not name (a /scale write may leave none)'} after Coxswain took it over; `
      + `remove it from Git (or from its Helm release) so that it stays at 0: Coxswain does not scale it down again while it is revived`;
    const phase = previous?.phase === 'Done' ? 'Done' : 'ScalingDown';
    return { writes, takeOver, withhold, status: { ...base, phase, scaledTo: lastSet, message }, problem: { reason: 'AdoptedWorkloadRevived', message }, requeueAfterMs: 30_000 };
  }

  // Capacity counted across both: the old one keeps what the Ready new pods do not yet make up.
  const want = Math.min(original, Math.max(0, total - newReady));
  if (want < oldReplicas) writes.push({ resize: { name: adopt.deployment, replicas: want } });
  const scaledTo = Math.min(want, oldReplicas);
  if (scaledTo > 0 || oldPods > 0) {
    withhold.add(serviceId);
    const message = `deployment/${adopt.deployment} at ${scaledTo} of ${original} replicas, as ${newReady}/${total} new pods are Ready`;
    // Done stays Done while the pods of a revival that is over go away.
    return { writes, takeOver, withhold, status: { ...base, phase: previous?.phase === 'Done' ? 'Done' : 'ScalingDown', scaledTo, message }, requeueAfterMs: 2_000 };
  }
  return { writes, takeOver, withhold, ...serviceNext(ms, adopted, { ...base, scaledTo: 0 }, `deployment/${adopt.deployment} is at 0 replicas`) };
}

/** With the old Deployment at 0 (or gone): the Service is taken over, and once it is Coxswain's the takeover is done. */
function serviceNext(ms: Microservice, adopted: Adopted, base: Omit<AdoptionStatus, 'phase'>, where: string): Pick<Takeover, 'status' | 'requeueAfterMs'> {
  const adopt = ms.spec.adopt!;
  const serviceOurs = !adopt.service || !!adopted.service?.metadata.ownerReferences?.some((r) => r.controller && r.uid === ms.metadata.uid);
  const message = serviceOurs
    ? `${where}${adopted.deployment ? `, kept (annotated ${ANNOTATION_ADOPTED_BY}=${ms.metadata.name}); delete it from Git when ready` : ''}`
    : `${where}; taking over service/${adopt.service}`;
  return { status: { ...base, phase: serviceOurs ? 'Done' : 'TakingOverService', message }, requeueAfterMs: serviceOurs ? 30_000 : 1_000 };
}
