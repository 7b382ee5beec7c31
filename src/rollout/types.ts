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
  /** Pods of this slot's revision that failed or crash-loop, and why (e.g. CrashLoopBackOff). */
  failingPods: number;
  failure?: string;
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
  /** Pause the slot Deployments' own rollout (RollingUpdate with spec.paused). */
  pauseDeployments?: boolean;
  /** The restart action's time, stamped on the serving pods' template so they restart. */
  restartedAt?: string;
}
