// Reading a slot's state off its Deployment, and which slot the live Service serves.
import type { Slot } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { ANNOTATION_RESTARTED_AT, LABEL_REVISION, LABEL_SLOT, SLOTS } from '../api/names.js';
import type { ObservedSlot } from './types.js';

/** The slot a live Service selects: one slot, 'all' when it selects every slot, undefined when there is no Service. */
export function servedSlotOf(service: KubeObject | undefined): Slot | 'all' | undefined {
  if (!service) return undefined;
  const slot = (service as { spec?: { selector?: Record<string, string> } }).spec?.selector?.[LABEL_SLOT];
  return SLOTS.find((s) => s === slot) ?? 'all';
}

interface DeploymentShape {
  metadata: { generation?: number };
  spec?: { replicas?: number; template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { containers?: Array<{ image?: string }> } } };
  status?: {
    observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

/** Waiting reasons that mean a container will not come up by itself. */
const FAILING = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

interface PodShape {
  metadata: { labels?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string; reason?: string; conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }>;
  };
}

/**
 * A pod as the cache keeps it: the fields of PodShape and what identifies it, nothing else. The
 * operator watches every pod it manages, and their spec (volumes, tolerations, the service
 * account's projected token) and most of their status are no reconcile's business.
 */
export function slimPod(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels, deletionTimestamp } = obj.metadata as KubeObject['metadata'] & { uid?: string; deletionTimestamp?: string };
  const st = (obj as unknown as PodShape).status;
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name, namespace, uid, resourceVersion, labels, deletionTimestamp },
    status: st && {
      phase: st.phase,
      reason: st.reason,
      conditions: st.conditions?.map(({ type, status }) => ({ type, status })),
      containerStatuses: st.containerStatuses?.map(({ state }) => ({ state: state?.waiting ? { waiting: { reason: state.waiting.reason } } : {} })),
    },
  } as KubeObject;
}

/** A pod that serves: Ready and not terminating. */
export function podReady(obj: KubeObject): boolean {
  const pod = obj as unknown as PodShape;
  return !pod.metadata.deletionTimestamp && !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why a pod is failing (Failed, or a container stuck in CrashLoopBackOff and the like), or undefined. */
export function podFailure(obj: KubeObject): string | undefined {
  const pod = obj as unknown as PodShape;
  if (pod.metadata.deletionTimestamp) return undefined;
  if (pod.status?.phase === 'Failed') return pod.status.reason ?? 'Failed';
  for (const c of pod.status?.containerStatuses ?? []) {
    const reason = c.state?.waiting?.reason;
    if (reason && FAILING.has(reason)) return reason;
  }
  return undefined;
}

/**
 * A slot's state from its Deployment and its pods. In the middle of its own rolling update a
 * slot holds pods of two revisions: only Ready pods of the Deployment's revision count as its
 * Ready pods, and only they as failing; every Ready pod counts as serving.
 */
export function observeSlot(obj: KubeObject, pods: KubeObject[]): ObservedSlot {
  const d = obj as unknown as DeploymentShape;
  const st = d.status ?? {};
  const revision = d.spec?.template?.metadata?.labels?.[LABEL_REVISION];
  const own = pods.filter((p) => p.metadata.labels?.[LABEL_REVISION] === revision);
  const failures = own.map(podFailure).filter((f) => f !== undefined);
  const restartedAt = d.spec?.template?.metadata?.annotations?.[ANNOTATION_RESTARTED_AT];
  return {
    revision,
    ...(restartedAt ? { restartedAt } : {}),
    failingPods: failures.length,
    failure: failures[0],
    image: d.spec?.template?.spec?.containers?.[0]?.image,
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: st.replicas ?? 0,
    livePods: pods.filter((p) => !p.metadata.deletionTimestamp).length,
    readyReplicas: own.filter(podReady).length,
    servingReplicas: pods.filter(podReady).length,
    updatedReplicas: st.updatedReplicas ?? 0,
    availableReplicas: st.availableReplicas ?? 0,
    settled: (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0),
    deadlineExceeded: !!st.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded'),
  };
}

/** ConfigMaps a pod template refers to (volumes and envFrom), so they are not deleted while in use. */
export function configMapsReferenced(obj: KubeObject): string[] {
  const spec = (obj as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template?.spec ?? {};
  const names: string[] = [];
  for (const v of (spec.volumes as Array<{ configMap?: { name?: string } }> | undefined) ?? []) if (v.configMap?.name) names.push(v.configMap.name);
  for (const c of (spec.containers as Array<{ envFrom?: Array<{ configMapRef?: { name?: string } }> }> | undefined) ?? []) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) names.push(e.configMapRef.name);
  }
  return names;
}
