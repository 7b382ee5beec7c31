// A Gateway controller for the engine's tests: it holds the live HTTPRoute as the engine reads it
// back, bumps its generation when the plan's route differs, and answers each generation as told
// (accept it, refuse it, or say nothing), as a controller writes status.parents.
import type { MicroserviceSpecInput, MicroserviceStatus } from '../../src/api/schema.js';
import { otherSlot } from '../../src/api/names.js';
import { routeSays, weightsOf, type ObservedRoute } from '../../src/rollout/traffic.js';
import type { RoutePlan } from '../../src/rollout/types.js';
import { Cluster, prng, type Reconciled, Sim } from './cluster.js';
import { microservice } from './fixtures.js';
import { T0 } from './engine.js';

export type Answer = 'accept' | 'refuse' | 'silent';

export class Gateway {
  live?: ObservedRoute;
  /** How the next generations are answered. */
  answer: Answer = 'accept';
  /** Generations written, in order, with the route each carried. */
  readonly history: Array<{ generation: number; route: RoutePlan }> = [];
  private ever = false;

  /** The operator applies the plan's route: a new generation when it says something else. */
  apply(route: RoutePlan | undefined): void {
    if (!route || (this.live && routeSays(this.live, route))) return;
    const generation = (this.live?.generation ?? 0) + 1;
    this.history.push({ generation, route });
    const candidate = otherSlot(route.stable);
    this.live = {
      generation,
      weights: weightsOf(route),
      headers: route.headers.map((h) => ({ ...h, slot: candidate })),
      acceptance: { state: 'Pending', message: `Gateway gateways/public: not yet accepted generation ${generation}`, everAccepted: this.ever },
    };
  }

  /** The controller looks at the current generation. */
  tick(): void {
    if (!this.live || this.live.acceptance.state !== 'Pending' || this.answer === 'silent') return;
    if (this.answer === 'accept') this.ever = true;
    this.live = {
      ...this.live,
      acceptance: this.answer === 'accept'
        ? { state: 'Accepted', message: 'Gateway gateways/public: accepted', everAccepted: true }
        // As a controller does, the refusal replaces the parent's Accepted=True: the route's status no longer says it was ever accepted.
        : { state: 'Refused', message: 'Gateway gateways/public: NotAllowedByListeners: no listener allows routes from this namespace', everAccepted: false },
    };
  }
}

/** A canary with a route on a simulated cluster and Gateway, from revision r1 stable in blue to r2. */
export function startRouted(spec: MicroserviceSpecInput, seed = 1, status: MicroserviceStatus = {}) {
  const rand = prng(seed);
  const cluster = new Cluster(rand, { progress: true }).seed('blue', 'r1', spec.replicas ?? 1);
  const gateway = new Gateway();
  gateway.apply({ stable: 'blue', weight: 0, headers: [] });
  gateway.tick();
  const ms = microservice(spec, {}, { stableRevision: 'r1', desiredRevision: 'r1', activeSlot: 'blue', ...status });
  return { sim: new Sim(ms, cluster, 'r2', T0, gateway), gateway, rand };
}

/** Reconciles and moves on a second at a time until `done`, checking `each` on every pass. */
export function runSim(sim: Sim, until: (r: Reconciled) => boolean, each: (r: Reconciled) => void = () => {}, max = 300): Reconciled | undefined {
  for (let t = 0; t < max; t++) {
    const r = sim.reconcile();
    each(r);
    if (until(r)) return r;
    sim.advance(r.decision.plan, 1000);
  }
  return undefined;
}
