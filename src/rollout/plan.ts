// Pure planning around the engine: which slot serves, and the order of a reconcile's writes.
import type { Microservice, Slot } from '../api/schema.js';
import { SLOTS } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import type { Rendered, Resize } from '../render/index.js';
import type { ObservedSlots } from './types.js';

/**
 * The slot that serves. status.activeSlot says so once it is written; before that (a new
 * Microservice, or status lost) the one slot that holds the stable revision, else the slot that
 * already holds pods, else blue.
 */
export function activeSlotOf(ms: Microservice, observed: ObservedSlots): Slot {
  if (ms.status?.activeSlot) return ms.status.activeSlot;
  const stable = ms.status?.stableRevision;
  const holding = SLOTS.filter((s) => stable !== undefined && observed[s]?.revision === stable);
  if (holding.length === 1) return holding[0]!;
  if (!observed.blue && observed.green) return 'green';
  if ((observed.blue?.replicas ?? 0) === 0 && (observed.green?.replicas ?? 0) > 0) return 'green';
  return 'blue';
}

export type Write = { apply: KubeObject } | { resize: Resize };

/**
 * A reconcile's writes, in an order that keeps traffic and the surge cap safe between any two:
 * Services and HTTPRoutes first (the engine points one at a slot only once it has Ready pods), so
 * no slot shrinks while selected; then shrinking slots; the other objects; and growing slots last. A slot
 * Deployment applied whole counts as shrinking or growing by its replicas. Resizes that change
 * nothing, or of slots that do not exist, are left out.
 */
export function writeOrder({ objects, resize }: Rendered, observed: ObservedSlots): Write[] {
  const name = (o: KubeObject) => o.metadata.name;
  const slotOf = (o: KubeObject) => (o.kind === 'Deployment' ? SLOTS.find((s) => name(o).endsWith(`-${s}`)) : undefined);
  const delta = (slot: Slot | undefined, replicas: number) => (slot ? replicas - (observed[slot]?.replicas ?? replicas) : 0);
  const applyDelta = (o: KubeObject) => delta(slotOf(o), (o.spec as { replicas?: number } | undefined)?.replicas ?? 0);
  const resizeDelta = (r: Resize) => (observed[r.slot] ? delta(r.slot, r.replicas) : 0);
  // What routes traffic goes first: Services, then the HTTPRoutes whose backends they are.
  const isService = (o: KubeObject) => o.kind === 'Service' || o.kind === 'HTTPRoute';
  const others = objects.filter((o) => !isService(o));
  return [
    ...objects.filter(isService).map((apply) => ({ apply })),
    ...resize.filter((r) => resizeDelta(r) < 0).map((r) => ({ resize: r })),
    ...others.filter((o) => applyDelta(o) < 0).map((apply) => ({ apply })),
    ...others.filter((o) => applyDelta(o) === 0).map((apply) => ({ apply })),
    ...others.filter((o) => applyDelta(o) > 0).map((apply) => ({ apply })),
    ...resize.filter((r) => resizeDelta(r) > 0).map((r) => ({ resize: r })),
  ];
}
