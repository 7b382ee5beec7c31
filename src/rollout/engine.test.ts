import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Microservice, MicroserviceSpecInput, MicroserviceStatus, Slot } from '../api/schema.js';
import { otherSlot } from '../api/names.js';
import { arbObservedSlot, arbRolloutSpec } from '../../test/support/arbitraries.js';
import { Cluster, prng, reconcileOnce, Sim, type Reconciled } from '../../test/support/cluster.js';
import { microservice, readySlot, planFor, renderPlan, SPEC } from '../../test/support/fixtures.js';
import { candidateFor } from './weights.js';
import { ACTIONS, decide, parseAction, type Decision, type EngineInput, type RolloutStatus } from './engine.js';
import type { ObservedSlot, ObservedSlots } from './types.js';

const OLD = 'rev-old';
const NEW = 'rev-new';
const NEWER = 'rev-newer';
const T0 = new Date('2024-05-01T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const atMs = (ms: number) => new Date(T0.getTime() + ms);

/** A candidate slot whose pods exist but are not Ready. */
const unready = (revision: string, replicas: number, over: Partial<ObservedSlot> = {}) =>
  readySlot(revision, replicas, { readyReplicas: 0, availableReplicas: 0, ...over });
const crashing = (revision: string, replicas: number, over: Partial<ObservedSlot> = {}) =>
  unready(revision, replicas, { failingPods: replicas, failure: 'CrashLoopBackOff', ...over });

/** The steps every canary table below walks through, at 4 replicas: targets 1, 1, 2, 2, 3, then 4. */
const STEPS = [{ setWeight: 25 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }];

type Strategy = NonNullable<MicroserviceSpecInput['strategy']>;
const spec = (strategy: Strategy, over: Partial<MicroserviceSpecInput> = {}): MicroserviceSpecInput =>
  ({ image: 'registry.example/orders:2', replicas: 4, strategy, ...over });
type CanaryOver = Omit<Partial<MicroserviceSpecInput>, 'strategy'> & { canary?: Partial<NonNullable<Strategy['canary']>>; strategy?: Partial<Strategy> };
const canarySpec = (over: CanaryOver = {}) => {
  const { canary, strategy, ...rest } = over;
  return spec({ type: 'Canary', canary: { steps: STEPS, maxSurge: 1, maxUnavailable: 0, ...canary }, ...strategy }, rest);
};
const blueGreenSpec = (blueGreen: Strategy['blueGreen'] = { previewReplicas: 1, autoPromotionSeconds: 60, scaleDownDelaySeconds: 30 }, over: Partial<MicroserviceSpecInput> = {}) =>
  spec({ type: 'BlueGreen', blueGreen }, { replicas: 3, ...over });

/** Status of a Microservice whose stable revision is OLD in blue, rolling out NEW into green. */
/** A rollout under way as the engine writes it: a step begun at T0 (or at stepStartedAt), its clock with it. */
const rolling = (rollout: RolloutStatus = {}, over: MicroserviceStatus = {}): MicroserviceStatus => {
  const started = rollout.stepStartedAt ?? T0.toISOString();
  return {
    stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue', ...over,
    rollout: { candidateSlot: 'green', step: 0, steps: STEPS.length, stepStartedAt: started, unreadySince: started, ...rollout },
  };
};
const steadyOn = (revision: string, activeSlot: Slot = 'blue', over: MicroserviceStatus = {}): MicroserviceStatus =>
  ({ stableRevision: revision, desiredRevision: revision, activeSlot, ...over });

interface Case {
  spec: MicroserviceSpecInput;
  status?: MicroserviceStatus;
  observed?: ObservedSlots;
  desired?: string;
  now?: Date;
  action?: string;
  /** The slot the live Service selects. */
  served?: Slot;
}
function run({ spec: s, status, observed = {}, desired = NEW, now = T0, action, served }: Case): Decision {
  return decide({ ms: microservice(s, {}, status), observed, desiredRevision: desired, now, action: parseAction(action), servedSlot: served });
}
/** The planned sizes, as `{ blue: '4 keep', green: '1 current' }`, for tables that read well. */
const sizes = (d: Decision, desired = NEW) => Object.fromEntries(Object.entries(d.plan.slots).map(([slot, p]) => [slot, `${p.replicas} ${p.revision === desired ? 'current' : 'keep'}`]));

describe('parseAction', () => {
  it.each<[string | undefined, { action: string; id: string } | undefined]>([
    ['promote:abc', { action: 'promote', id: 'abc' }],
    ['promote-full:lz3k-9f2a1c', { action: 'promote-full', id: 'lz3k-9f2a1c' }],
    ['abort', { action: 'abort', id: 'abort' }],
    ['undo:a:b', { action: 'undo', id: 'a:b' }],
    ['', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (value, expected) => {
    expect(parseAction(value)).toEqual(expected);
  });
});

describe('the first revision', () => {
  it.each<[Strategy['type'], Slot | undefined, Slot | undefined]>([
    ['RollingUpdate', undefined, undefined],
    ['Canary', undefined, 'blue'],
    ['BlueGreen', 'blue', 'blue'],
  ])('goes straight to full size in the blue slot with %s (Service on %s, preview on %s)', (type, serviceSlot, previewSlot) => {
    const strategy: Strategy = type === 'Canary' ? { type, canary: { steps: STEPS } } : { type };
    // Nothing yet, or a first try of another revision that never came up.
    for (const observed of [{}, { blue: unready(OLD, 1) }]) {
      const d = run({ spec: spec(strategy), observed });
      expect(d.activeSlot).toBe('blue');
      expect(d.plan.slots).toEqual({ blue: { replicas: 4, revision: NEW } });
      expect([d.plan.serviceSlot, d.plan.previewSlot]).toEqual([serviceSlot, previewSlot]);
      expect(d.inProgress).toBe(true);
      expect([d.stableRevision, d.rollout, d.problem, d.waiting]).toEqual([undefined, undefined, undefined, undefined]);
    }
  });

  it('ignores canary steps and blue-green promotion: no weights, no pauses', () => {
    const d = run({ spec: canarySpec(), status: { desiredRevision: NEW, activeSlot: 'blue' }, observed: { blue: readySlot(NEW, 2) } });
    expect(sizes(d)).toEqual({ blue: '4 current' });
    expect(d.rollout).toBeUndefined();
  });

  it('is no longer in progress once blue runs it', () => {
    expect(run({ spec: blueGreenSpec(), observed: { blue: readySlot(NEW, 3) } }).inProgress).toBe(false);
  });

  it('serves blue-green from the slot with Ready pods when status is lost and only green has them', () => {
    const d = run({ spec: blueGreenSpec(), observed: { blue: unready(NEW, 3), green: readySlot(OLD, 3) } });
    expect(d.activeSlot).toBe('blue');
    expect(d.plan.serviceSlot).toBe('green');
  });
});

describe('RollingUpdate', () => {
  const ru = (over: Partial<MicroserviceSpecInput> = {}) => spec({ type: 'RollingUpdate' }, over);
  const converged = steadyOn(OLD, 'green');

  it('rolls the active slot to the current spec at full size and keeps the idle slot at 0', () => {
    const d = run({ spec: ru(), status: converged, observed: { green: readySlot(OLD, 4), blue: readySlot('rev-older', 0) } });
    expect(d.activeSlot).toBe('green');
    expect(sizes(d)).toEqual({ green: '4 current', blue: '0 keep' });
    expect([d.plan.serviceSlot, d.plan.previewSlot, d.plan.pauseDeployments]).toEqual([undefined, undefined, false]);
    expect(d.inProgress).toBe(true);
  });

  it('plans no idle slot that does not exist', () => {
    expect(sizes(run({ spec: ru(), status: converged, observed: { green: readySlot(OLD, 4) } }))).toEqual({ green: '4 current' });
  });

  it('with spec.paused, pauses the Deployments and says why while a rollout is due', () => {
    const d = run({ spec: ru({ paused: true }), status: converged, observed: { green: readySlot(OLD, 4) } });
    expect(d.plan.pauseDeployments).toBe(true);
    expect(d.waiting).toBe('paused by spec.paused');
    const reconciled = reconcileOnce({ ms: microservice(ru({ paused: true }), {}, converged), observed: { green: readySlot(OLD, 4) }, desiredRevision: NEW, now: T0 });
    expect(reconciled.status.phase).toBe('Paused');
  });

  it('with spec.paused and nothing to roll out, waits for nothing', () => {
    const d = run({ spec: ru({ paused: true }), status: steadyOn(NEW, 'green'), observed: { green: readySlot(NEW, 4) } });
    expect(d.plan.pauseDeployments).toBe(true);
    expect([d.waiting, d.inProgress]).toEqual([undefined, false]);
  });

  it('with spec.paused, waits while the paused Deployment holds its pods back, though its template is already the spec', () => {
    // The Deployment took the new template (its revision label) but, paused, updated no pod.
    const held = readySlot(NEW, 4, { updatedReplicas: 0 });
    const d = run({ spec: ru({ paused: true }), status: steadyOn(OLD, 'green'), observed: { green: held } });
    expect([d.waiting, d.inProgress]).toEqual(['paused by spec.paused', true]);
    const { status } = reconcileOnce({ ms: microservice(ru({ paused: true }), {}, steadyOn(OLD, 'green')), observed: { green: held }, desiredRevision: NEW, now: T0 });
    expect(status.phase).toBe('Paused');
    expect(status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('pauses and resumes through actions', () => {
    const paused = run({ spec: ru(), status: converged, observed: { green: readySlot(OLD, 4) }, action: 'pause:1' });
    expect(paused.rollout).toEqual({ paused: true });
    expect(paused.plan.pauseDeployments).toBe(true);
    expect(paused.waiting).toBe('paused by kubectl coxswain pause');
    expect(paused.lastAction).toMatchObject({ id: '1', action: 'pause', ok: true });

    const resumed = run({ spec: ru(), status: { ...converged, rollout: { paused: true } }, observed: { green: readySlot(OLD, 4) }, action: 'resume:2' });
    expect([resumed.rollout, resumed.plan.pauseDeployments, resumed.waiting]).toEqual([undefined, false, undefined]);
  });

  it('restarts the pods through an action', () => {
    const d = run({ spec: ru(), status: steadyOn(NEW, 'green'), observed: { green: readySlot(NEW, 4) }, action: 'restart:r1', now: at(5) });
    expect(d.restartedAt).toBe(iso(5));
    expect(d.plan.restartedAt).toBe(iso(5));
    expect(d.events).toEqual([{ type: 'Normal', reason: 'ActionDone', message: expect.stringContaining('restart') }]);
  });

  it.each(['promote', 'promote-full', 'abort', 'retry', 'undo'])('refuses %s in a plain sentence and changes nothing', (action) => {
    const c: Case = { spec: ru(), status: converged, observed: { green: readySlot(OLD, 4), blue: readySlot('rev-older', 0) } };
    const d = run({ ...c, action: `${action}:x` });
    expect(d.lastAction).toEqual({ id: 'x', action, at: T0.toISOString(), ok: false, message: `orders uses RollingUpdate, which has no steps to ${action}` });
    expect(d.events).toEqual([{ type: 'Warning', reason: 'ActionRefused', message: `${action}: orders uses RollingUpdate, which has no steps to ${action}` }]);
    expect(d.plan).toEqual(run(c).plan);
  });
});

describe('canary: setWeight steps', () => {
  // Step 0 wants 1 candidate pod of 4 and the stable slot down to 3; maxSurge 1 allows 5 pods in all.
  it.each<[string, ObservedSlots, number, Record<string, string>]>([
    ['no candidate yet: the stable slot stays whole', { blue: readySlot(OLD, 4) }, 0, { blue: '4 keep', green: '1 current' }],
    ['the candidate pod exists but is not Ready', { blue: readySlot(OLD, 4), green: unready(NEW, 1) }, 0, { blue: '4 keep', green: '1 current' }],
    ['the candidate is Ready: the stable slot may shrink, but has not yet', { blue: readySlot(OLD, 4), green: readySlot(NEW, 1) }, 0, { blue: '3 keep', green: '1 current' }],
    ['the candidate Deployment has not seen its spec', { blue: readySlot(OLD, 3), green: readySlot(NEW, 1, { settled: false }) }, 0, { blue: '3 keep', green: '1 current' }],
    ['the candidate Deployment wants fewer pods than the step', { blue: readySlot(OLD, 3), green: readySlot(NEW, 0, { currentReplicas: 1, readyReplicas: 1 }) }, 0, { blue: '3 keep', green: '1 current' }],
    ['the candidate is Ready and the stable slot has shrunk: on to the pause', { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, 1, { blue: '3 keep', green: '1 current' }],
  ])('%s', (_what, observed, step, expected) => {
    const d = run({ spec: canarySpec(), status: rolling(), observed });
    expect(d.rollout?.step).toBe(step);
    expect(d.rollout?.desiredWeight).toBe(25);
    expect(sizes(d)).toEqual(expected);
    expect([d.activeSlot, d.plan.serviceSlot, d.plan.previewSlot, d.inProgress]).toEqual(['blue', undefined, 'green', true]);
    expect(d.problem).toBeUndefined();
  });

  it('first clears a candidate slot that runs another revision: the stable slot refills, and the slot drains as it does', () => {
    const clearing = run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEWER, 1) } });
    expect(sizes(clearing)).toEqual({ blue: '4 keep', green: '1 keep' });
    expect(clearing.rollout?.message).toContain(`clearing the green slot of revision ${NEWER}`);
    expect(clearing.plan.serviceSlot).toBeUndefined(); // both serve until the stable slot can carry the load
    const refilled = run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 4), green: readySlot(NEWER, 1) } });
    expect(sizes(refilled)).toEqual({ blue: '4 keep', green: '0 keep' });
    expect(refilled.plan.serviceSlot).toBe('blue'); // the replaced revision serves no more
    const cleared = run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 4), green: readySlot(NEWER, 0) } });
    expect(sizes(cleared)).toEqual({ blue: '4 keep', green: '1 current' });
  });

  it('starts a rollout from a steady state at step 0, into the idle slot', () => {
    const d = run({ spec: canarySpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 4), green: readySlot('rev-older', 0) }, now: at(7) });
    expect(d.rollout).toMatchObject({ candidateSlot: 'green', step: 0, steps: 5, stepStartedAt: iso(7), desiredWeight: 25, weight: 0 });
    expect(sizes(d)).toEqual({ blue: '4 keep', green: '1 current' });
  });

  it('reports the weight as the share of Ready pods on the candidate', () => {
    expect(run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 1) } }).rollout?.weight).toBe(20);
    expect(run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) } }).rollout?.weight).toBe(25);
  });

  it('passes several steps in one reconcile when they are already met', () => {
    const steps = [{ setWeight: 25 }, { setWeight: 25 }, { setWeight: 50 }];
    const d = run({ spec: canarySpec({ canary: { steps } }), status: rolling({ steps: 3 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) } });
    expect(d.rollout).toMatchObject({ step: 2, desiredWeight: 50 });
  });

  it('follows spec.replicas mid-rollout (an HPA, kubectl scale) at the same weight', () => {
    const at50 = rolling({ step: 2, desiredWeight: 50 });
    const observed = { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) };
    // 10 pods at 50%: 5 candidates; 2 are Ready, so the stable slot goes back up to 8 and one more candidate fits under the surge.
    const up = run({ spec: canarySpec({ replicas: 10 }), status: at50, observed });
    expect(up.rollout).toMatchObject({ step: 2, desiredWeight: 50 });
    expect(sizes(up)).toEqual({ blue: '8 keep', green: '3 current' });
    // 2 pods at 50%: 1 candidate.
    const down = run({ spec: canarySpec({ replicas: 2 }), status: at50, observed });
    expect(down.rollout).toMatchObject({ step: 2, desiredWeight: 50 });
    expect(sizes(down)).toEqual({ blue: '1 keep', green: '1 current' });
  });
});

describe('canary: timed pause', () => {
  const atPause = rolling({ step: 1, stepStartedAt: iso(0), pausedUntil: iso(300) });
  const observed = { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) };

  it('sets pausedUntil on reaching it and asks to be called back then', () => {
    const d = run({ spec: canarySpec(), status: rolling(), observed, now: at(10) });
    expect(d.rollout).toMatchObject({ step: 1, pausedUntil: iso(310), stepStartedAt: iso(10) });
    expect(d.requeueAfterMs).toBe(300_000);
    expect(d.rollout?.message).toContain(iso(310));
    expect(d.waiting).toBeUndefined();
  });

  it.each([0, 60, 299])('holds at %s s, with the same pausedUntil', (seconds) => {
    const d = run({ spec: canarySpec(), status: atPause, observed, now: at(seconds) });
    expect(d.rollout).toMatchObject({ step: 1, pausedUntil: iso(300) });
    expect(d.requeueAfterMs).toBe((300 - seconds) * 1000);
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '1 current' });
  });

  it.each([300, 301, 86_400])('moves on at %s s, to setWeight 50', (seconds) => {
    const d = run({ spec: canarySpec(), status: atPause, observed, now: at(seconds) });
    expect(d.rollout).toMatchObject({ step: 2, desiredWeight: 50, stepStartedAt: iso(seconds) });
    expect(d.rollout?.pausedUntil).toBeUndefined();
    // 2 candidates wanted, 1 Ready: the stable slot keeps 3, the candidate grows to 2.
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '2 current' });
  });

  it('survives an operator restart: status alone carries the pause', () => {
    const ms = microservice(canarySpec(), {}, rolling());
    const first = reconcileOnce({ ms, observed, desiredRevision: NEW, now: at(10) });
    // Another process, two minutes later, sees only what the first wrote.
    const second = decide({ ms: { ...ms, status: first.status }, observed, desiredRevision: NEW, now: at(130) });
    expect(second.rollout?.pausedUntil).toBe(iso(310));
    expect(second.requeueAfterMs).toBe(180_000);
    const third = decide({ ms: { ...ms, status: first.status }, observed, desiredRevision: NEW, now: at(310) });
    expect(third.rollout?.step).toBe(2);
  });
});

describe('canary: pause until promoted', () => {
  const atPause = rolling({ step: 3 });
  const observed = { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) };

  it('waits however long it takes, and says how to go on', () => {
    for (const now of [at(0), at(86_400 * 30)]) {
      const d = run({ spec: canarySpec(), status: atPause, observed, now });
      expect(d.rollout).toMatchObject({ step: 3, desiredWeight: 50 });
      expect(d.waiting).toBe('waiting for promotion at step 3: kubectl coxswain promote orders');
      expect([d.requeueAfterMs, d.problem]).toEqual([undefined, undefined]);
      expect(sizes(d)).toEqual({ blue: '2 keep', green: '2 current' });
    }
  });

  it('shows as phase Paused', () => {
    const { status } = reconcileOnce({ ms: microservice(canarySpec(), {}, atPause), observed, desiredRevision: NEW, now: T0 });
    expect(status.phase).toBe('Paused');
    expect(status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('goes on to setWeight 75 on promote', () => {
    const d = run({ spec: canarySpec(), status: atPause, observed, action: 'promote:p1', now: at(5) });
    expect(d.rollout).toMatchObject({ step: 4, desiredWeight: 75, stepStartedAt: iso(5) });
    expect(d.waiting).toBeUndefined();
    expect(sizes(d)).toEqual({ blue: '2 keep', green: '3 current' });
    expect(d.lastAction).toEqual({ id: 'p1', action: 'promote', at: iso(5), ok: true, message: expect.stringContaining('pause') });
    expect(d.events).toEqual([{ type: 'Normal', reason: 'ActionDone', message: expect.stringMatching(/^promote: /) }]);
  });

  it('goes past a timed pause on promote, before its time', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 1, pausedUntil: iso(300) }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, action: 'promote:p', now: at(10) });
    expect(d.rollout).toMatchObject({ step: 2 });
    expect(d.rollout?.pausedUntil).toBeUndefined();
  });

  it('refuses promote away from a pause, and stays where it is', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 2 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 2, { readyReplicas: 1 }) }, action: 'promote:p2' });
    expect(d.lastAction).toMatchObject({ ok: false, message: 'orders is not paused; nothing to promote' });
    expect(d.events).toEqual([{ type: 'Warning', reason: 'ActionRefused', message: 'promote: orders is not paused; nothing to promote' }]);
    expect(d.rollout?.step).toBe(2);
  });

  it('goes past the pause on promote even while paused by kubectl coxswain pause, and holds at the next step', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 3, paused: true }), observed, action: 'promote:p3' });
    expect(d.lastAction).toMatchObject({ ok: true });
    expect(d.rollout).toMatchObject({ step: 4, paused: true });
    expect(d.waiting).toBe('paused by kubectl coxswain pause');
  });

  it('jumps to 100% on promote-full, from any step', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 0 }), observed: { blue: readySlot(OLD, 4) }, action: 'promote-full:f', now: at(3) });
    expect(d.rollout).toMatchObject({ step: 5, desiredWeight: 100, stepStartedAt: iso(3) });
    expect(d.lastAction).toMatchObject({ ok: true, action: 'promote-full' });
    // Still capped: the stable slot gives way only as the candidate's pods become Ready.
    expect(sizes(d)).toEqual({ blue: '4 keep', green: '1 current' });
  });
});

describe('canary: completion', () => {
  it('flips the pointer once the candidate is fully Ready and the stable slot is empty', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 5 }), observed: { blue: readySlot(OLD, 0), green: readySlot(NEW, 4) } });
    expect(d.activeSlot).toBe('green');
    expect(d.stableRevision).toBe(NEW);
    expect(sizes(d)).toEqual({ green: '4 current', blue: '0 keep' });
    // The rollout is over; what stays is the revision undo would return to.
    // `<name>-preview` follows the new stable slot, never the replaced one.
    expect([d.rollout, d.inProgress, d.waiting, d.plan.previewSlot]).toEqual([{ previousRevision: OLD }, false, undefined, 'green']);
  });

  it('holds the flip while paused, and says so', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 5, paused: true }), observed: { blue: readySlot(OLD, 0), green: readySlot(NEW, 4) } });
    expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
    expect(d.waiting).toBe('paused by kubectl coxswain pause');
  });

  it('asks to be woken at the progress deadline while the candidate is not Ready, with no event needed', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 0 }), observed: { blue: readySlot(OLD, 4), green: unready(NEW, 1) }, now: at(100) });
    const deadlineMs = microservice(canarySpec()).spec.strategy.progressDeadlineSeconds * 1000;
    expect(d.requeueAfterMs).toBe(deadlineMs - 100_000 + 1000);
    const later = run({ spec: canarySpec(), status: rolling({ step: 0 }), observed: { blue: readySlot(OLD, 4), green: unready(NEW, 1) }, now: at(deadlineMs / 1000 + 1) });
    expect(later.problem?.reason).toBe('RolloutAborted');
  });

  it('waits for the last stable pod to go before the flip', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 5 }), observed: { blue: readySlot(OLD, 1), green: readySlot(NEW, 4) } });
    expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
    expect(d.rollout).toMatchObject({ step: 5, desiredWeight: 100 });
    expect(sizes(d)).toEqual({ blue: '0 keep', green: '4 current' });
  });

  it('goes from the last setWeight to 100%', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 4 }), observed: { blue: readySlot(OLD, 1), green: readySlot(NEW, 3) } });
    expect(d.rollout).toMatchObject({ step: 5, desiredWeight: 100 });
    expect(sizes(d)).toEqual({ blue: '1 keep', green: '4 current' });
  });

  it('is reported Healthy with the new stable revision once the old slot is empty', () => {
    const ms = microservice(canarySpec(), {}, rolling({ step: 5 }));
    const observed = { blue: readySlot(OLD, 0), green: readySlot(NEW, 4) };
    const { status } = reconcileOnce({ ms, observed, desiredRevision: NEW, now: T0 });
    expect(status).toMatchObject({ phase: 'Healthy', stableRevision: NEW, activeSlot: 'green' });
    expect(status.rollout).toEqual({ previousRevision: OLD });
    // And the next reconcile is steady: nothing changes.
    const next = decide({ ms: { ...ms, status }, observed, desiredRevision: NEW, now: at(1) });
    expect([next.activeSlot, next.inProgress, next.rollout]).toEqual(['green', false, { previousRevision: OLD }]);
    expect(sizes(next)).toEqual({ green: '4 current', blue: '0 keep' });
  });
});

describe('canary: the desired revision changes mid-rollout', () => {
  const observed = { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) };

  it('restarts from step 0 with the newest revision: the stable slot refills, and the replaced candidate drains as it does', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 3, desiredWeight: 50 }), observed, desired: NEWER, now: at(60) });
    expect(d.rollout).toMatchObject({ candidateSlot: 'green', step: 0, stepStartedAt: iso(60) });
    // Still a rollout, within maxSurge 1: the stable slot grows to 3 while the replaced candidate keeps its 2 Ready pods.
    expect(sizes(d, NEWER)).toEqual({ blue: '3 keep', green: '2 keep' });
    expect(d.stableRevision).toBe(OLD);
    const refilled = run({ spec: canarySpec(), status: rolling({ step: 3, desiredWeight: 50 }), observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 0) }, desired: NEWER, now: at(60) });
    expect(sizes(refilled, NEWER)).toEqual({ blue: '4 keep', green: '1 current' });
    expect(refilled.rollout).toMatchObject({ step: 0, desiredWeight: 25 });
  });

  it('keeps a kubectl pause across the restart', () => {
    expect(run({ spec: canarySpec(), status: rolling({ step: 3, paused: true }), observed, desired: NEWER }).rollout).toMatchObject({ step: 0, paused: true });
  });

  it('goes back to the stable revision at once, and the candidate drains only as the stable slot refills', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 3 }), observed, desired: OLD });
    expect(sizes(d, OLD)).toEqual({ blue: '4 current', green: '2 keep' });
    expect([d.activeSlot, d.stableRevision, d.rollout, d.inProgress, d.problem]).toEqual(['blue', OLD, undefined, false, undefined]);
    const refilled = run({ spec: canarySpec(), status: rolling({ step: 3 }), observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 2) }, desired: OLD });
    expect(sizes(refilled, OLD)).toEqual({ blue: '4 current', green: '0 keep' });
    expect(refilled.plan.serviceSlot).toBe('blue'); // the replaced revision serves no more
  });
});

describe('canary: failure', () => {
  it.each<[string, ObservedSlots, Record<string, string>]>([
    ['crash-looping right away: the candidate goes', { blue: readySlot(OLD, 4), green: crashing(NEW, 1) }, { blue: '4 keep', green: '0 keep' }],
    ['after the stable slot shrank: its crash-looping pod goes at once, serving nothing', { blue: readySlot(OLD, 3), green: crashing(NEW, 1) }, { blue: '4 keep', green: '0 keep' }],
    ['after the stable slot shrank: its Ready pod stays until the stable slot is whole again', { blue: readySlot(OLD, 3), green: crashing(NEW, 2, { readyReplicas: 1, availableReplicas: 1 }) }, { blue: '4 keep', green: '1 keep' }],
    ['with stable pods not Ready: the candidate never grows', { blue: readySlot(OLD, 4, { readyReplicas: 1, availableReplicas: 1 }), green: crashing(NEW, 2, { readyReplicas: 1, availableReplicas: 1 }) }, { blue: '4 keep', green: '1 keep' }],
  ])('aborts when candidate pods fail, %s', (_what, observed, expected) => {
    const d = run({ spec: canarySpec(), status: rolling(), observed });
    expect(d.problem?.reason).toBe('RolloutAborted');
    expect(d.problem?.message).toContain(`revision ${NEW}`);
    expect(d.problem?.message).toContain('CrashLoopBackOff');
    expect(d.rollout).toMatchObject({ abortedRevision: NEW });
    expect(d.rollout?.step).toBeUndefined();
    expect(sizes(d)).toEqual(expected);
    expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
  });

  it('does not blame the new revision for failing pods of an older candidate', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 3 }), observed: { blue: readySlot(OLD, 2), green: crashing(NEW, 2) }, desired: NEWER });
    expect(d.problem).toBeUndefined();
    expect(d.rollout).toMatchObject({ step: 0 });
  });

  it.each<[string, string, Date, boolean]>([
    ['not Ready at the deadline', iso(0), at(600), false],
    ['not Ready just past the deadline', iso(0), atMs(600_001), true],
    ['not Ready, the step begun five minutes ago', iso(600), at(900), false],
  ])('%s: aborted %s', (_what, stepStartedAt, now, aborted) => {
    const d = run({ spec: canarySpec(), status: rolling({ stepStartedAt }), observed: { blue: readySlot(OLD, 4), green: unready(NEW, 1) }, now });
    expect(d.rollout?.abortedRevision).toBe(aborted ? NEW : undefined);
    if (aborted) expect(d.problem).toEqual({ reason: 'RolloutAborted', message: expect.stringContaining('did not become ready within 600s') });
  });

  describe('a long pause, then the candidate falls short', () => {
    const paused = (rollout: RolloutStatus = {}) => rolling({ step: 1, steps: 2, unreadySince: undefined, ...rollout });
    const pauseSpec = canarySpec({ strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 } } });

    it('stops the clock while the candidate has its pods', () => {
      const d = run({ spec: pauseSpec, status: rolling({ step: 1, steps: 2 }), observed: { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) }, now: at(3600) });
      expect(d.rollout?.unreadySince).toBeUndefined();
      expect(d.problem).toBeUndefined();
    });

    it.each<[string, ObservedSlots]>([
      ['a candidate pod goes unready (an eviction, a probe blip)', { blue: readySlot(OLD, 2), green: readySlot(NEW, 2, { readyReplicas: 1, availableReplicas: 1 }) }],
      ['the HPA grows the total, so the step needs more candidate pods', { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) }],
    ])('an hour into the pause, %s: a fresh deadline, not an abort', (_what, observed) => {
      const grown = _what.startsWith('the HPA');
      const spec = grown ? { ...pauseSpec, replicas: 8 } : pauseSpec;
      const d = run({ spec, status: paused(), observed, now: at(3600) });
      expect(d.problem).toBeUndefined();
      expect(d.rollout?.unreadySince).toBe(iso(3600));
      const later = run({ spec, status: paused({ unreadySince: iso(3600) }), observed, now: at(3600 + 601) });
      expect(later.problem?.reason).toBe('RolloutAborted');
    });
  });

  it('starts over when the strategy is switched to BlueGreen mid-canary, instead of sticking at a step BlueGreen does not have', () => {
    const d = run({ spec: blueGreenSpec(), status: rolling({ step: 2 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 2) }, now: at(5) });
    expect(d.rollout).toMatchObject({ step: 0, steps: 1, stepStartedAt: iso(5) });
  });

  it('starts over when a one-step canary is switched to BlueGreen, though both have one step', () => {
    const d = run({ spec: blueGreenSpec(), status: rolling({ step: 1, steps: 1, strategy: 'Canary' }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(5) });
    expect(d.rollout).toMatchObject({ step: 0, steps: 1, strategy: 'BlueGreen', stepStartedAt: iso(5) });
    expect(d.activeSlot).toBe('blue'); // not flipped: the preview waits for its promotion
  });

  it('goes on with a rollout whose status predates the recorded strategy', () => {
    const d = run({ spec: blueGreenSpec(), status: rolling({ step: 0, steps: 1, pausedUntil: iso(80) }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now: at(10) });
    expect(d.rollout).toMatchObject({ step: 0, pausedUntil: iso(80), stepStartedAt: iso(0) });
  });

  it('is not too slow when the candidate is Ready and the stable slot is still shrinking', () => {
    const d = run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 1) }, now: at(3600) });
    expect(d.problem).toBeUndefined();
  });

  it('without abortOnFailure, reports the failure and holds', () => {
    const s = canarySpec({ strategy: { abortOnFailure: false } });
    for (const [observed, now] of [[{ blue: readySlot(OLD, 4), green: crashing(NEW, 1) }, at(1)], [{ blue: readySlot(OLD, 4), green: unready(NEW, 1) }, at(601)]] as const) {
      const d = run({ spec: s, status: rolling(), observed, now });
      expect(d.problem).toEqual({ reason: 'RolloutFailing', message: expect.stringContaining('abortOnFailure is false') });
      expect(d.problem?.message).toContain(NEW);
      expect(d.rollout?.abortedRevision).toBeUndefined();
      expect(d.rollout?.step).toBe(0);
      expect(sizes(d)).toEqual({ blue: '4 keep', green: '1 current' });
    }
  });

  describe('once aborted', () => {
    const aborted: MicroserviceStatus = { ...steadyOn(OLD), desiredRevision: NEW, rollout: { abortedRevision: NEW, message: 'pods failed' } };

    it('stays aborted with the same desired revision, whatever the time', () => {
      for (const observed of [{ blue: readySlot(OLD, 3), green: crashing(NEW, 1) }, { blue: readySlot(OLD, 4), green: readySlot(NEW, 0) }]) {
        const d = run({ spec: canarySpec(), status: aborted, observed, now: at(86_400) });
        expect(d.problem?.reason).toBe('RolloutAborted');
        expect(d.problem?.message).toContain(NEW);
        expect(d.rollout).toEqual({ abortedRevision: NEW, message: 'pods failed' });
        expect(d.plan.slots.blue).toEqual({ replicas: 4, revision: OLD }); // rebuilt from its own revision
      }
    });

    it('drains the candidate as the stable slot becomes Ready', () => {
      const d = run({ spec: canarySpec(), status: aborted, observed: { blue: readySlot(OLD, 4), green: crashing(NEW, 1) } });
      expect(sizes(d)).toEqual({ blue: '4 keep', green: '0 keep' });
    });

    it('is Degraded, Stalled with reason RolloutAborted', () => {
      const { status } = reconcileOnce({ ms: microservice(canarySpec(), {}, aborted), observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 0) }, desiredRevision: NEW, now: T0 });
      expect(status.phase).toBe('Degraded');
      expect(status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'RolloutAborted' });
    });

    it('starts a new rollout for a different desired revision', () => {
      const d = run({ spec: canarySpec(), status: aborted, observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 0) }, desired: NEWER, now: at(9) });
      expect(d.problem).toBeUndefined();
      expect(d.rollout).toMatchObject({ candidateSlot: 'green', step: 0, stepStartedAt: iso(9) });
      expect(d.rollout?.abortedRevision).toBeUndefined();
      expect(sizes(d, NEWER)).toEqual({ blue: '4 keep', green: '1 current' });
    });

    it('rolls the same revision out again from step 0 on retry', () => {
      const d = run({ spec: canarySpec(), status: aborted, observed: { blue: readySlot(OLD, 4), green: readySlot(NEW, 0) }, action: 'retry:t', now: at(9) });
      expect(d.problem).toBeUndefined();
      expect(d.rollout).toMatchObject({ step: 0, stepStartedAt: iso(9), desiredWeight: 25 });
      expect(d.lastAction).toMatchObject({ ok: true, action: 'retry' });
    });
  });

  it('refuses retry when nothing was aborted', () => {
    const d = run({ spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, 4) }, action: 'retry:t' });
    expect(d.lastAction).toMatchObject({ ok: false, message: 'orders has no aborted rollout; nothing to retry' });
  });

  it('aborts on the abort action, the stable revision serving', () => {
    const d = run({ spec: canarySpec(), status: rolling({ step: 2 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 2) }, action: 'abort:a' });
    expect(d.rollout).toMatchObject({ abortedRevision: NEW });
    expect(d.problem?.reason).toBe('RolloutAborted');
    expect(d.plan.slots.blue).toEqual({ replicas: 4, revision: OLD });
    expect(d.lastAction).toMatchObject({ ok: true, action: 'abort', message: expect.stringContaining(NEW) });
  });

  it('refuses abort with no rollout in progress', () => {
    const d = run({ spec: canarySpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 4) }, desired: OLD, action: 'abort:a' });
    expect(d.lastAction).toMatchObject({ ok: false, message: 'orders has no rollout in progress; nothing to abort' });
  });
});

describe('blue-green', () => {
  const bgRolling = (rollout: RolloutStatus = {}): MicroserviceStatus => rolling({ steps: 1, ...rollout });

  it('brings the candidate up at previewReplicas behind the preview Service, serving from the active slot', () => {
    const d = run({ spec: blueGreenSpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 3) }, now: at(2) });
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '1 current' });
    expect([d.plan.serviceSlot, d.plan.previewSlot]).toEqual(['blue', 'green']);
    expect(d.rollout).toMatchObject({ candidateSlot: 'green', step: 0, steps: 1, stepStartedAt: iso(2), desiredWeight: 0 });
    expect(d.inProgress).toBe(true);
  });

  it.each<[number | undefined, string]>([[undefined, '3 current'], [2, '2 current'], [9, '3 current']])('with previewReplicas %s, plans the candidate at %s', (previewReplicas, expected) => {
    const d = run({ spec: blueGreenSpec({ previewReplicas }), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 3) } });
    expect(sizes(d).green).toBe(expected);
  });

  it('schedules the promotion autoPromotionSeconds after the preview is Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now: at(20) });
    expect(d.rollout).toMatchObject({ step: 0, pausedUntil: iso(80) });
    expect(d.requeueAfterMs).toBe(60_000);
    expect(d.plan.serviceSlot).toBe('blue');
  });

  it('does not schedule it before the preview is Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: unready(NEW, 1) }, now: at(20) });
    expect(d.rollout?.pausedUntil).toBeUndefined();
    // The only wake-up asked for is the progress deadline (600 s from the step's start), not a promotion.
    expect(d.requeueAfterMs).toBe(600_000 - 20_000 + 1000);
  });

  it.each<[number, number, string]>([[79, 0, '1 current'], [80, 1, '3 current'], [500, 1, '3 current']])('at %s s, is at step %s with the candidate at %s', (seconds, step, candidate) => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ pausedUntil: iso(80) }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now: at(seconds) });
    expect(d.rollout?.step).toBe(step);
    expect(sizes(d)).toEqual({ blue: '3 keep', green: candidate });
    expect(d.plan.serviceSlot).toBe('blue');
    expect(d.rollout?.desiredWeight).toBe(step === 1 ? 100 : 0);
  });

  it('without autoPromotionSeconds, waits for promote however long it takes', () => {
    for (const now of [at(0), at(86_400)]) {
      const d = run({ spec: blueGreenSpec({ previewReplicas: 1 }), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now });
      expect(d.waiting).toBe('preview ready at orders-preview; waiting for promotion: kubectl coxswain promote orders');
      expect([d.rollout?.step, d.rollout?.pausedUntil, d.requeueAfterMs]).toEqual([0, undefined, undefined]);
    }
  });

  it('promotes on promote: the candidate to full size, the Service still on the active slot', () => {
    const d = run({ spec: blueGreenSpec({ previewReplicas: 1 }), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, action: 'promote:p', now: at(4) });
    expect(d.rollout).toMatchObject({ step: 1, stepStartedAt: iso(4), desiredWeight: 100 });
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '3 current' });
    expect(d.plan.serviceSlot).toBe('blue');
    expect(d.lastAction).toMatchObject({ ok: true });
  });

  it('refuses promote while already promoting', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: unready(NEW, 3) }, action: 'promote:p' });
    expect(d.lastAction).toMatchObject({ ok: false, message: 'orders is not paused; nothing to promote' });
  });

  it('flips Service and active slot once the candidate is fully Ready, keeping the old slot until scaleDownAt', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(100) });
    expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot, d.plan.previewSlot]).toEqual(['green', NEW, 'green', 'green']);
    expect(sizes(d)).toEqual({ green: '3 current', blue: '3 keep' });
    expect(d.rollout).toEqual({ scaleDownAt: iso(130), previousRevision: OLD });
    expect(d.requeueAfterMs).toBe(30_000);
    expect(d.inProgress).toBe(true);
  });

  it('holds the switch while spec.paused, even once the candidate is fully Ready', () => {
    const d = run({ spec: blueGreenSpec(undefined, { paused: true }), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(100) });
    expect([d.activeSlot, d.plan.serviceSlot, d.waiting]).toEqual(['blue', 'blue', 'paused by spec.paused']);
  });

  it('does not flip while a candidate pod is not Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 2 }) } });
    expect([d.activeSlot, d.plan.serviceSlot]).toEqual(['blue', 'blue']);
  });

  it.each<[number, string, boolean]>([[129, '3 keep', true], [130, '0 keep', false], [1000, '0 keep', false]])('at %s s, after the flip, plans the old slot at %s', (seconds, old, inProgress) => {
    const d = run({ spec: blueGreenSpec(), status: steadyOn(NEW, 'green', { rollout: { scaleDownAt: iso(130) } }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(seconds) });
    expect(sizes(d)).toEqual({ green: '3 current', blue: old });
    expect(d.inProgress).toBe(inProgress);
    expect(d.rollout).toEqual(inProgress ? { scaleDownAt: iso(130) } : undefined);
  });

  it('keeps the idle slot serving until the active slot can carry its load, not just its first Ready pod', () => {
    // Reached by: an abandoned rollout, undo back to its (never Ready) revision, then the spec set to it.
    const status = steadyOn(NEW, 'green');
    const served = 'blue';
    const waiting = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: unready(NEW, 3) } });
    expect(waiting.plan.serviceSlot).toBe('blue');
    expect(sizes(waiting)).toEqual({ green: '3 current', blue: '3 keep' });
    const one = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 1 }) } });
    expect(one.plan.serviceSlot).toBe('blue');
    expect(sizes(one)).toEqual({ green: '3 current', blue: '3 keep' });
    const all = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) } });
    expect(all.plan.serviceSlot).toBe('green');
    expect(sizes(all)).toEqual({ green: '3 current', blue: '0 keep' });
  });

  it('switches to a returning slot that matches what a partly Ready other slot serves', () => {
    const status = steadyOn(NEW, 'green');
    const d = run({ spec: blueGreenSpec(), status, served: 'blue', observed: { blue: readySlot(OLD, 3, { readyReplicas: 2 }), green: readySlot(NEW, 3, { readyReplicas: 2 }) } });
    expect(d.plan.serviceSlot).toBe('green');
  });

  it('never sends traffic to an unpromoted preview because a stable pod restarted', () => {
    const observed = { blue: readySlot(OLD, 3, { readyReplicas: 2, availableReplicas: 2 }), green: readySlot(NEW, 3) };
    const d = run({ spec: blueGreenSpec({ scaleDownDelaySeconds: 30 }), status: bgRolling(), served: 'blue', observed });
    expect([d.activeSlot, d.plan.serviceSlot]).toEqual(['blue', 'blue']);
  });

  it('does not move traffic back to the old revision when a pod of the promoted slot goes unready', () => {
    const status = steadyOn(NEW, 'green', { rollout: { scaleDownAt: iso(30), previousRevision: OLD } });
    const d = run({ spec: blueGreenSpec(), status, served: 'green', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 2 }) }, now: at(60) });
    expect(d.plan.serviceSlot).toBe('green');
    expect(sizes(d)).toEqual({ green: '3 current', blue: '0 keep' });
  });

  it('serves from the active slot at 0 replicas, so the old one scales down too', () => {
    const d = run({ spec: blueGreenSpec(undefined, { replicas: 0 }), status: steadyOn(NEW, 'green'), served: 'blue', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) } });
    expect(d.plan.serviceSlot).toBe('green');
    expect(sizes(d)).toEqual({ green: '0 current', blue: '0 keep' });
  });

  it('never points the Service at a slot with no Ready pods while the other has some', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3, { readyReplicas: 0 }), green: readySlot(NEW, 1) } });
    expect(d.plan.serviceSlot).toBe('green');
  });

  it('aborts a failing candidate and keeps serving the active slot', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: crashing(NEW, 1) } });
    expect(d.problem?.reason).toBe('RolloutAborted');
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '0 keep' });
    expect(d.plan.serviceSlot).toBe('blue');
  });

  describe('undo', () => {
    const live = steadyOn(NEW, 'green', { rollout: { previousRevision: OLD } });
    const observed = { blue: readySlot(OLD, 0), green: readySlot(NEW, 3) };

    it('flips back to the idle slot, whose revision serves again, holding the desired one back', () => {
      const d = run({ spec: blueGreenSpec(), status: live, observed, action: 'undo:u' });
      expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
      expect(d.rollout).toMatchObject({ abortedRevision: NEW });
      expect(d.problem?.reason).toBe('RolloutAborted');
      expect(sizes(d)).toEqual({ blue: '3 keep', green: '3 keep' });
      // Blue has no Ready pod yet: the Service stays on green until it has.
      expect(d.plan.serviceSlot).toBe('green');
      expect(d.lastAction).toMatchObject({ ok: true, message: expect.stringContaining(`rolled back to revision ${OLD}`) });
    });

    it('then serves from blue and drains green as blue becomes Ready, held until the spec changes', () => {
      const { status } = reconcileOnce({ ms: microservice(blueGreenSpec(), {}, live), observed, desiredRevision: NEW, now: T0, action: { action: 'undo', id: 'u' } });
      const d = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(86_400) });
      expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot]).toEqual(['blue', OLD, 'blue']);
      expect(sizes(d)).toEqual({ blue: '3 keep', green: '0 keep' });
      expect(d.rollout?.abortedRevision).toBe(NEW);

      const changed = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) }, desired: NEWER });
      expect(changed.rollout).toMatchObject({ candidateSlot: 'green', step: 0 });
      expect(changed.problem).toBeUndefined();

      const retried = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) }, action: 'retry:r' });
      expect(retried.rollout).toMatchObject({ candidateSlot: 'green', step: 0 });
      expect(retried.problem).toBeUndefined();
    });

    it.each<[string, ObservedSlots]>([
      ['no idle slot', { green: readySlot(NEW, 3) }],
      ['an idle slot of the same revision', { blue: readySlot(NEW, 0), green: readySlot(NEW, 3) }],
      ['an idle slot holding an abandoned candidate, not the previous revision', { blue: readySlot(NEWER, 0), green: readySlot(NEW, 3) }],
    ])('is refused with %s', (_what, obs) => {
      const d = run({ spec: blueGreenSpec(), status: live, observed: obs, action: 'undo:u' });
      expect(d.lastAction).toMatchObject({ ok: false, message: 'orders has no previous revision to go back to' });
      expect([d.activeSlot, d.stableRevision, d.problem]).toEqual(['green', NEW, undefined]);
    });

    it('aborts a rollout in progress', () => {
      const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, action: 'undo:u' });
      expect([d.activeSlot, d.stableRevision, d.rollout?.abortedRevision]).toEqual(['blue', OLD, NEW]);
    });
  });
});

describe('actions', () => {
  const observed = { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }; // step 0 met

  it.each([...ACTIONS])('%s runs once: the id of status.lastAction is ignored', (action) => {
    const lastAction = { id: 'same', action, at: T0.toISOString(), ok: true, message: 'done before' };
    const status = rolling({ step: 3 }, { lastAction });
    const again = run({ spec: canarySpec(), status, observed, action: `${action}:same`, now: at(60) });
    const none = run({ spec: canarySpec(), status, observed, now: at(60) });
    expect(again).toEqual(none);
    expect(again.lastAction).toEqual(lastAction);
    expect(again.events).toEqual([]);
  });

  it('refuses an unknown action and names the ones there are', () => {
    const d = run({ spec: canarySpec(), status: rolling(), observed, action: 'frobnicate:z' });
    expect(d.lastAction).toMatchObject({ id: 'z', action: 'frobnicate', ok: false });
    for (const a of ACTIONS) expect(d.lastAction?.message).toContain(a);
    expect(d.events).toEqual([{ type: 'Warning', reason: 'ActionRefused', message: expect.stringMatching(/^frobnicate: unknown action/) }]);
    expect(d.plan).toEqual(run({ spec: canarySpec(), status: rolling(), observed }).plan);
  });

  it('pause holds the steps where they are', () => {
    const d = run({ spec: canarySpec(), status: rolling(), observed, action: 'pause:p' });
    expect(d.rollout).toMatchObject({ step: 0, paused: true });
    expect(d.waiting).toBe('paused by kubectl coxswain pause');
    expect(d.lastAction).toMatchObject({ ok: true, action: 'pause' });
    expect(d.events).toEqual([{ type: 'Normal', reason: 'ActionDone', message: expect.stringMatching(/^pause: /) }]);
  });

  it('pause holds a timed pause past its time, resume lets it go', () => {
    const paused = rolling({ step: 1, pausedUntil: iso(300), paused: true });
    expect(run({ spec: canarySpec(), status: paused, observed, now: at(400) }).rollout?.step).toBe(1);
    expect(run({ spec: canarySpec(), status: paused, observed, now: at(400), action: 'resume:r' }).rollout?.step).toBe(2);
  });

  it('resume lets the steps go on in the same reconcile', () => {
    const d = run({ spec: canarySpec(), status: rolling({ paused: true }), observed, action: 'resume:r' });
    expect(d.rollout?.step).toBe(1);
    expect(d.rollout?.paused).toBeUndefined();
    expect(d.waiting).toBeUndefined();
  });

  it.each<[string, RolloutStatus, string]>([
    ['pause', { paused: true }, 'orders is already paused'],
    ['resume', {}, 'orders is not paused by kubectl coxswain pause; nothing to resume'],
  ])('refuses %s when there is nothing to do', (action, rollout, message) => {
    expect(run({ spec: canarySpec(), status: rolling(rollout), observed, action: `${action}:x` }).lastAction).toMatchObject({ ok: false, message });
  });

  it('spec.paused holds the steps too', () => {
    const d = run({ spec: canarySpec({ paused: true }), status: rolling(), observed });
    expect(d.rollout?.step).toBe(0);
    expect(d.waiting).toBe('paused by spec.paused');
  });

  it('restart stamps restartedAt on the plan, and later reconciles keep it', () => {
    const d = run({ spec: canarySpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 4) }, desired: OLD, action: 'restart:r', now: at(42) });
    expect([d.restartedAt, d.plan.restartedAt]).toEqual([iso(42), iso(42)]);
    expect(d.lastAction).toMatchObject({ ok: true, action: 'restart' });
    const later = run({ spec: canarySpec(), status: steadyOn(OLD, 'blue', { restartedAt: iso(42) }), observed: { blue: readySlot(OLD, 4) }, desired: OLD, now: at(99) });
    expect([later.restartedAt, later.plan.restartedAt]).toEqual([iso(42), iso(42)]);
  });

  it('pauses and resumes in a steady state too, for the next rollout', () => {
    const d = run({ spec: canarySpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 4) }, desired: OLD, action: 'pause:p' });
    expect(d.rollout).toEqual({ paused: true });
    const next = run({ spec: canarySpec(), status: steadyOn(OLD, 'blue', { rollout: { paused: true } }), observed: { blue: readySlot(OLD, 4) } });
    expect(next.rollout).toMatchObject({ step: 0, paused: true });
    expect(next.waiting).toBe('paused by kubectl coxswain pause');
  });
});

// ---- Properties: random specs, random states, and a crude cluster moved tick by tick ----

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
    // (1) never above replicas + maxSurge while the steps run
    expect(plannedSize(d, 'blue') + plannedSize(d, 'green')).toBeLessThanOrEqual(total + percentOf(canary.maxSurge, total, Math.ceil));
    // (2) the weight is the one of the current step, and the candidate stays within it
    expect(r.desiredWeight).toBe(weightOfStep(canary.steps, r.step));
    expect(r.candidateSlot).toBe(otherSlot(d.activeSlot));
    // (a candidate slot still clearing another revision's pods only shrinks)
    if (d.plan.slots[r.candidateSlot!]?.revision === undefined) expect(plannedSize(d, r.candidateSlot!)).toBeLessThanOrEqual(observed[r.candidateSlot!]?.replicas ?? 0);
    else expect(plannedSize(d, r.candidateSlot!)).toBeLessThanOrEqual(candidateFor(total, r.desiredWeight!));
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
