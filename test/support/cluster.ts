// A crude cluster for property tests of the rollout engine. Two slot Deployments whose pods move
// toward what the engine planned, one tick at a time, with Readiness decided by a seeded coin;
// and the reconcile loop around `decide` as the controller runs it (decide, then write status).
import type { Microservice, MicroserviceStatus, Slot } from '../../src/api/schema.js';
import { SLOTS } from '../../src/api/names.js';
import { decide, type Decision, type EngineInput } from '../../src/rollout/engine.js';
import { statusAfter } from '../../src/controller/core.js';
import type { ObservedSlots, Plan } from '../../src/rollout/types.js';
import type { Gateway } from './gateway.js';

export { prng } from './prng.js';

export interface PodBehaviour {
  /** Pods of these revisions never become Ready (a bad readiness probe). */
  neverReady?: ReadonlySet<string>;
  /** Pods of these revisions crash-loop: never Ready, and reported as failing. */
  failing?: ReadonlySet<string>;
  /** Each tick at least one pending pod of a good revision becomes Ready; otherwise any number may, none included. */
  progress?: boolean;
  /**
   * A Ready pod's address reaches its slot Service's EndpointSlice two ticks after it became Ready
   * (the EndpointSlice controller lags the kubelet); with this set the operator watches them
   * (ObservedSlot.publishedReady), as production does; unset, it does not see them.
   */
  publishLag?: { watched: boolean };
}

export interface SimSlot {
  revision: string;
  /** The Deployment's spec.replicas. */
  replicas: number;
  /** Pods that exist. */
  pods: number;
  ready: number;
  /** The Deployment controller has seen the latest spec. */
  settled: boolean;
  /** Ready addresses in the slot Service's EndpointSlices (with publishLag): what a gateway can reach. */
  published?: number;
  /** Ready pods as the EndpointSlice controller saw them at the last tick: published at the next. */
  seen?: number;
}

export class Cluster {
  readonly slots: Partial<Record<Slot, SimSlot>> = {};

  constructor(private readonly rand: () => number, readonly behaviour: PodBehaviour = {}) {}

  /** A slot Deployment already running `revision` at `replicas` pods, every one Ready. */
  seed(slot: Slot, revision: string, replicas: number): this {
    this.slots[slot] = { revision, replicas, pods: replicas, ready: replicas, settled: true, published: replicas, seen: replicas };
    return this;
  }

  observe(): ObservedSlots {
    const out: ObservedSlots = {};
    for (const slot of SLOTS) {
      const s = this.slots[slot];
      if (!s) continue;
      const failingPods = this.behaviour.failing?.has(s.revision) ? s.pods - s.ready : 0;
      out[slot] = {
        revision: s.revision,
        image: `registry.example/orders:${s.revision}`,
        replicas: s.replicas,
        currentReplicas: s.pods,
        readyReplicas: s.ready,
        servingReplicas: s.ready,
        updatedReplicas: s.pods,
        availableReplicas: s.ready,
        settled: s.settled,
        deadlineExceeded: false,
        failingPods,
        ...(failingPods > 0 ? { failure: 'CrashLoopBackOff' } : {}),
        ...(this.behaviour.publishLag?.watched ? { publishedReady: s.published ?? 0 } : {}),
      };
    }
    return out;
  }

  /**
   * What the reconciler does with a plan: a slot given a revision gets it (created if missing; its
   * old pods replaced); a slot given none is only resized, and only if it exists.
   */
  apply(plan: Plan): void {
    for (const slot of SLOTS) {
      const p = plan.slots[slot];
      if (!p) continue;
      let s = this.slots[slot];
      if (p.revision !== undefined) {
        if (!s) s = this.slots[slot] = { revision: p.revision, replicas: p.replicas, pods: 0, ready: 0, settled: false };
        if (s.revision !== p.revision) Object.assign(s, { revision: p.revision, pods: 0, ready: 0, settled: false, published: 0, seen: 0 });
      }
      if (s && s.replicas !== p.replicas) Object.assign(s, { replicas: p.replicas, settled: false });
    }
  }

  /** The Deployment controller and the kubelets, one step: pods are removed or created, and some become Ready. */
  tick(): void {
    for (const s of Object.values(this.slots)) {
      // The EndpointSlice controller publishes the Ready pods it saw a tick ago; a pod gone is gone from it at once.
      s.published = Math.min(s.seen ?? s.ready, s.ready, s.pods);
      s.seen = s.ready;
      if (!s.settled && this.rand() < 0.3) continue; // the Deployment controller has not caught up yet
      s.settled = true;
      s.pods = s.replicas;
      s.ready = Math.min(s.ready, s.pods);
      s.published = Math.min(s.published, s.ready);
      const pending = s.pods - s.ready;
      if (pending === 0 || this.behaviour.neverReady?.has(s.revision) || this.behaviour.failing?.has(s.revision)) continue;
      s.ready += this.behaviour.progress ? 1 + Math.floor(this.rand() * pending) : Math.floor(this.rand() * (pending + 1));
    }
  }
}

export interface Reconciled {
  input: EngineInput;
  decision: Decision;
  status: MicroserviceStatus;
}

/** One reconcile of the engine as the controller runs it: decide, then the status the core would write. */
export function reconcileOnce(input: EngineInput): Reconciled {
  const decision = decide(input);
  return { input, decision, status: statusAfter(input, decision) };
}

/** A Microservice, its slots and a clock, reconciled and moved forward a tick at a time. */
export class Sim {
  /** The slot the Service selects, as the last reconcile left it. */
  servedSlot?: Slot;

  constructor(public ms: Microservice, readonly cluster: Cluster, public desiredRevision: string, public now: Date, readonly gateway?: Gateway) {}

  /** Reconciles once and keeps the status written, and the Service as it applied it. */
  reconcile(action?: { action: string; id: string }): Reconciled {
    const r = reconcileOnce({
      ms: this.ms, observed: this.cluster.observe(), desiredRevision: this.desiredRevision, now: this.now, servedSlot: this.servedSlot, ...(action ? { action } : {}),
      ...(this.gateway?.live ? { route: this.gateway.live } : {}),
    });
    this.ms = { ...this.ms, status: r.status };
    // With a route, `<name>` selects the route's stable slot (render/gateway.ts), as production reads it back.
    this.servedSlot = r.decision.plan.serviceSlot ?? (this.gateway ? r.decision.plan.route?.stable : undefined);
    return r;
  }

  /** The cluster moves toward the plan, and `ms` pass. */
  advance(plan: Plan, ms: number): void {
    // The route goes with the Services, before the slots (writeOrder), and its controller answers as the pods move.
    this.gateway?.apply(plan.route);
    this.cluster.apply(plan);
    this.cluster.tick();
    this.gateway?.tick();
    this.now = new Date(this.now.getTime() + ms);
  }

  /** What an HPA or `kubectl scale` does: spec.replicas through the /scale subresource. */
  scale(replicas: number): void {
    this.ms = { ...this.ms, spec: { ...this.ms.spec, replicas } };
  }
}
