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
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { containers?: Array<{ image?: string }>; initContainers?: Array<{ name?: string; restartPolicy?: string }> };
    };
  };
  status?: {
    observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

/** Waiting reasons that mean a container will not come up by itself. */
const FAILING = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

interface ContainerStatusShape {
  name?: string;
  state?: { waiting?: { reason?: string } };
  lastState?: { terminated?: { exitCode?: number } };
}

interface PodShape {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  status?: {
    phase?: string; reason?: string; conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }>;
    initContainerStatuses?: ContainerStatusShape[];
    containerStatuses?: ContainerStatusShape[];
  };
}

/** What the cache keeps of a container's status: its name, why it waits, how it last exited. */
function slimStatus({ name, state, lastState }: ContainerStatusShape): ContainerStatusShape {
  const exitCode = lastState?.terminated?.exitCode;
  return {
    name,
    state: state?.waiting ? { waiting: { reason: state.waiting.reason } } : {},
    ...(exitCode !== undefined ? { lastState: { terminated: { exitCode } } } : {}),
  };
}

/**
 * A pod as the cache keeps it: the fields of PodShape and what identifies it, nothing else. The
 * operator watches every pod it manages, and their spec (volumes, tolerations, the service
 * account's projected token) and most of their status are no reconcile's business.
 */
export function slimPod(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels, annotations, creationTimestamp, deletionTimestamp, ownerReferences } = obj.metadata as KubeObject['metadata'] & { uid?: string; creationTimestamp?: string; deletionTimestamp?: string };
  const st = (obj as unknown as PodShape).status;
  // Its controller (a slot's ReplicaSet, for a pod of ours) tells a pod Coxswain may label from one that only looks like it.
  const controller = ownerReferences?.filter((r) => r.controller);
  // Its restart stamp tells a pod of the slot's template from one of the template before a restart.
  const restartedAt = annotations?.[ANNOTATION_RESTARTED_AT];
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name, namespace, uid, resourceVersion, labels, deletionTimestamp,
      // Its age tells a pod that may still turn Ready from one that has had its time (servingSlot).
      ...(creationTimestamp ? { creationTimestamp } : {}),
      ...(restartedAt ? { annotations: { [ANNOTATION_RESTARTED_AT]: restartedAt } } : {}),
      ...(controller?.length ? { ownerReferences: controller } : {}),
    },
    status: st && {
      phase: st.phase,
      reason: st.reason,
      // Since when a pod is Ready tells when it is available (minReadySeconds).
      conditions: st.conditions?.map(({ type, status, lastTransitionTime }) => (type === 'Ready' && lastTransitionTime ? { type, status, lastTransitionTime } : { type, status })),
      ...(st.initContainerStatuses ? { initContainerStatuses: st.initContainerStatuses.map(slimStatus) } : {}),
      containerStatuses: st.containerStatuses?.map(slimStatus),
    },
  } as KubeObject;
}

interface EndpointSliceShape {
  metadata: { labels?: Record<string, string> };
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }> | null;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** An EndpointSlice as the cache keeps it: its Service, and its endpoints' addresses and readiness. */
export function slimEndpointSlice(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels } = obj.metadata as KubeObject['metadata'] & { uid?: string };
  const endpoints = (obj as unknown as EndpointSliceShape).endpoints ?? [];
  return {
    apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace, uid, resourceVersion, labels },
    endpoints: endpoints.map((e) => ({ addresses: e.addresses ?? [], conditions: { ...(e.conditions?.ready !== undefined ? { ready: e.conditions.ready } : {}) } })),
  } as KubeObject;
}

/**
 * Ready addresses that Service `service` publishes across its EndpointSlices (an unset `ready`
 * counts as ready, as the API says consumers should take it); one address counted once.
 */
export function publishedReady(slices: readonly KubeObject[], service: string): number {
  const ready = new Set<string>();
  for (const s of slices as unknown as EndpointSliceShape[]) {
    if (s.metadata.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) for (const a of e.addresses ?? []) ready.add(a);
  }
  return ready.size;
}

/** A pod that serves: Ready and not terminating. */
export function podReady(obj: KubeObject): boolean {
  const pod = obj as unknown as PodShape;
  return !pod.metadata.deletionTimestamp && !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * When a Ready pod becomes available: once Ready for minReadySeconds, as the Deployment
 * controller counts availableReplicas. Undefined for a pod that is not Ready; at once without
 * minReadySeconds; never (Infinity) for a Ready pod that does not say since when.
 */
export function availableAt(obj: KubeObject, minReadySeconds: number): number | undefined {
  if (!podReady(obj)) return undefined;
  if (minReadySeconds <= 0) return -Infinity;
  const since = (obj as unknown as PodShape).status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const t = since ? Date.parse(since) : NaN;
  return Number.isNaN(t) ? Infinity : t + minReadySeconds * 1000;
}

/**
 * Why a pod is failing, naming the container, or undefined: the pod Failed, or a container of any
 * kind (a sidecar, an init container, the main one) waits for a reason it will not get over by
 * itself (CrashLoopBackOff, ImagePullBackOff, ...). A failing init container holds the pod in
 * Pending; kubelet restarts it with back-off, so it shows as CrashLoopBackOff like any other.
 * `sidecars` are the names of the pod's native sidecars, to call them that.
 */
export function podFailure(obj: KubeObject, sidecars: ReadonlySet<string> = new Set()): string | undefined {
  const pod = obj as unknown as PodShape;
  if (pod.metadata.deletionTimestamp) return undefined;
  if (pod.status?.phase === 'Failed') return pod.status.reason ?? 'Failed';
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []).map((c) => ({ c, kind: c.name && sidecars.has(c.name) ? 'sidecar' : 'init container' })),
    ...(pod.status?.containerStatuses ?? []).map((c) => ({ c, kind: 'container' })),
  ];
  for (const { c, kind } of statuses) {
    const reason = c.state?.waiting?.reason;
    if (!reason || !FAILING.has(reason)) continue;
    const exit = c.lastState?.terminated?.exitCode;
    return `${reason}${c.name ? ` in ${kind} ${c.name}` : ''}${exit ? ` (exit code ${exit})` : ''}`;
  }
  return undefined;
}

/** How a slot's pods are counted: pods count as available once Ready for minReadySeconds at `now`. */
export interface Availability {
  now: Date;
  minReadySeconds: number;
}

/**
 * A slot's state from its Deployment and its pods. In the middle of its own rolling update a
 * slot holds pods of two revisions: only available pods of the Deployment's revision count as its
 * Ready pods, and only they as failing; every Ready pod counts as serving. Of those Ready pods, the
 * ones of its current template (its restart stamp too) are what stays once its own roll is done:
 * while the pods' watch lags, the operator's own write of a restart is in the cache at once, and a
 * pod of the template before it, still shown Ready there, may be gone already.
 */
export function observeSlot(obj: KubeObject, pods: KubeObject[], at: Availability = { now: new Date(0), minReadySeconds: 0 }): ObservedSlot {
  const d = obj as unknown as DeploymentShape;
  const st = d.status ?? {};
  const template = d.spec?.template;
  const revision = template?.metadata?.labels?.[LABEL_REVISION];
  const restartedAt = template?.metadata?.annotations?.[ANNOTATION_RESTARTED_AT];
  const own = pods.filter((p) => p.metadata.labels?.[LABEL_REVISION] === revision);
  const ofTemplate = (p: KubeObject) => (p as unknown as PodShape).metadata.annotations?.[ANNOTATION_RESTARTED_AT] === restartedAt;
  const sidecars = new Set((template?.spec?.initContainers ?? []).flatMap((c) => (c.restartPolicy === 'Always' && c.name ? [c.name] : [])));
  const failures = own.map((p) => podFailure(p, sidecars)).filter((f) => f !== undefined);
  const now = at.now.getTime();
  const ownAvailableAt = own.map((p) => [p, availableAt(p, at.minReadySeconds)] as const);
  const availableAts = ownAvailableAt.map(([, t]) => t).filter((t) => t !== undefined);
  const pending = availableAts.filter((t) => t > now && t < Infinity);
  return {
    revision,
    ...(restartedAt ? { restartedAt } : {}),
    failingPods: failures.length,
    failure: failures[0],
    image: template?.spec?.containers?.[0]?.image,
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: st.replicas ?? 0,
    livePods: pods.filter((p) => !p.metadata.deletionTimestamp).length,
    readyReplicas: availableAts.filter((t) => t <= now).length,
    templateReady: ownAvailableAt.filter(([p, t]) => ofTemplate(p) && (t ?? Infinity) <= now).length,
    ...(pending.length > 0 ? { nextAvailableInMs: Math.min(...pending) - now } : {}),
    servingReplicas: pods.filter(podReady).length,
    startingSince: pods.filter((p) => !p.metadata.deletionTimestamp && !podReady(p) && !podFailure(p, sidecars))
      .map((p) => Date.parse((p as unknown as PodShape).metadata.creationTimestamp ?? '')).filter((t) => !Number.isNaN(t)),
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
