// Pure planning: which slot serves and how big each slot should be.
import type { Microservice, Slot } from '../api/schema.js';
import type { Rendered, Resize } from '../render/index.js';
import { type KubeObject } from '../kube/object.js';
import { otherSlot } from '../api/names.js';
import type { ObservedSlots, Plan } from './types.js';

/**
 * The slot that serves. status.activeSlot says so once it is written; before that (a new
 * Microservice, or status lost) the slot that already holds pods, else blue.
 */
export function activeSlotOf(ms: Microservice, observed: ObservedSlots): Slot {
  if (ms.status?.activeSlot) return ms.status.activeSlot;
  if (!observed.blue && observed.green) return 'green';
  if ((observed.blue?.replicas ?? 0) === 0 && (observed.green?.replicas ?? 0) > 0) return 'green';
  return 'blue';
}

/**
 * RollingUpdate: the active slot's Deployment rolls natively to the current spec at full size.
 * An idle slot left by an earlier strategy keeps its revision at zero pods, as a rollback target.
 */
export function planRollingUpdate(ms: Microservice, active: Slot, observed: ObservedSlots): Plan {
  const idle = otherSlot(active);
  const plan: Plan = { slots: { [active]: { replicas: ms.spec.replicas, template: 'current' } } };
  if (observed[idle]) plan.slots[idle] = { replicas: 0, template: 'keep' };
  return plan;
}

export type Write = { apply: KubeObject } | { resize: Resize };

/**
 * A reconcile's writes, in an order that keeps traffic and the surge cap safe between any two:
 * Services first (the engine points one at a slot only once it has Ready pods), so no slot shrinks
 * while selected; then shrinking slots; the other objects (the candidate's Deployment may grow:
 * the engine's plans apply one slot at most); and growing slots. Resizes that change nothing, or
 * of slots that do not exist, are left out.
 */
export function writeOrder({ objects, resize }: Rendered, observed: ObservedSlots): Write[] {
  const delta = (r: Resize) => r.replicas - (observed[r.slot]?.replicas ?? r.replicas);
  const isService = (o: KubeObject) => o.kind === 'Service';
  return [
    ...objects.filter(isService).map((apply) => ({ apply })),
    ...resize.filter((r) => delta(r) < 0).map((r) => ({ resize: r })),
    ...objects.filter((o) => !isService(o)).map((apply) => ({ apply })),
    ...resize.filter((r) => delta(r) > 0).map((r) => ({ resize: r })),
  ];
}
