import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput, Slot } from '../api/schema.js';
import { otherSlot } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { reconcileOnce, type Sim, type Reconciled } from '../../test/support/cluster.js';
import { Metric, type MetricInput } from '../analysis/api.js';
import type { MeasurementResult } from '../analysis/evaluate.js';
import { microservice } from '../../test/support/fixtures.js';
import { Gateway, runSim as run, startRouted as start } from '../../test/support/gateway.js';
import { renderRoute } from '../render/gateway.js';
import { planReconcile } from '../controller/core.js';
import { decide } from './engine.js';
import {
  acceptanceOf, candidateTarget, headersAt, observeRoute, routeSays, routeStepPlan, scaleAt, stableShare,
} from './traffic.js';
import type { Step } from './steps.js';
import type { RoutePlan } from './types.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const GATEWAY = { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'] };
const BETA = { name: 'beta', match: [{ header: 'X-Canary', value: 'true' }] };

const routed = (steps: unknown[], over: Partial<MicroserviceSpecInput> = {}): MicroserviceSpecInput => ({
  image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: GATEWAY },
  strategy: { type: 'Canary', canary: { steps: steps as never, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 20 },
  ...over,
});
/** The same, the previous slot let go at promotion (no scaleDownDelaySeconds). */
const routedNoDelay = (steps: unknown[]): MicroserviceSpecInput => {
  const spec = routed(steps);
  return { ...spec, strategy: { ...spec.strategy, canary: { ...spec.strategy!.canary!, scaleDownDelaySeconds: 0 } } };
};
const stepsOf = (steps: unknown[]): Step[] => microservice(routed(steps)).spec.strategy.canary!.steps;

describe('the steps\' traffic', () => {
  const steps = stepsOf([
    { setHeaderRoute: BETA }, { setCanaryScale: { replicas: 3 } }, { setWeight: 10 }, { setHeaderRoute: { name: 'beta', match: [] } },
    { setCanaryScale: { matchTrafficWeight: true } }, { setWeight: 50 }, { setCanaryScale: { weight: 100 } },
  ]);

  it.each<[number, string[], unknown, number]>([
    [0, ['beta'], undefined, 1],
    [1, ['beta'], { replicas: 3 }, 3],
    [2, ['beta'], { replicas: 3 }, 3],
    [3, [], { replicas: 3 }, 3],
    [4, [], undefined, 1],
    [5, [], undefined, 2],
    [6, [], { weight: 100 }, 4],
    [7, [], undefined, 4],
  ])('at step %i: header routes %j, canary scale %j, %i candidate pods of 4', (i, headers, scale, pods) => {
    expect(headersAt(steps, i).map((h) => h.name)).toEqual(headers);
    expect(scaleAt(steps, i)).toEqual(scale);
    expect(i >= steps.length ? 4 : candidateTarget(4, steps, i)).toBe(pods);
  });

  it('keeps one header route per name, the latest', () => {
    const twice = stepsOf([{ setHeaderRoute: BETA }, { setHeaderRoute: { name: 'beta', match: [{ header: 'X-Beta', value: '2' }] } }, { setHeaderRoute: { name: 'alpha', match: [{ header: 'X-A', value: '1' }] } }]);
    expect(headersAt(twice, 2).map((h) => [h.name, h.match[0]!.header])).toEqual([['beta', 'X-Beta'], ['alpha', 'X-A']]);
  });

  it.each<[number, number, number]>([[4, 0, 4], [4, 5, 4], [4, 10, 4], [4, 25, 3], [4, 50, 2], [4, 99, 1], [4, 100, 0], [10, 5, 10], [10, 10, 9], [0, 50, 0]])(
    'gives the stable slot of %i its share at weight %i: %i pods', (total, weight, pods) => {
      expect(stableShare(total, weight)).toBe(pods);
    });

  it('plans 4 replicas at 5/10/50: candidate 1, 1, 2 and the stable slot 4, 4, 4 (maxUnavailable 0: <name> keeps them)', () => {
    const plan = routeStepPlan(microservice(routed([{ setWeight: 5 }, { setWeight: 10 }, { setWeight: 50 }])).spec);
    expect(plan.map((p) => [p.what, p.weight, p.stable, p.candidate])).toEqual([
      ['setWeight 5', 5, 4, 1], ['setWeight 10', 10, 4, 1], ['setWeight 50', 50, 4, 2], ['promote', 100, 0, 4],
    ]);
  });

  it('lets the stable slot shrink to its share within maxUnavailable', () => {
    const spec = routed([{ setWeight: 25 }, { setWeight: 50 }, { setWeight: 75 }]);
    const plan = routeStepPlan(microservice({ ...spec, strategy: { ...spec.strategy, canary: { ...spec.strategy!.canary!, maxUnavailable: 2 } } } as never).spec);
    expect(plan.map((p) => p.stable)).toEqual([3, 2, 2, 0]);
  });
});

/** A live route as the API server returns it, with status.parents as a Gateway controller wrote it. */
function liveRoute(parents: unknown[], generation = 3, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'orders', namespace: 'shop', generation },
    spec: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways' }, { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'internal' }], ...spec },
    status: { parents },
  };
}
const parent = (name: string, status: string, observedGeneration: number, extra: Record<string, unknown> = {}) => ({
  parentRef: { name, ...(name === 'public' ? { namespace: 'gateways' } : {}), ...extra }, controllerName: 'example.com/gateway',
  conditions: [{ type: 'Accepted', status, reason: status === 'True' ? 'Accepted' : 'NotAllowedByListeners', message: status === 'True' ? 'ok' : 'no listener allows it', observedGeneration }],
});

describe('acceptanceOf', () => {
  it.each<[string, unknown[], string, RegExp]>([
    ['both parents accept generation 3', [parent('public', 'True', 3), parent('internal', 'True', 3)], 'Accepted', /public: accepted; .*internal: accepted/],
    ['one answers for an older generation', [parent('public', 'True', 3), parent('internal', 'True', 2)], 'Pending', /^Gateway shop\/internal: not yet accepted generation 3/],
    ['one has not answered at all', [parent('public', 'True', 3)], 'Pending', /internal: not yet accepted/],
    ['one refuses, with its reason and message first', [parent('public', 'True', 3), parent('internal', 'False', 3)], 'Refused', /^Gateway shop\/internal: NotAllowedByListeners: no listener allows it/],
    ['a refusal of an older generation is not an answer', [parent('public', 'True', 3), parent('internal', 'False', 2)], 'Pending', /internal: not yet accepted/],
    ['an answer for another listener does not count', [parent('public', 'True', 3, { sectionName: 'http' }), parent('internal', 'True', 3)], 'Pending', /public: not yet accepted/],
    ['no status at all', [], 'Pending', /public: not yet accepted.*internal: not yet accepted/],
  ])('when %s: %s', (_what, parents, state, message) => {
    const a = acceptanceOf(liveRoute(parents));
    expect(a.state).toBe(state);
    expect(a.message).toMatch(message);
  });

  it('reads a parent written with its defaults left out, or spelled out, as the same parent', () => {
    const spelled = parent('public', 'True', 3, { group: 'gateway.networking.k8s.io', kind: 'Gateway' });
    const inShop = { ...parent('internal', 'True', 3), parentRef: { name: 'internal', namespace: 'shop' } };
    expect(acceptanceOf(liveRoute([spelled, inShop])).state).toBe('Accepted');
  });

  it('remembers that some generation was accepted', () => {
    expect(acceptanceOf(liveRoute([parent('public', 'True', 1)])).everAccepted).toBe(true);
    expect(acceptanceOf(liveRoute([parent('public', 'False', 3)])).everAccepted).toBe(false);
  });
});

describe('observeRoute', () => {
  const ms = microservice(routed([{ setWeight: 5 }]));
  it('reads back the weights and header routes of any route it renders', () => {
    fc.assert(fc.property(fc.constantFrom<Slot>('blue', 'green'), fc.integer({ min: 0, max: 100 }), fc.boolean(), (stable, weight, header) => {
      const plan: RoutePlan = { stable, weight, headers: header ? [{ name: 'beta', match: [{ header: 'X-Canary', value: 'true', type: 'Exact' }] }] : [] };
      const live = observeRoute({ ...renderRoute(ms, plan, { blue: 80, green: 80 })!, status: {} }, 'orders')!;
      expect(routeSays(live, plan)).toBe(true);
      expect(live.headers.every((h) => h.slot === otherSlot(stable))).toBe(true);
      expect(routeSays(live, { ...plan, weight: (weight + 1) % 101 })).toBe(false);
      expect(routeSays(live, { ...plan, headers: header ? [] : [{ name: 'beta', match: [{ header: 'X-Canary', value: 'true', type: 'Exact' }] }] })).toBe(false);
    }));
  });

  it('is nothing when there is no route', () => {
    expect(observeRoute(undefined, 'orders')).toBeUndefined();
  });
});

const candidateWeight = (route: RoutePlan | undefined) => route?.weight ?? 0;

describe('a canary through the route', () => {
  it('sets the route\'s weights exactly, 5/95, 10/90 and 50/50, with the candidate at 1, 1 and 2 of 4 pods, <name> keeping its 4', () => {
    const { sim, gateway } = start(routedNoDelay([{ setWeight: 5 }, { setWeight: 10 }, { setWeight: 50 }]));
    const seen: string[] = [];
    let last = '';
    const done = run(sim, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy', (r) => {
      // `<name>` selects one slot: the slot it selected as this pass began keeps T - maxUnavailable
      // pods, however far the weight has gone, until `<name>` is read back on the other.
      const selected = r.input.servedSlot;
      if (selected === 'blue' || selected === 'green') expect(r.decision.plan.slots[selected]?.replicas ?? 0).toBeGreaterThanOrEqual(4);
      // The route moves only to a candidate with the Ready pods its weight asks.
      const w = candidateWeight(r.decision.plan.route);
      const ready = r.input.observed.green?.readyReplicas ?? 0;
      if (r.decision.activeSlot === 'blue' && w > candidateWeight(gateway.history.at(-1)?.route)) expect(ready).toBeGreaterThanOrEqual(Math.ceil((4 * w) / 100));
      const step = `${r.status.rollout?.step}:${r.status.rollout?.weight}`;
      if (r.decision.activeSlot === 'blue' && r.status.rollout?.step !== undefined && step !== last) {
        last = step;
        seen.push(`${r.status.rollout.weight}% blue ${r.input.observed.blue?.replicas} green ${r.input.observed.green?.replicas ?? 0}`);
      }
    });
    expect(done).toBeDefined();
    expect(gateway.history.map((h) => `${h.route.stable}:${100 - h.route.weight}/${h.route.weight}`)).toEqual(['blue:100/0', 'blue:95/5', 'blue:90/10', 'blue:50/50', 'blue:0/100']);
    // What status said the route served, with the pods at the time.
    expect(seen).toEqual(expect.arrayContaining(['5% blue 4 green 1', '10% blue 4 green 1', '50% blue 4 green 2']));
    expect(sim.cluster.slots).toMatchObject({ blue: { replicas: 0 }, green: { revision: 'r2', replicas: 4 } });
  });

  it('holds each step until the route\'s generation is accepted, and says what it waits for', () => {
    const { sim, gateway } = start(routed([{ setWeight: 10 }, { pause: {} }]));
    gateway.answer = 'silent';
    const waiting = run(sim, (r) => /waiting for the parents/.test(r.status.rollout?.message ?? ''), () => {}, 60);
    expect(waiting).toBeDefined();
    expect(waiting!.status.rollout).toMatchObject({ step: 0, weight: 0, desiredWeight: 10 });
    expect(waiting!.status.rollout!.message).toContain('Gateway gateways/public: not yet accepted generation 2');
    expect(waiting!.status.traffic).toMatchObject({ route: 'orders', weights: { blue: 90, green: 10 }, accepted: 'Unknown' });
    // The stable slot keeps its pods until the route that takes traffic off it is accepted.
    expect(waiting!.decision.plan.slots.blue?.replicas).toBe(4);
    gateway.answer = 'accept';
    const paused = run(sim, (r) => r.status.phase === 'Paused');
    expect(paused!.status.rollout).toMatchObject({ step: 1, weight: 10 });
    expect(paused!.status.traffic).toMatchObject({ weights: { blue: 90, green: 10 }, accepted: 'True' });
    expect(paused!.status.traffic?.pendingSince).toBeUndefined();
  });

  it('aborts a route that is refused past the progress deadline with the parent\'s message, and moves traffic back before the candidate shrinks', () => {
    const { sim, gateway } = start(routed([{ setWeight: 5 }, { setWeight: 50 }, { pause: {} }]));
    // Accepted up to 5%; the 50% generation is refused.
    run(sim, (r) => r.status.rollout?.step === 1 && r.status.rollout.weight === 5);
    gateway.answer = 'refuse';
    const aborted = run(sim, (r) => r.decision.problem?.reason === 'RolloutAborted');
    expect(aborted).toBeDefined();
    expect(aborted!.decision.problem!.message).toMatch(/the HTTPRoute orders was not accepted within 20s: Gateway gateways\/public: NotAllowedByListeners: no listener allows routes from this namespace/);
    // In the abort's pass: the candidate gets no more than the 5% it served (the refused 50% never
    // was), and none of its pods goes yet.
    expect(aborted!.decision.plan.route).toMatchObject({ stable: 'blue', headers: [] });
    expect(aborted!.decision.plan.route!.weight).toBeLessThanOrEqual(5);
    expect(aborted!.decision.plan.slots.green?.replicas).toBe(aborted!.input.observed.green?.replicas);
    gateway.answer = 'accept';
    const drained = run(sim, (r) => r.decision.plan.slots.green?.replicas === 0, (r) => {
      // Until the route back is accepted, the candidate keeps its pods.
      if (!(gateway.live?.acceptance.state === 'Accepted' && gateway.live.weights.green === 0)) expect(r.decision.plan.slots.green?.replicas).toBeGreaterThan(0);
    });
    expect(drained).toBeDefined();
    expect(gateway.live).toMatchObject({ weights: { blue: 100, green: 0 }, acceptance: { state: 'Accepted' } });
  });

  it('on kubectl coxswain abort, moves the route back to the stable slot as it fills, the candidate scaling down only once that is accepted', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }]));
    const paused = run(sim, (r) => r.status.phase === 'Paused');
    expect(paused!.status.traffic?.weights).toEqual({ blue: 50, green: 50 });
    gateway.answer = 'silent';
    const abort = sim.reconcile({ action: 'abort', id: 'a1' });
    // The stable slot stayed whole (`<name>` selects it): it takes all the traffic back at once.
    expect(abort.decision.plan.route).toEqual({ stable: 'blue', weight: 0, headers: [] });
    expect(abort.decision.plan.slots).toMatchObject({ blue: { replicas: 4 }, green: { replicas: 2 } });
    for (let t = 0; t < 5; t++) {
      const r = sim.reconcile();
      expect(r.decision.plan.route!.weight).toBe(0);
      sim.advance(r.decision.plan, 1000);
      expect(sim.cluster.slots.green?.replicas).toBe(2); // the route back is not accepted yet
    }
    gateway.answer = 'accept';
    expect(run(sim, (r) => r.decision.plan.slots.green?.replicas === 0)).toBeDefined();
    expect(gateway.live?.weights).toEqual({ blue: 100, green: 0 });
  });

  it('refuses a promote with the parents\' words when the route is the reason, and says them in status at a pause', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }]));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    // The Gateway's listeners change: its parent now refuses the route the pause holds.
    const refusal = 'Gateway gateways/public: NotAllowedByListeners: no listener allows routes from this namespace';
    gateway.live = { ...gateway.live!, acceptance: { state: 'Refused', message: refusal, everAccepted: false } };
    const refused = sim.reconcile({ action: 'promote', id: 'p1' });
    expect(sim.cluster.slots.green).toMatchObject({ replicas: 2, ready: 2 });
    expect(refused.status.lastAction).toMatchObject({ ok: false });
    expect(refused.status.lastAction!.message).toContain(refusal);
    expect(refused.status.lastAction!.message).not.toContain('Ready pods');
    expect(refused.status.rollout?.message).toContain(refusal);
  });

  it('says what the route waits for while a slot of another revision is cleared', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }]));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    gateway.answer = 'silent';
    sim.desiredRevision = 'r3'; // a new revision mid-rollout: the candidate slot is cleared first
    const clearing = run(sim, (r) => /clearing/.test(r.status.rollout?.message ?? ''), () => {}, 10);
    expect(clearing).toBeDefined();
    expect(clearing!.status.rollout!.message).toMatch(/HTTPRoute orders/);
  });

  it('sends a header route to the candidate at weight 0 and removes it at promotion', () => {
    const { sim, gateway } = start(routed([{ setHeaderRoute: BETA }, { pause: {} }]));
    const paused = run(sim, (r) => r.status.phase === 'Paused');
    expect(gateway.live).toMatchObject({ weights: { blue: 100, green: 0 }, headers: [{ name: 'beta', slot: 'green', match: [{ header: 'X-Canary', value: 'true', type: 'Exact' }] }] });
    expect(paused!.status.traffic?.headerRoutes).toEqual(['beta']);
    expect(sim.cluster.slots.green).toMatchObject({ replicas: 1, ready: 1 });
    // The operator restarted: the same status and the same live objects give the same route.
    const again = decide({ ...paused!.input, ms: sim.ms });
    expect(again.plan.route).toEqual(paused!.decision.plan.route);
    sim.reconcile({ action: 'promote', id: 'p1' });
    const done = run(sim, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy');
    expect(done).toBeDefined();
    expect(gateway.live).toMatchObject({ weights: { blue: 0, green: 100 }, headers: [] });
  });

  it('scales the candidate by setCanaryScale apart from its weight, then back with matchTrafficWeight', () => {
    const { sim, gateway } = start(routed([{ setCanaryScale: { replicas: 3 } }, { pause: {} }, { setWeight: 10 }, { pause: {} }, { setCanaryScale: { matchTrafficWeight: true } }, { pause: {} }]));
    const at = (step: number) => {
      const r = run(sim, (x) => x.status.phase === 'Paused' && x.status.rollout?.step === step);
      expect(r, `paused at step ${step}`).toBeDefined();
      const out = { weight: gateway.live!.weights.green, pods: sim.cluster.slots.green?.replicas, stable: sim.cluster.slots.blue?.replicas };
      sim.reconcile({ action: 'promote', id: `p${step}` });
      return out;
    };
    // setCanaryScale is not held to maxSurge: the user asked for those pods.
    expect(at(1)).toEqual({ weight: 0, pods: 3, stable: 4 });
    expect(at(3)).toEqual({ weight: 10, pods: 3, stable: 4 });
    expect(at(5)).toEqual({ weight: 10, pods: 1, stable: 4 });
  });

  it('moves a weight only once the candidate\'s Ready pods are published in its Service\'s EndpointSlices', () => {
    const { sim } = start(routed([{ setWeight: 5 }, { pause: {} }]));
    // The first pass that moves 5% to the candidate: its one pod is Ready.
    const moving = run(sim, (r) => candidateWeight(r.decision.plan.route) === 5);
    const { input } = moving!;
    const green = input.observed.green!;
    expect(green.readyReplicas).toBe(1);
    // The same world, but the pod's address not yet in the EndpointSlice: the gateway would have no backend.
    const unpublished = decide({ ...input, observed: { ...input.observed, green: { ...green, publishedReady: 0 } } });
    expect(candidateWeight(unpublished.plan.route)).toBe(0);
    expect(unpublished.rollout?.message).toBe('step 0/2: weight 5%, 1/1 candidate pods ready; waiting for the Service orders-green to publish its Ready pods (0 of 1 in its EndpointSlices)');
    const published = decide({ ...input, observed: { ...input.observed, green: { ...green, publishedReady: 1 } } });
    expect(candidateWeight(published.plan.route)).toBe(5);
  });

  it('keeps the step, weight and header route when the operator restarts mid-rollout', () => {
    const { sim } = start(routed([{ setHeaderRoute: BETA }, { setWeight: 10 }, { pause: {} }]));
    const paused = run(sim, (r) => r.status.phase === 'Paused');
    // A fresh process: nothing but the stored status and the live objects.
    const fresh = decide({ ms: sim.ms, observed: sim.cluster.observe(), desiredRevision: 'r2', now: new Date(sim.now.getTime() + 60_000), route: paused!.input.route });
    expect(fresh.plan.route).toEqual({ stable: 'blue', weight: 10, headers: [expect.objectContaining({ name: 'beta' })] });
    expect(fresh.rollout).toMatchObject({ step: 2, weight: 10 });
  });
});

describe('an analysis step through the route', () => {
  const errorRate = { name: 'error-rate', interval: '10s', prometheus: { query: 'rate(errors{revision="{{revision}}"}[1m])' }, max: 0.05 } satisfies MetricInput;
  const metrics = new Map([[errorRate.name, Metric.parse(errorRate)]]);

  /** Reconciles with the route and the analysis, answering each measurement with `value`. */
  function drive(sim: Sim, gateway: Gateway, value: number, until: (r: Reconciled) => boolean, each: (r: Reconciled) => void = () => {}) {
    let results: MeasurementResult[] = [];
    for (let t = 0; t < 300; t++) {
      const r = reconcileOnce({ ms: sim.ms, observed: sim.cluster.observe(), desiredRevision: sim.desiredRevision, now: sim.now, route: gateway.live, analysis: { metrics, results } });
      sim.ms = { ...sim.ms, status: r.status };
      each(r);
      if (until(r)) return r;
      sim.advance(r.decision.plan, 2000);
      results = (r.decision.measurements ?? []).map((q) => ({
        key: q.key, run: q.run, runStartedAt: q.runStartedAt, revision: q.revision, metric: q.metric.name, seq: q.seq, at: sim.now.toISOString(), candidate: { values: [value] },
      }));
    }
    return undefined;
  }
  const spec = () => routed([{ setWeight: 10 }, { analysis: { metrics: ['error-rate'], count: 1 } }], { analysis: { metrics: [errorRate] } } as never);

  it('measures nothing until the route with the step\'s weight is accepted, then passes and completes', () => {
    const { sim, gateway } = start(spec());
    gateway.answer = 'silent';
    drive(sim, gateway, 0.01, (r) => (r.status.rollout?.message ?? '').includes('waiting for the parents'), (r) => expect(r.decision.measurements ?? []).toEqual([]));
    // A few passes more, within the progress deadline (20s): still nothing measured.
    for (let t = 0; t < 3; t++) {
      const r = drive(sim, gateway, 0.01, () => true)!;
      expect(r.decision.measurements ?? []).toEqual([]);
      sim.advance(r.decision.plan, 2000);
    }
    gateway.answer = 'accept';
    const done = drive(sim, gateway, 0.01, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy');
    expect(done).toBeDefined();
    expect(gateway.history.map((h) => h.route.weight)).toEqual([0, 10, 100]);
  });

  it('aborts on a failed measurement, the route giving the candidate no more than it had', () => {
    const { sim, gateway } = start(spec());
    const aborted = drive(sim, gateway, 0.5, (r) => r.status.conditions?.some((c) => c.type === 'Stalled' && c.reason === 'AnalysisFailed') ?? false);
    expect(aborted).toBeDefined();
    expect(aborted!.decision.plan.route!.weight).toBeLessThanOrEqual(10);
    expect(aborted!.decision.plan.slots.green?.replicas).toBe(aborted!.input.observed.green?.replicas); // kept until the route back is accepted
  });
});

describe('undo through the route', () => {
  it('moves the route back to the previous slot as its pods come up, the slot it leaves keeping its pods until that is accepted', () => {
    const { sim, gateway } = start(routedNoDelay([{ setWeight: 50 }]));
    expect(run(sim, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy')).toBeDefined();
    expect(gateway.live?.weights).toEqual({ blue: 0, green: 100 });
    gateway.answer = 'silent';
    const undo = sim.reconcile({ action: 'undo', id: 'u1' });
    expect(undo.decision.activeSlot).toBe('blue');
    // Blue has no pods yet: green keeps the traffic until blue can take it.
    expect(undo.decision.plan.route).toEqual({ stable: 'blue', weight: 100, headers: [] });
    expect(undo.decision.plan.slots.blue?.replicas).toBe(4);
    for (let t = 0; t < 20; t++) {
      sim.advance(sim.reconcile().decision.plan, 1000);
      expect(sim.cluster.slots.green?.replicas, 'the slot the route still serves keeps its pods').toBe(4);
    }
    gateway.answer = 'accept';
    expect(run(sim, (r) => r.decision.plan.slots.green?.replicas === 0)).toBeDefined();
    expect(gateway.live?.weights).toEqual({ blue: 100, green: 0 });
  });
});

describe('the scale-down delay after a promotion through the route', () => {
  it('keeps the previous slot\'s pods 30 s by default, taking no traffic, and an undo meanwhile switches back at once', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }]));
    const promoted = run(sim, (r) => r.status.stableRevision === 'r2');
    const at = sim.now.getTime();
    expect(promoted!.status.rollout?.scaleDownAt).toBe(new Date(at + 30_000).toISOString());
    // Through the delay: the route sends blue nothing, and blue keeps its 4 pods.
    const kept = run(sim, (r) => sim.now.getTime() >= at + 29_000, (r) => {
      expect(r.decision.plan.slots.blue?.replicas ?? 4).toBe(4);
    }, 60);
    expect(kept).toBeDefined();
    expect(gateway.live?.weights).toEqual({ blue: 0, green: 100 });
    // An undo within the delay: blue is whole and Ready, so the route goes back at once.
    const undo = sim.reconcile({ action: 'undo', id: 'u1' });
    expect(undo.decision.activeSlot).toBe('blue');
    expect(undo.decision.plan.route).toEqual({ stable: 'blue', weight: 0, headers: [] });
  });

  it('lets the previous slot go after the delay the spec gives', () => {
    const spec = routed([{ setWeight: 50 }]);
    const { sim } = start({ ...spec, strategy: { ...spec.strategy, canary: { ...spec.strategy!.canary!, scaleDownDelaySeconds: 5 } } });
    run(sim, (r) => r.status.stableRevision === 'r2');
    const at = sim.now.getTime();
    const gone = run(sim, (r) => r.decision.plan.slots.blue?.replicas === 0, () => {}, 60);
    expect(gone).toBeDefined();
    expect(sim.now.getTime() - at).toBeGreaterThanOrEqual(5_000);
    expect(sim.now.getTime() - at).toBeLessThan(10_000);
  });
});

describe('blue-green through the route', () => {
  const bg = (): MicroserviceSpecInput => ({
    image: 'registry.example/orders:2', replicas: 3, ports: [{ name: 'http', port: 8080 }],
    traffic: { gateway: { ...GATEWAY, previewHostnames: ['orders-preview.example.com'] } },
    strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 5 } },
  });

  it('keeps the route on the active slot until promotion, then switches its backend, the old slot kept until the switch is accepted', () => {
    const { sim, gateway } = start(bg());
    const waiting = run(sim, (r) => r.status.phase === 'Paused');
    expect(waiting!.decision.plan.route).toEqual({ stable: 'blue', weight: 0, headers: [] });
    expect(waiting!.decision.plan.previewSlot).toBe('green');
    gateway.answer = 'silent';
    sim.reconcile({ action: 'promote', id: 'p1' });
    const switched = run(sim, (r) => r.decision.activeSlot === 'green');
    expect(switched!.decision.plan.route).toEqual({ stable: 'green', weight: 0, headers: [] });
    // Past the scale-down delay, blue stays while the switch is not accepted.
    for (let t = 0; t < 10; t++) sim.advance(sim.reconcile().decision.plan, 1000);
    expect(sim.cluster.slots.blue?.replicas).toBe(3);
    gateway.answer = 'accept';
    expect(run(sim, (r) => r.status.phase === 'Healthy')).toBeDefined();
    expect(sim.cluster.slots.blue?.replicas).toBe(0);
    expect(gateway.live?.weights).toEqual({ blue: 0, green: 100 });
  });
});

describe('planReconcile with a route', () => {
  const ms = (spec = routed([{ setWeight: 5 }])) => ({ ...microservice(spec), status: undefined });

  it('is Stalled with GatewayAPIMissing and writes nothing when the cluster has no HTTPRoutes', () => {
    const plan = planReconcile({ ms: ms(), owned: [], pods: [], now: T0, gatewayAPI: false });
    expect(plan.writes).toEqual([]);
    const { status, stalled, events } = plan.finish([]);
    expect(stalled).toBe(true);
    expect(status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'GatewayAPIMissing' });
    expect(status?.phase).toBe('Degraded');
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'GatewayAPIMissing' })]);
  });

  it('answers every action while GatewayAPIMissing: abort, pause and resume recorded, the others refused naming the Gateway API', () => {
    const rolling = (value: string) => ({
      ...microservice(routed([{ setWeight: 5 }]), {}, { stableRevision: 'r1', desiredRevision: 'r2', activeSlot: 'blue', rollout: { step: 0, steps: 1 } }),
      metadata: { name: 'orders', namespace: 'shop', generation: 2, resourceVersion: '7', annotations: { 'coxswain.dev/action': value } },
    });
    const abort = planReconcile({ ms: rolling('abort:a1'), owned: [], pods: [], now: T0, gatewayAPI: false });
    expect(abort.writes).toEqual([]);
    expect(abort.clearAction).toBe('abort:a1');
    const aborted = abort.finish([]);
    expect(aborted.status?.lastAction).toMatchObject({ id: 'a1', action: 'abort', ok: true });
    expect(aborted.status?.rollout?.abortedRevision).toBeDefined();
    expect(aborted.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ reason: 'GatewayAPIMissing' });
    expect(aborted.events).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'ActionDone' })]));
    const promote = planReconcile({ ms: rolling('promote:p1'), owned: [], pods: [], now: T0, gatewayAPI: false }).finish([]);
    expect(promote.status?.lastAction).toMatchObject({ ok: false });
    expect(promote.status?.lastAction?.message).toContain('Gateway API is missing');
    const bare = planReconcile({ ms: rolling('pause'), owned: [], pods: [], now: T0, gatewayAPI: false });
    expect(bare.nameAction).toEqual({ from: 'pause', to: 'pause:rv7' });
  });

  it('leaves a Microservice without a route alone when the cluster has no HTTPRoutes', () => {
    const plan = planReconcile({ ms: ms({ image: 'registry.example/orders:1', ports: [{ port: 8080 }] }), owned: [], pods: [], now: T0, gatewayAPI: false });
    expect(plan.writes.map((w) => ('apply' in w ? w.apply.kind : '')).filter(Boolean)).toContain('Deployment');
    expect(plan.finish([]).stalled).toBe(false);
  });

  it('creates the route with the slot Services on a first revision, all of it to blue', () => {
    const plan = planReconcile({ ms: ms(), owned: [], pods: [], now: T0, gatewayAPI: true });
    const applied = plan.writes.flatMap((w) => ('apply' in w ? [w.apply] : []));
    expect(applied.filter((o) => o.kind === 'Service' || o.kind === 'HTTPRoute').map((o) => `${o.kind}/${o.metadata.name}`))
      .toEqual(['Service/orders', 'Service/orders-preview', 'Service/orders-blue', 'Service/orders-green', 'HTTPRoute/orders']);
    const route = applied.find((o) => o.kind === 'HTTPRoute') as any;
    expect(route.spec.rules[0].backendRefs.map((b: any) => b.weight)).toEqual([100, 0]);
    expect(plan.finish([]).status?.traffic).toMatchObject({ route: 'orders', accepted: 'Unknown', message: 'the route is not created yet' });
  });
});

describe('route properties', () => {
  const arbStep = fc.oneof(
    fc.integer({ min: 0, max: 100 }).map((w) => ({ setWeight: w })),
    fc.constant({ pause: { duration: '3s' } }),
    fc.constant({ setHeaderRoute: BETA }),
    fc.constant({ setHeaderRoute: { name: 'beta', match: [] } }),
    fc.integer({ min: 0, max: 6 }).map((replicas) => ({ setCanaryScale: { replicas } })),
    fc.constant({ setCanaryScale: { matchTrafficWeight: true } }),
  );
  const arbSteps = fc.array(arbStep, { minLength: 1, maxLength: 6 }).map((steps) => {
    // Weights never decrease (the CRD says so).
    let w = 0;
    return steps.map((s) => ('setWeight' in s ? { setWeight: (w = Math.max(w, s.setWeight)) } : s));
  });

  it('never gives the candidate more traffic than its step, nor any before it has the step\'s Ready pods, and completes when the parents accept', () => {
    fc.assert(fc.property(arbSteps, fc.integer({ min: 1, max: 8 }), fc.array(fc.constantFrom('accept', 'silent'), { minLength: 5, maxLength: 30 }).map((a) => [...a, 'accept']), fc.integer(), (steps, replicas, answers, seed) => {
      const { sim, gateway, rand } = start(routed(steps, { replicas }), seed);
      const canary = sim.ms.spec.strategy.canary!;
      let t = 0;
      const done = run(sim, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy', (r) => {
        gateway.answer = (answers[t++ % answers.length] ?? 'accept') as 'accept' | 'silent';
        if (r.status.phase === 'Paused' && rand() < 0.5) r.decision.waiting && sim.reconcile({ action: 'promote', id: `p${t}` });
        const route = r.decision.plan.route!;
        const i = r.status.rollout?.step;
        if (r.decision.activeSlot !== 'blue' || i === undefined) return;
        const stepWeight = i >= canary.steps.length ? 100 : Math.max(0, ...canary.steps.slice(0, i + 1).flatMap((s) => s.setWeight ?? []));
        expect(route.weight).toBeLessThanOrEqual(stepWeight);
        const liveWeight = gateway.live?.weights.green ?? 0;
        if (route.weight > liveWeight) expect(r.input.observed.green?.readyReplicas ?? 0).toBeGreaterThanOrEqual(i >= canary.steps.length ? replicas : candidateTarget(replicas, canary.steps, i));
      }, 2000);
      expect(done, 'the rollout completes').toBeDefined();
      expect(gateway.live?.weights).toEqual({ blue: 0, green: 100 });
    }), { numRuns: 100 });
  });
});

