// Canary, step by step: setWeight, timed and indefinite pauses, completion, a new revision mid-rollout.
import { describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../test/support/cluster.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { decide } from './engine.js';
import type { ObservedSlots } from './types.js';
import { OLD, NEW, NEWER, T0, at, iso, unready, spec, canarySpec, rolling, steadyOn, sizes, run } from '../../test/support/engine.js';

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

  it('starts over when the steps are edited in place so that the current step asks a higher weight', () => {
    // At step 2 (a pause) of [1%, 1%, pause]; now [51%, pause, pause]: step 1's 51% was never reached.
    const edited = canarySpec({ replicas: 2, canary: { steps: [{ setWeight: 51 }, { pause: { duration: '10s' } }, { pause: { duration: '10s' } }] } });
    const observed = { blue: readySlot(OLD, 1), green: readySlot(NEW, 1) };
    const d = run({ spec: edited, status: rolling({ step: 2, steps: 3, desiredWeight: 1 }), observed, now: at(30) });
    expect(d.rollout).toMatchObject({ step: 0, desiredWeight: 51, stepStartedAt: iso(30) });
    // A weight edited down, or left as it was, keeps the step.
    expect(run({ spec: edited, status: rolling({ step: 2, steps: 3, desiredWeight: 51 }), observed, now: at(30) }).rollout?.step).toBe(2);
  });

  it('keeps the stable slot\'s restart stamp when a rollout begins: no second, native roll of the stable slot', () => {
    const restarted = readySlot(OLD, 4, { restartedAt: iso(-60) });
    const d = run({ spec: canarySpec(), status: steadyOn(OLD, 'blue', { restartedAt: iso(-60) }), observed: { blue: restarted }, now: at(7) });
    expect(d.plan.slots.blue).toEqual({ replicas: 4, revision: OLD, restartedAt: iso(-60) });
    // A stable slot never restarted gets none.
    expect(run({ spec: canarySpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 4) } }).plan.slots.blue).toEqual({ replicas: 4, revision: OLD });
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

  it('does not flip, nor advance, while the candidate still rolls natively (a restart): its roll takes old Ready pods away', () => {
    const restarting = readySlot(NEW, 4, { currentReplicas: 5, updatedReplicas: 2 });
    const d = run({ spec: canarySpec(), status: rolling({ step: 5 }), observed: { blue: readySlot(OLD, 0), green: restarting } });
    expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
    const s = run({ spec: canarySpec(), status: rolling({ step: 0 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1, { currentReplicas: 2, updatedReplicas: 1 }) } });
    expect(s.rollout?.step).toBe(0);
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

  it('counts the stable slot shrunk once it is asked to shrink, before its pods go; the flip waits for them', () => {
    // Step 0 (25% of 4): one candidate pod Ready; the stable slot asked down to 3 while its four
    // pods still live. The sizes add up within the surge, as a Deployment counts its own: on to
    // the pause at step 1. Not asked down yet: the step waits.
    const going = (asked: number, livePods: number) => run({
      spec: canarySpec(), status: rolling(), observed: { blue: readySlot(OLD, asked, { currentReplicas: 4, livePods }), green: readySlot(NEW, 1) },
    }).rollout;
    expect(going(3, 4)).toMatchObject({ step: 1, desiredWeight: 25 });
    expect(going(3, 3)).toMatchObject({ step: 1, desiredWeight: 25 });
    expect(going(4, 4)).toMatchObject({ step: 0, desiredWeight: 25 });
    // At 100%, asked to 0 with a pod still live: no flip yet.
    const flip = (livePods: number) => run({
      spec: canarySpec(), status: rolling({ step: 5 }), observed: { blue: readySlot(OLD, 0, { currentReplicas: 1, livePods }), green: readySlot(NEW, 4) },
    });
    expect([flip(1).activeSlot, flip(1).stableRevision]).toEqual(['blue', OLD]);
    expect([flip(0).activeSlot, flip(0).stableRevision]).toEqual(['green', NEW]);
  });

  it('starts the next step\'s scale-up in the pass after the stable slot was asked down, within the surge', () => {
    // 8 pods, steps 25/50, maxSurge 2: at 25% the stable slot was asked down to 6 (its 8 pods still
    // live) and 2 candidates are Ready. Step 50 sizes the candidate 4: 6 + 4 = 8 + 2.
    const steps = [{ setWeight: 25 }, { setWeight: 50 }, { pause: {} }];
    const d = run({
      spec: canarySpec({ replicas: 8, canary: { steps, maxSurge: 2 } }), status: rolling({ steps: 3 }),
      observed: { blue: readySlot(OLD, 6, { currentReplicas: 8, livePods: 8, servingReplicas: 8 }), green: readySlot(NEW, 2) },
    });
    expect(d.rollout).toMatchObject({ step: 1, desiredWeight: 50 });
    expect(sizes(d)).toEqual({ blue: '6 keep', green: '4 current' });
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

  it('above its weight, takes back a scale-down not yet carried out when the total grew: its Ready pods stay until the stable slot fills', () => {
    // Sized to 2 at a total of 3 (1 stable pod Ready); the total is now 5 and its 3rd pod is still there, Ready.
    const d = run({
      spec: canarySpec({ replicas: 5, canary: { steps: [{ pause: { duration: '10s' } }] } }),
      status: rolling({ steps: 1 }),
      observed: { blue: readySlot(OLD, 2, { readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1 }), green: readySlot(NEW, 2, { currentReplicas: 3, updatedReplicas: 3, readyReplicas: 3 }) },
    });
    expect(d.plan.slots.green?.replicas).toBe(3);
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
