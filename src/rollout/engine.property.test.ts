// The engine over random states and on a simulated cluster: invariants that hold whatever led there.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Microservice, MicroserviceSpecInput, Slot } from '../api/schema.js';
import { otherSlot } from '../api/names.js';
import { arbObservedSlot, arbRolloutSpec } from '../../test/support/arbitraries.js';
import { Cluster, prng, Sim, type Reconciled } from '../../test/support/cluster.js';
import { microservice } from '../../test/support/fixtures.js';
import { candidateFor } from './weights.js';
import { ACTIONS, decide, type Decision, type EngineInput } from './engine.js';
import { T0, at, iso, spec, steadyOn, run } from '../../test/support/engine.js';

const REVISIONS = ['r1', 'r2', 'r3'] as const;
type Steps = NonNullable<Microservice['spec']['strategy']['canary']>['steps'];
/** The weight in force at step i, straight from the steps: the last setWeight at or before it, 100 past the end. */
const weightOfStep = (steps: Steps, i: number) => (i >= steps.length ? 100 : steps.slice(0, i + 1).reduce((w, s) => s.setWeight ?? w, 0));
const percentOf = (v: number | string, total: number, round: (x: number) => number) => (typeof v === 'number' ? v : round((total * parseInt(v, 10)) / 100));
const plannedSize = (d: Decision, slot: Slot) => d.plan.slots[slot]?.replicas ?? 0;

/** What must hold of every decision, whatever led to it. */
function checkDecision({ ms, observed }: EngineInput, d: Decision): void {
  const total = ms.spec.replicas;
  for (const p of Object.values(d.plan.slots)) expect(Number.isInteger(p.replicas) && p.replicas >= 0, `planned ${p.replicas}`).toBe(true);
  const aborted = d.problem?.reason === 'RolloutAborted';
  const r = d.rollout;
  if (ms.spec.strategy.type === 'Canary' && r?.step !== undefined) {
    const canary = ms.spec.strategy.canary!;
    // (1) never above replicas + maxSurge while the steps run; but while the stable slot does not
    // hold the stable revision yet (status lost, a hand edit) it is rebuilt whole at once, and the
    // other slot's Ready pods serve meanwhile: capacity comes first (DESIGN.md, "Revisions are kept")
    const repairing = observed[d.activeSlot]?.revision !== d.stableRevision;
    if (!repairing) expect(plannedSize(d, 'blue') + plannedSize(d, 'green')).toBeLessThanOrEqual(total + percentOf(canary.maxSurge, total, Math.ceil));
    // (2) the weight is the one of the current step, and the candidate stays within it
    expect(r.desiredWeight).toBe(weightOfStep(canary.steps, r.step));
    expect(r.candidateSlot).toBe(otherSlot(d.activeSlot));
    // (a candidate slot still clearing another revision's pods only shrinks)
    if (d.plan.slots[r.candidateSlot!]?.revision === undefined) expect(plannedSize(d, r.candidateSlot!)).toBeLessThanOrEqual(observed[r.candidateSlot!]?.replicas ?? 0);
    // (above it, after the steps were edited to a lower weight, it only shrinks: never above the
    // pods it has, its size or, while a scale-down is not yet carried out, the pods still there)
    else {
      const o = observed[r.candidateSlot!];
      expect(plannedSize(d, r.candidateSlot!)).toBeLessThanOrEqual(Math.max(candidateFor(total, r.desiredWeight!), o?.replicas ?? 0, o?.updatedReplicas ?? 0));
    }
  }
  if (ms.spec.strategy.type === 'BlueGreen') {
    // (4) the Service selects one slot, never an empty one while the other has Ready pods (unless
    // the spec asks for 0 replicas: then nothing is to serve, and the old slot must scale down too)
    expect(d.plan.serviceSlot).toBeDefined();
    const serving = d.plan.serviceSlot!;
    if ((observed[serving]?.readyReplicas ?? 0) === 0 && total > 0) expect(observed[otherSlot(serving)]?.readyReplicas ?? 0).toBe(0);
  }
  if (aborted) {
    // (3) an aborted revision: the stable slot at full size; the candidate only ever shrinks
    expect(d.plan.slots[d.activeSlot]).toEqual({ replicas: total, revision: d.stableRevision });
    const cand = otherSlot(d.activeSlot);
    expect(plannedSize(d, cand)).toBeLessThanOrEqual(observed[cand]?.replicas ?? 0);
    expect(r?.abortedRevision).toBeDefined();
  }
}

/** (6) the same input gives a deep-equal decision, and decide changes nothing it was given. */
function checkDeterministic(input: EngineInput, d: Decision): void {
  const copy = structuredClone(input);
  expect(decide(copy)).toEqual(d);
  expect(copy).toEqual(input);
}

const arbRandomState = arbRolloutSpec().chain((specInput) => {
  const steps = specInput.strategy?.canary?.steps.length ?? 1;
  const seconds = (min: number, max: number) => fc.integer({ min, max }).map(iso);
  return fc.record({
    specInput: fc.constant(specInput),
    status: fc.record({
      activeSlot: fc.constantFrom<Slot>('blue', 'green'),
      stableRevision: fc.constantFrom(...REVISIONS),
      desiredRevision: fc.constantFrom(...REVISIONS),
      restartedAt: seconds(-100, 0),
      rollout: fc.record({
        candidateSlot: fc.constantFrom<Slot>('blue', 'green'),
        step: fc.integer({ min: 0, max: steps }),
        steps: fc.constant(steps),
        stepStartedAt: seconds(-7200, 0),
        pausedUntil: seconds(-600, 600),
        scaleDownAt: seconds(-60, 60),
        abortedRevision: fc.constantFrom(...REVISIONS),
        paused: fc.boolean(),
        message: fc.constant('from an earlier reconcile'),
      }, { requiredKeys: [] }),
      lastAction: fc.record({ id: fc.constantFrom('a1', 'a2'), action: fc.constantFrom(...ACTIONS), at: seconds(-10, 0), ok: fc.boolean(), message: fc.constant('earlier') }),
    }, { requiredKeys: [] }),
    observed: fc.record({ blue: arbObservedSlot(REVISIONS), green: arbObservedSlot(REVISIONS) }, { requiredKeys: [] }),
    desired: fc.constantFrom(...REVISIONS),
    action: fc.option(fc.record({ action: fc.constantFrom(...ACTIONS, 'bogus'), id: fc.constantFrom('a1', 'a2', 'a3') }), { nil: undefined }),
    now: fc.integer({ min: 0, max: 7200 }).map(at),
  });
});

describe('decide, over random states', () => {
  it('keeps the cap, the weights, the serving rule and the abort rule, deterministically, for any state', () => {
    fc.assert(fc.property(arbRandomState, ({ specInput, status, observed, desired, action, now }) => {
      const input: EngineInput = { ms: microservice(specInput, {}, status), observed, desiredRevision: desired, now, ...(action ? { action } : {}) };
      const d = decide(input);
      checkDecision(input, d);
      checkDeterministic(input, d);
    }), { numRuns: 300 });
  });

  it('answers every new action exactly once, and ignores one it answered', () => {
    fc.assert(fc.property(arbRandomState, fc.constantFrom(...ACTIONS, 'bogus'), ({ specInput, status, observed, desired, now }, action) => {
      const ms = microservice(specInput, {}, status);
      const fresh = decide({ ms, observed, desiredRevision: desired, now, action: { action, id: 'brand-new' } });
      expect(fresh.lastAction).toMatchObject({ id: 'brand-new', action, at: now.toISOString() });
      expect(fresh.events.filter((e) => e.reason.startsWith('Action'))).toEqual([{ type: fresh.lastAction!.ok ? 'Normal' : 'Warning', reason: fresh.lastAction!.ok ? 'ActionDone' : 'ActionRefused', message: `${action}: ${fresh.lastAction!.message}` }]);
      if (status.lastAction) {
        const repeat = decide({ ms, observed, desiredRevision: desired, now, action: { action, id: status.lastAction.id } });
        expect(repeat).toEqual(decide({ ms, observed, desiredRevision: desired, now }));
      }
    }), { numRuns: 200 });
  });
});

/** Runs the reconcile loop on a crude cluster; `check` sees every reconcile. Returns the last one. */
function tickUntil(sim: Sim, maxTicks: number, rand: () => number, maxStepSeconds: number, done: (r: Reconciled) => boolean, check: (r: Reconciled) => void = () => {}): Reconciled | undefined {
  for (let t = 0; t < maxTicks; t++) {
    const r = sim.reconcile();
    checkDecision(r.input, r.decision);
    check(r);
    if (done(r)) return r;
    sim.advance(r.decision.plan, (1 + Math.floor(rand() * maxStepSeconds)) * 1000);
  }
  return undefined;
}

describe('rollouts on a simulated cluster', () => {
  const start = (specInput: MicroserviceSpecInput, cluster: Cluster, active: Slot = 'blue') => {
    const ms = microservice(specInput, {}, steadyOn('r1', active));
    cluster.seed(active, 'r1', ms.spec.replicas);
    return new Sim(ms, cluster, 'r2', T0);
  };

  it('(5) completes a rollout without indefinite pauses when the candidate becomes Ready: first revision, then the next', () => {
    const spec5 = arbRolloutSpec({ indefinite: false, progressDeadlineSeconds: fc.constant(3600) });
    fc.assert(fc.property(spec5, fc.integer(), (specInput, seed) => {
      const rand = prng(seed);
      const sim = new Sim(microservice(specInput), new Cluster(rand, { progress: true }), 'r1', T0);
      const first = tickUntil(sim, 200, rand, 10, (r) => r.status.phase === 'Healthy');
      expect(first?.status.stableRevision, 'the first revision converges').toBe('r1');

      sim.desiredRevision = 'r2';
      const noProblem = (r: Reconciled) => expect(r.decision.problem).toBeUndefined();
      const promoted = tickUntil(sim, 1500, rand, 10, (r) => r.status.stableRevision === 'r2', noProblem);
      expect(promoted, 'r2 becomes stable').toBeDefined();
      expect(promoted!.decision.activeSlot).toBe('green');
      const healthy = tickUntil(sim, 200, rand, 10, (r) => r.status.phase === 'Healthy', noProblem);
      expect(healthy?.status).toMatchObject({ stableRevision: 'r2', activeSlot: 'green' });
      expect(sim.cluster.slots.blue).toMatchObject({ revision: 'r1' });
    }), { numRuns: 150 });
  });

  it('(3) aborts a candidate that never becomes Ready or crash-loops, and ends with the stable slot whole and the candidate at 0', () => {
    const spec3 = arbRolloutSpec({ minReplicas: 1, firstWeight: 1, abortOnFailure: true, progressDeadlineSeconds: fc.integer({ min: 10, max: 300 }) });
    fc.assert(fc.property(spec3, fc.constantFrom('neverReady', 'failing'), fc.constantFrom<Slot>('blue', 'green'), fc.integer(), (specInput, how, active, seed) => {
      const rand = prng(seed);
      const sim = start(specInput, new Cluster(rand, { progress: true, [how]: new Set(['r2']) }), active);
      const total = sim.ms.spec.replicas;
      const canary = sim.ms.spec.strategy.canary;
      const floor = canary ? total - Math.max(percentOf(canary.maxUnavailable, total, Math.floor), percentOf(canary.maxSurge, total, Math.ceil) === 0 ? 1 : 0) : total;
      // A bad candidate never costs capacity: the stable slot never drops below total - maxUnavailable.
      const keepsCapacity = (r: Reconciled) => expect(plannedSize(r.decision, active)).toBeGreaterThanOrEqual(floor);
      const abort = tickUntil(sim, 400, rand, 30, (r) => r.decision.problem?.reason === 'RolloutAborted', keepsCapacity);
      expect(abort, 'the rollout is aborted').toBeDefined();
      expect(abort!.decision.problem?.message).toContain('r2');
      expect(abort!.decision.activeSlot).toBe(active);

      const whole = (r: Reconciled) => plannedSize(r.decision, active) === total && plannedSize(r.decision, otherSlot(active)) === 0;
      const stillAborted = (r: Reconciled) => expect([r.decision.problem?.reason, r.status.stableRevision, r.status.phase]).toEqual(['RolloutAborted', 'r1', 'Degraded']);
      // Planned whole at once when the candidate has no Ready pod to keep; then its pods come up.
      const wholeAndReady = (r: Reconciled) => whole(r) && sim.cluster.slots[active]?.ready === total;
      expect(tickUntil(sim, 100, rand, 30, wholeAndReady, stillAborted), 'the stable slot whole and Ready, the candidate at 0').toBeDefined();
      // And so it stays, however long.
      for (let t = 0; t < 5; t++) sim.advance(sim.reconcile().decision.plan, 3_600_000);
      const later = sim.reconcile();
      stillAborted(later);
      expect(whole(later)).toBe(true);
      expect(sim.cluster.slots[active]).toMatchObject({ revision: 'r1', ready: total });
    }), { numRuns: 150 });
  });

  type Event =
    | { kind: 'wait' }
    | { kind: 'action'; action: string }
    | { kind: 'repeat-action' }
    | { kind: 'revision'; revision: string }
    | { kind: 'scale'; replicas: number };
  const arbEvent: fc.Arbitrary<Event> = fc.oneof(
    { arbitrary: fc.constant({ kind: 'wait' as const }), weight: 20 },
    { arbitrary: fc.constantFrom(...ACTIONS, 'bogus').map((action) => ({ kind: 'action' as const, action })), weight: 3 },
    { arbitrary: fc.constant({ kind: 'repeat-action' as const }), weight: 1 },
    { arbitrary: fc.constantFrom(...REVISIONS).map((revision) => ({ kind: 'revision' as const, revision })), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 20 }).map((replicas) => ({ kind: 'scale' as const, replicas })), weight: 1 },
  );

  it('(1, 2, 4, 6) keeps every invariant through random actions, revisions, scaling and pod readiness', () => {
    const arbBehaviour = fc.record({ neverReady: fc.subarray(['r2', 'r3']), failing: fc.subarray(['r2', 'r3']) });
    fc.assert(fc.property(arbRolloutSpec(), arbBehaviour, fc.array(arbEvent, { minLength: 20, maxLength: 150 }), fc.integer(), (specInput, behaviour, events, seed) => {
      const rand = prng(seed);
      const sim = start(specInput, new Cluster(rand, { neverReady: new Set(behaviour.neverReady), failing: new Set(behaviour.failing) }));
      let stepping: { revision: string; step: number; weight: number } | undefined;
      let n = 0;
      for (const e of events) {
        const before = sim.ms.status;
        let action: { action: string; id: string } | undefined;
        if (e.kind === 'action') action = { action: e.action, id: `a${++n}` };
        if (e.kind === 'repeat-action' && before?.lastAction) action = { action: before.lastAction.action, id: before.lastAction.id };
        if (e.kind === 'revision') sim.desiredRevision = e.revision;
        if (e.kind === 'scale') sim.scale(e.replicas);

        const r = sim.reconcile(action);
        const d = r.decision;
        checkDecision(r.input, d);
        checkDeterministic(r.input, d);

        // Actions: a new one is answered once, in lastAction and one event; a repeated one changes nothing.
        const actionEvents = d.events.filter((ev) => ev.reason === 'ActionDone' || ev.reason === 'ActionRefused');
        if (e.kind === 'action') {
          expect(d.lastAction).toMatchObject({ id: action!.id, action: e.action });
          expect(actionEvents.map((ev) => ev.reason)).toEqual([d.lastAction!.ok ? 'ActionDone' : 'ActionRefused']);
        } else {
          expect(d.lastAction).toEqual(before?.lastAction);
          expect(actionEvents).toEqual([]);
        }

        // (2) within one rollout of one revision, steps and weights only go forward.
        const ro = d.rollout;
        if (sim.ms.spec.strategy.type === 'Canary' && ro?.step !== undefined) {
          if (stepping && stepping.revision === sim.desiredRevision) {
            expect(ro.step).toBeGreaterThanOrEqual(stepping.step);
            expect(ro.desiredWeight!).toBeGreaterThanOrEqual(stepping.weight);
          }
          stepping = { revision: sim.desiredRevision, step: ro.step, weight: ro.desiredWeight! };
        } else stepping = undefined;

        sim.advance(d.plan, (1 + Math.floor(rand() * 60)) * 1000);
        // (4) and, short of scaling to 0, the plan never drains the slot it serves from: its Ready pods stay as the cluster moves.
        // (A slot given a new template is left out: this crude cluster replaces all its pods at once, a Deployment would not.)
        const serving = d.plan.serviceSlot;
        const servingBefore = serving && r.input.observed[serving];
        const planned = serving && d.plan.slots[serving]?.revision;
        const retemplated = servingBefore && planned !== undefined && servingBefore.revision !== planned;
        if (servingBefore && !retemplated && sim.ms.spec.replicas > 0 && servingBefore.readyReplicas > 0) expect(sim.cluster.slots[serving!]?.ready ?? 0).toBeGreaterThan(0);
      }
    }), { numRuns: 200 });
  });
});
