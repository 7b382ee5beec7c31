// What the rollout engine sees of the cluster, and what it decides.
import type { KubeEvent, Microservice, MicroserviceStatus, Slot } from '../api/schema.js';
import type { HeaderRoute, TrafficStatus } from '../api/traffic.js';
import type { AnalysisInput, MeasurementRequest, RunOutcome } from '../analysis/types.js';

/** Something that keeps the Microservice from converging until a person acts. */
export interface Problem {
  reason: string;
  message: string;
}

/** One slot's Deployment as observed, with its pods. */
export interface ObservedSlot {
  /** The revision of the Deployment's pod template. */
  revision?: string;
  /** The restart stamp its pod template carries, if any. */
  restartedAt?: string;
  image?: string;
  /** Desired pods (spec.replicas). */
  replicas: number;
  /** Pods that exist (status.replicas). */
  currentReplicas: number;
  /**
   * Pods of the slot not being deleted, counted from the pods themselves: what status.replicas
   * will say once the ReplicaSet and Deployment controllers have written their status (both leave
   * terminating pods out), known that much sooner. Unset where no pods were looked at.
   */
  livePods?: number;
  /**
   * Available pods of this slot's revision only (Ready, and for spec.minReadySeconds): pods of an
   * older template in the same slot never count.
   */
  readyReplicas: number;
  /**
   * Of readyReplicas, the pods of the Deployment's current template (its restart stamp too): what
   * stays once its own roll is done, however late the pods' watch shows a restart. Unset: readyReplicas.
   */
  templateReady?: number;
  /** A pod of its revision is Ready but not yet available: in this long it will be (a requeue is asked for then). */
  nextAvailableInMs?: number;
  /** Ready pods of any revision in the slot: what a Service selecting the slot sends traffic to. */
  servingReplicas: number;
  /**
   * When each pod of the slot that may yet turn Ready (any revision; not Ready, not failing, not
   * terminating) was created, in ms since the epoch. Unset: no pods were looked at.
   */
  startingSince?: number[];
  /**
   * Ready addresses the slot's Service `<name>-<slot>` publishes in its EndpointSlices: what a
   * gateway can send the slot's weight to. A pod is Ready a moment before its address is
   * published; a weight moved in between meets no backend (503). Unset: not known (no route).
   */
  publishedReady?: number;
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

/** What one slot should be: a revision's template at some size, or (revision unset) only resized. */
export interface SlotPlan {
  replicas: number;
  revision?: string;
  /** The restart stamp to keep on a slot of another revision than the spec's (the spec's gets the plan's). */
  restartedAt?: string;
}

/**
 * What each slot should be and how traffic reaches them. The traffic fields are what a router
 * reads: the Service selector router (render/traffic.ts) turns them into `<name>` and
 * `<name>-preview`; another router (a Gateway API route) reads the same fields.
 */
export interface Plan {
  slots: Partial<Record<Slot, SlotPlan>>;
  /** The slot that serves: `<name>` selects it (undefined: every slot, traffic by replica weight). */
  serviceSlot?: Slot;
  /** The slot behind `<name>-preview`: the candidate while a rollout runs, else the active slot. */
  previewSlot?: Slot;
  /** The revision whose ports `<name>` exposes: the stable one until promotion. */
  servingRevision: string;
  /**
   * Every revision whose pods `<name>` may select now (the slots it selects that have pods or
   * are to have them): it targets ports those pods have too, and the NetworkPolicy admits theirs.
   */
  selectedRevisions?: string[];
  /** The revision behind `<name>-preview`. */
  previewRevision: string;
  /** The candidate's share of traffic the current step asks for, in percent. */
  weight: number;
  /** Pause the slot Deployments' own rollout (RollingUpdate with spec.paused). */
  pauseDeployments?: boolean;
  /** The restart action's time, stamped on the desired revision's pods so they restart. */
  restartedAt?: string;
  /** With spec.traffic.gateway: what the HTTPRoute says (see rollout/traffic.ts). */
  route?: RoutePlan;
}

/** What the parents say of the route's current generation. */
export interface Acceptance {
  /** Accepted: every parent, at the current generation. Refused: some parent said no to it. */
  state: 'Accepted' | 'Pending' | 'Refused';
  /** Per parent, what it said (or that it has not answered yet). */
  message: string;
  /** Some parent has accepted some generation: the route has carried traffic. */
  everAccepted: boolean;
}

/** A header route as the live route has it, with the slot it sends to. */
export interface LiveHeaderRoute extends HeaderRoute {
  slot?: Slot;
}

/** The live HTTPRoute `<name>` as read back. */
export interface ObservedRoute {
  generation: number;
  /** The weighted rule's weight per slot. */
  weights: Partial<Record<Slot, number>>;
  headers: LiveHeaderRoute[];
  acceptance: Acceptance;
}

/** The HTTPRoute `<name>` a plan asks for: `weight` percent to the candidate slot, the rest to `stable`. */
export interface RoutePlan {
  /** The slot the route's remaining weight goes to, and `<name>` selects. */
  stable: Slot;
  /** The other slot's share, in percent: exact, whatever the number of pods. */
  weight: number;
  /** Requests that match go to the other slot (the candidate) at any weight. */
  headers: HeaderRoute[];
}

export type RolloutStatus = NonNullable<MicroserviceStatus['rollout']>;
export type LastAction = NonNullable<MicroserviceStatus['lastAction']>;
export type EngineEvent = KubeEvent;

export interface EngineInput {
  ms: Microservice;
  observed: ObservedSlots;
  desiredRevision: string;
  now: Date;
  /**
   * Revisions whose template is kept (ControllerRevisions, and the spec's own): a slot can be
   * rebuilt from them. Unset: the spec's and the stable one.
   */
  kept?: ReadonlySet<string>;
  /**
   * `<name>`, on the stable revision's ports, reaches the candidate's pods (false: a port changed
   * in both name and number). Unset: yes.
   */
  reachable?: boolean;
  /** The slot the live `<name>` Service selects; 'all' when it selects every slot; unset when there is none. */
  servedSlot?: Slot | 'all';
  /** An action from the coxswain.dev/action annotation; one already done (same id) is ignored. */
  action?: { action: string; arg?: string; id: string };
  /** With spec.traffic.gateway: the live HTTPRoute `<name>`, if it exists. */
  route?: ObservedRoute;
  /** The metrics analyses may use, and the measurements that came back since the last pass. */
  analysis?: AnalysisInput;
  /**
   * The API server refused one of the desired revision's own objects (its ConfigMap, its
   * ControllerRevision), and why: a revision that is not stable yet gets no pods and cannot be
   * promoted while it is so. Unset: they are in place.
   */
  refused?: Problem;
}

export interface Decision {
  plan: Plan;
  activeSlot: Slot;
  stableRevision?: string;
  rollout?: RolloutStatus;
  /** Why the rollout waits for a person (a pause step, promotion, a pause), if it does. */
  waiting?: string;
  problem?: Problem;
  /** A rollout is under way: a candidate coming up, or the previous slot still draining. */
  inProgress: boolean;
  lastAction?: LastAction;
  restartedAt?: string;
  requeueAfterMs?: number;
  events: EngineEvent[];
  /** With spec.traffic.gateway: status.traffic. */
  traffic?: TrafficStatus;
  /** Measurements due now: the shell takes them, and hands the results to a later pass. */
  measurements?: MeasurementRequest[];
  /** Measurements folded into status on this pass. */
  measured?: RunOutcome['measured'];
}

/** One decision in the making: the input, the previous status, and what is decided so far. */
export type Ctx = EngineInput & {
  kept: ReadonlySet<string>;
  prev: MicroserviceStatus;
  total: number;
  /** Most pods above total in all (the strategy's maxSurge). */
  surge: number;
  /** Fewest Ready pods that must serve (total less the strategy's maxUnavailable). */
  floor: number;
  decision: Decision;
  rollout: RolloutStatus;
};
