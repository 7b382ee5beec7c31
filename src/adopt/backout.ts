// A Microservice deleted half-way through its takeover (spec.adopt) puts back what it took: the
// old Deployment at the replicas it had when the takeover began, the HPA it had taken over (owner
// reference dropped, scaling the old Deployment again) and the Service, if already taken over
// (owner reference dropped, selecting the old Deployment's pods). Until the old Deployment's pods
// are all available, a finalizer holds the deletion, so the new pods (and the capacity they give
// behind the unchanged Service) stay until the old ones are back. A pure decision: the shell
// (src/controller/reconcile.ts) reads the objects, carries out the writes, and lets go once done.
import type { MicroserviceObject } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { ANNOTATION_ADOPTED_BY, type Adopted } from './takeover.js';

/** Held while a takeover is under way; let go once what it took is back (or it is done). */
export const FINALIZER_ADOPTION = 'coxswain.dev/adoption';

export type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown } | { op: 'remove'; path: string };

export type BackOutWrite =
  | { resize: { name: string; replicas: number } }
  | { patch: { kind: 'Deployment' | 'HorizontalPodAutoscaler' | 'Service'; name: string; ops: JsonPatchOp[] } };

export interface BackOut {
  writes: BackOutWrite[];
  /** What is taken is back (or nothing can be put back any more): the finalizer goes. */
  done: boolean;
  message: string;
}

type Json = Record<string, any>;

/** Whether a takeover with this status could leave the old Deployment short if the Microservice went now. */
export function holdsTakeover(phase: string | undefined): boolean {
  return phase === 'ScalingDown' || phase === 'TakingOverService' || phase === 'Failed';
}

export function backOut(ms: MicroserviceObject, adopted: Adopted, now: Date): BackOut {
  const adoption = ms.status?.adoption;
  const adopt = (ms.spec as { adopt?: { deployment: string } }).adopt;
  const old = adopted.deployment;
  if (!adopt || !old || old.metadata.deletionTimestamp || !holdsTakeover(adoption?.phase)) {
    // Done, never begun, or nothing left to put back (the old Deployment deleted, as a namespace's deletion does).
    return { writes: [], done: true, message: 'nothing to put back' };
  }
  const writes: BackOutWrite[] = [];
  const uid = ms.metadata.uid;
  const ownedByUs = (o: KubeObject) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid);
  const notOurs = (o: KubeObject) => (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
  // Each patch holds to the object read (its uid): one recreated under the name meanwhile is left alone.
  const release = (o: KubeObject): JsonPatchOp[] => [
    { op: 'test', path: '/metadata/uid', value: o.metadata.uid },
    notOurs(o).length > 0 ? { op: 'replace', path: '/metadata/ownerReferences', value: notOurs(o) } : { op: 'remove', path: '/metadata/ownerReferences' },
  ];

  const original = adoption?.replicas ?? 1;
  const spec = (old.spec ?? {}) as Json;
  if ((spec.replicas ?? 1) < original) writes.push({ resize: { name: old.metadata.name, replicas: original } });
  if (old.metadata.annotations?.[ANNOTATION_ADOPTED_BY] === ms.metadata.name) {
    const path = `/metadata/annotations/${ANNOTATION_ADOPTED_BY.replaceAll('/', '~1')}`;
    writes.push({ patch: { kind: 'Deployment', name: old.metadata.name, ops: [{ op: 'test', path, value: ms.metadata.name }, { op: 'remove', path }] } });
  }
  const scalesOld = { apiVersion: 'apps/v1', kind: 'Deployment', name: old.metadata.name };
  if (adopted.hpa && ownedByUs(adopted.hpa)) {
    writes.push({ patch: { kind: 'HorizontalPodAutoscaler', name: adopted.hpa.metadata.name, ops: [...release(adopted.hpa), { op: 'replace', path: '/spec/scaleTargetRef', value: scalesOld }] } });
  }
  const selector = (spec.selector as Json | undefined)?.matchLabels;
  if (adopted.service && ownedByUs(adopted.service) && selector) {
    writes.push({ patch: { kind: 'Service', name: adopted.service.metadata.name, ops: [...release(adopted.service), { op: 'replace', path: '/spec/selector', value: selector }] } });
  }

  const status = (old.status ?? {}) as Json;
  const current = (status.observedGeneration ?? 0) >= (old.metadata.generation ?? 0);
  const available: number = current ? status.availableReplicas ?? 0 : 0;
  const deadlineSeconds = (ms.spec as { strategy?: { progressDeadlineSeconds?: number } }).strategy?.progressDeadlineSeconds ?? 600;
  const since = Date.parse(ms.metadata.deletionTimestamp ?? now.toISOString());
  const late = now.getTime() - since > deadlineSeconds * 1000;
  const back = writes.length === 0 && available >= original;
  const message = back
    ? `deployment/${old.metadata.name} is back at ${original} available replicas`
    : late
      ? `deployment/${old.metadata.name} has ${available} of ${original} available replicas ${deadlineSeconds}s after the deletion: let go`
      : `putting deployment/${old.metadata.name} back to ${original} replicas (${available} available) before the Microservice goes`;
  return { writes, done: back || late, message };
}
