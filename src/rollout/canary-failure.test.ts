// Canary failure: the progress deadline, failing pods, abort, retry.
import { describe, expect, it } from 'vitest';
import type { MicroserviceStatus } from '../api/schema.js';
import { reconcileOnce } from '../../test/support/cluster.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { type RolloutStatus } from './engine.js';
import type { ObservedSlots } from './types.js';
import { OLD, NEW, NEWER, T0, at, iso, atMs, unready, crashing, spec, canarySpec, blueGreenSpec, rolling, steadyOn, sizes, run } from '../../test/support/engine.js';

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
