// Pure planning: which slot serves and how big each slot should be.
import type { Microservice, Slot } from '../api/schema.js';
import { otherSlot } from '../render/meta.js';
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

export type Resize = { slot: Slot; replicas: number };

/**
 * The resizes that change something, split around the applies so that the slots' total never
 * passes the cap between two writes: shrinking slots first, then the applied Deployment (the
 * candidate, which may grow), then growing slots. The engine's plans have one applied slot at most.
 */
export function orderResizes(resize: Resize[], observed: ObservedSlots): { before: Resize[]; after: Resize[] } {
  const delta = (r: Resize) => r.replicas - (observed[r.slot]?.replicas ?? r.replicas);
  return { before: resize.filter((r) => delta(r) < 0), after: resize.filter((r) => delta(r) > 0) };
}
