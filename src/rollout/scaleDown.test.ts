// The canary's scale-down delay after an abort or an undo, and the handover rules around it, on
// the simulated cluster and Gateway (test/support): a slot loses no Ready pod while the route its
// parents last accepted sends it traffic (but the stable slot's shrink to its share at a step,
// under a live route), and none for scaleDownDelaySeconds after the traffic left it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput, Slot } from '../api/schema.js';
import { SLOTS } from '../api/names.js';
import { Cluster, prng, Sim, type Reconciled } from '../../test/support/cluster.js';
import { microservice } from '../../test/support/fixtures.js';
import { T0 } from '../../test/support/engine.js';
import { Gateway, runSim as run, startRouted as start } from '../../test/support/gateway.js';
import { decide } from './engine.js';
import { routeLive } from './traffic.js';
import type { ObservedRoute } from './types.js';

const GATEWAY = { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'] };
const routed = (steps: unknown[], canary: Record<string, unknown> = {}): MicroserviceSpecInput => ({
  image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: GATEWAY },
  strategy: { type: 'Canary', canary: { steps: steps as never, maxSurge: 1, maxUnavailable: 0, ...canary }, progressDeadlineSeconds: 60 },
});
const seconds = (sim: Sim, from: number) => (sim.now.getTime() - from) / 1000;
/** The route sends `slot` traffic: a weight, or a header route. */
const sends = (route: ObservedRoute | undefined, slot: Slot) => (route?.weights[slot] ?? 0) > 0 || !!route?.headers.some((h) => h.slot === slot);

describe('the scale-down delay after an abort', () => {
  it('keeps the aborted candidate\'s pods 30 s by default from the pass that sees the route back accepted, then lets them go', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }]));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    expect(sim.cluster.slots.green).toMatchObject({ replicas: 2, ready: 2 });
    gateway.answer = 'silent';
    sim.reconcile({ action: 'abort', id: 'a1' });
    // Not accepted yet: the candidate keeps its pods, and no delay runs.
    const waiting = run(sim, () => false, (r) => {
      expect(r.decision.plan.slots.green?.replicas).toBe(2);
      expect(r.status.rollout?.scaleDownAt).toBeUndefined();
    }, 5);
    expect(waiting).toBeUndefined();
    gateway.answer = 'accept';
    const armed = run(sim, (r) => r.status.rollout?.scaleDownAt !== undefined)!;
    expect(gateway.live).toMatchObject({ weights: { blue: 100, green: 0 }, acceptance: { state: 'Accepted' } });
    const from = sim.now.getTime();
    expect(armed.status.rollout!.scaleDownAt).toBe(new Date(from + 30_000).toISOString());
    expect(armed.decision.requeueAfterMs).toBe(30_000);
    const gone = run(sim, (r) => r.decision.plan.slots.green?.replicas === 0, (r) => {
      if (r.decision.plan.slots.green?.replicas === 0) return;
      expect(r.decision.plan.slots.green?.replicas).toBe(2);
      expect(r.decision.problem?.reason).toBe('RolloutAborted');
    });
    expect(seconds(sim, from)).toBe(30);
    // The delay ran once: with the pods gone, nothing holds the slot again.
    expect(gone!.status.rollout?.scaleDownAt).toBe(armed.status.rollout!.scaleDownAt);
    sim.advance(gone!.decision.plan, 1000);
    expect(sim.reconcile().decision.plan.slots.green?.replicas).toBe(0);
  });

  it('keeps it after an abort by a failure too, and resumes the delay from status after a restart', () => {
    const { sim } = start(routed([{ setWeight: 50 }, { pause: {} }], { scaleDownDelaySeconds: 10 }));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    // The candidate's pods turn unready and keep failing: an abort by failure.
    sim.cluster.behaviour.failing = new Set(['r2']);
    Object.assign(sim.cluster.slots.green!, { ready: 1 });
    const armed = run(sim, (r) => r.status.rollout?.scaleDownAt !== undefined)!;
    expect(armed.status.rollout?.abortedRevision).toBe('r2');
    // Its one Ready pod is kept (the failing one serves nothing and has nothing to finish).
    expect(armed.decision.plan.slots.green?.replicas).toBe(1);
    // A fresh operator 5 s later: the same delay, from status.
    const later = new Date(sim.now.getTime() + 5_000);
    const fresh = decide({ ...armed.input, ms: sim.ms, now: later });
    expect(fresh.plan.slots.green?.replicas).toBe(1);
    expect(fresh.rollout?.scaleDownAt).toBe(armed.status.rollout!.scaleDownAt);
    expect(fresh.requeueAfterMs).toBe(5_000);
    expect(decide({ ...armed.input, ms: sim.ms, now: new Date(sim.now.getTime() + 10_000) }).plan.slots.green?.replicas).toBe(0);
  });

  it('lets the candidate go once the route back is accepted with scaleDownDelaySeconds: 0', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }], { scaleDownDelaySeconds: 0 }));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    sim.reconcile({ action: 'abort', id: 'a1' });
    const gone = run(sim, (r) => r.decision.plan.slots.green?.replicas === 0)!;
    expect(gone.status.rollout?.scaleDownAt).toBeUndefined();
    expect(gateway.live?.weights).toEqual({ blue: 100, green: 0 });
  });

  it('by replica weights, keeps the candidate\'s pods for the delay the spec gives from the pass <name> selects the stable slot alone', () => {
    const spec: MicroserviceSpecInput = {
      image: 'registry.example/orders:2', replicas: 4,
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 2, maxUnavailable: 0, scaleDownDelaySeconds: 10 } },
    };
    const cluster = new Cluster(prng(3), { progress: true }).seed('blue', 'r1', 4);
    const sim = new Sim(microservice(spec, {}, { stableRevision: 'r1', desiredRevision: 'r1', activeSlot: 'blue' }), cluster, 'r2', T0);
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    expect(cluster.slots.green).toMatchObject({ replicas: 2, ready: 2 });
    sim.reconcile({ action: 'abort', id: 'a1' });
    const armed = run(sim, (r) => r.status.rollout?.scaleDownAt !== undefined)!;
    expect(armed.decision.plan.serviceSlot).toBe('blue');
    // (It drained as blue filled, as a replica-weight canary's candidate does; what it still has is kept.)
    expect(armed.decision.plan.slots.green?.replicas).toBeGreaterThan(0);
    const from = sim.now.getTime();
    run(sim, (r) => r.decision.plan.slots.green?.replicas === 0);
    expect(seconds(sim, from)).toBe(10);
  });
});

describe('the scale-down delay after an undo', () => {
  it('keeps the undone revision\'s pods for the delay after the route back to the previous slot is accepted', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }], { scaleDownDelaySeconds: 3 }));
    // Past the promotion's delay: blue, at 0, comes back for the undo.
    expect(run(sim, (r) => r.status.stableRevision === 'r2' && r.decision.plan.slots.blue?.replicas === 0 && sim.cluster.slots.blue?.pods === 0)).toBeDefined();
    sim.reconcile({ action: 'undo', id: 'u1' });
    let lastToGreen = -Infinity;
    const gone = run(sim, (r) => r.decision.plan.slots.green?.replicas === 0, () => {
      if (sends(gateway.live, 'green')) lastToGreen = sim.now.getTime();
    });
    expect(gone).toBeDefined();
    expect(gateway.live?.weights).toEqual({ blue: 100, green: 0 });
    // The route moved back as blue's pods came up; green went 3 s (its delay) after it sent green nothing.
    expect(seconds(sim, lastToGreen)).toBeGreaterThanOrEqual(3);
    expect(seconds(sim, lastToGreen)).toBeLessThanOrEqual(5);
  });
});

describe('the handover, whatever the actions and the gateway\'s pace', () => {
  type Act = { at: number; action: 'promote' | 'abort' | 'undo' };
  const arbActs = fc.array(fc.record({ at: fc.integer({ min: 0, max: 90 }), action: fc.constantFrom<Act['action']>('promote', 'abort', 'undo') }), { maxLength: 3 });

  it('no slot loses a Ready pod while the accepted route sends it traffic (but the stable slot\'s share under a live route), nor within the delay after', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1 << 30 }), arbActs, fc.double({ min: 0, max: 0.7, noNaN: true }), (seed, acts, silence) => {
      const { sim, gateway, rand } = start(routed([{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }], { scaleDownDelaySeconds: 10 }), seed);
      let accepted = gateway.live;
      // The last time the route as planned sent each slot traffic.
      const lastPlanned: Partial<Record<Slot, number>> = { blue: T0.getTime() };
      for (let t = 0; t < 150; t++) {
        const act = acts.find((a) => a.at === t);
        const r: Reconciled = sim.reconcile(act ? { action: act.action, id: `a${t}` } : undefined);
        const { plan } = r.decision;
        for (const slot of SLOTS) {
          const o = r.input.observed[slot];
          const size = plan.slots[slot]?.replicas;
          if (!o || size === undefined || size >= Math.min(o.replicas, o.servingReplicas)) continue;
          const why = `t=${t}: ${slot} planned ${size} of ${o.servingReplicas} Ready pods`;
          if (sends(accepted, slot)) {
            expect(slot, `${why} while the accepted route sends it traffic`).toBe(r.decision.activeSlot);
            expect(routeLive(gateway.live, plan.route!), `${why}: its share under a route not live`).toBe(true);
            expect(size, why).toBeGreaterThan(0);
          } else {
            expect(sim.now.getTime() - (lastPlanned[slot] ?? -Infinity), `${why} within the delay`).toBeGreaterThanOrEqual(10_000);
          }
        }
        const route = plan.route!;
        for (const slot of SLOTS) if (slot === route.stable ? route.weight < 100 : route.weight > 0 || route.headers.length > 0) lastPlanned[slot] = sim.now.getTime();
        gateway.answer = rand() < silence ? 'silent' : 'accept';
        sim.advance(plan, 1000);
        if (gateway.live?.acceptance.state === 'Accepted') accepted = gateway.live;
      }
    }), { numRuns: 60 });
  });
});
