// What the rollout engine sees of the cluster, and what it decides.
import type { Slot } from '../api/schema.js';

/** One slot's Deployment as observed. */
export interface ObservedSlot {
  revision?: string;
  image?: string;
  /** Desired pods (spec.replicas). */
  replicas: number;
  /** Pods that exist (status.replicas). */
  currentReplicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  /** The Deployment controller has seen its latest spec. */
  settled: boolean;
  /** Deployment condition Progressing=False with reason ProgressDeadlineExceeded. */
  deadlineExceeded: boolean;
}

export type ObservedSlots = Partial<Record<Slot, ObservedSlot>>;

/** What one slot should be: the current spec at some size, or kept as it is, only resized. */
export interface SlotPlan {
  replicas: number;
  template: 'current' | 'keep';
}

export interface Plan {
  slots: Partial<Record<Slot, SlotPlan>>;
  /** The slot that serves: `<name>` selects it (undefined: every slot). */
  serviceSlot?: Slot;
  /** The candidate slot behind `<name>-preview` (undefined: no preview Service). */
  previewSlot?: Slot;
}
