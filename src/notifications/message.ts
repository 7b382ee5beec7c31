// One notification per transition, pure: everything a receiver needs in one flat record, and an
// id that is the same whenever the same transition is told again, so a receiver can dedupe.
import { createHash } from 'node:crypto';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { SEVERITY, type Severity, type Transition, type TransitionType, transitionsOf } from './transitions.js';

export interface Notification {
  /** Deterministic: the Microservice's uid, generation, last action, revision, transition and step. */
  id: string;
  type: TransitionType;
  severity: Severity;
  cluster: string;
  namespace: string;
  name: string;
  revision: string;
  stableRevision?: string;
  /** The images of the spec's revision: the main container's first, then sidecars and init containers. */
  images: string[];
  strategy: string;
  step?: number;
  steps?: number;
  weight?: number;
  reason: string;
  /** When the status write that recorded it was made (RFC 3339). */
  time: string;
}

/** The images a revision runs, main container first. */
export function imagesOf(ms: MicroserviceObject): string[] {
  const spec = ms.spec as { image?: string; sidecars?: { image?: string }[]; initContainers?: { image?: string }[] };
  const all = [spec.image, ...(spec.sidecars ?? []).map((c) => c.image), ...(spec.initContainers ?? []).map((c) => c.image)];
  return [...new Set(all.filter((i): i is string => !!i))];
}

/**
 * The id of a transition: what identifies it, hashed. The generation and the last action's id tell
 * a second rollout of the same revision (reverted and re-applied, or retried) from a resend.
 */
export function notificationId(ms: MicroserviceObject, after: MicroserviceStatus, t: Transition): string {
  const parts = [ms.metadata.uid ?? `${ms.metadata.namespace}/${ms.metadata.name}`, after.observedGeneration ?? '', after.lastAction?.id ?? '', t.revision, t.type, after.rollout?.step ?? ''];
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The notifications a status write records: `before` as read, `after` as written. */
export function notificationsOf(ms: MicroserviceObject, before: MicroserviceStatus | undefined, after: MicroserviceStatus, cluster: string, now: Date): Notification[] {
  const r = after.rollout;
  return transitionsOf(before, after).map((t) => ({
    id: notificationId(ms, after, t),
    type: t.type,
    severity: SEVERITY[t.type],
    cluster,
    namespace: ms.metadata.namespace ?? '',
    name: ms.metadata.name,
    revision: t.revision,
    ...(after.stableRevision ? { stableRevision: after.stableRevision } : {}),
    images: imagesOf(ms),
    strategy: r?.strategy ?? (ms.spec as { strategy?: { type?: string } }).strategy?.type ?? 'RollingUpdate',
    ...(r?.step !== undefined ? { step: r.step } : {}),
    ...(r?.steps !== undefined ? { steps: r.steps } : {}),
    ...(r?.weight !== undefined ? { weight: r.weight } : {}),
    reason: t.reason,
    time: now.toISOString(),
  }));
}

/** A one-line summary, the same in every format. */
export function headline(n: Notification): string {
  const what: Record<TransitionType, string> = {
    started: 'rollout started',
    stepReached: `reached step ${n.step ?? '?'}/${n.steps ?? '?'}`,
    paused: 'paused, waiting for promotion',
    promoted: 'promoted',
    completed: 'rollout completed',
    aborted: 'rollout aborted',
    analysisFailed: 'analysis failed',
    rolledBack: 'rolled back',
  };
  return `[${n.cluster}] ${n.namespace}/${n.name}: ${what[n.type]} (revision ${n.revision})`;
}
