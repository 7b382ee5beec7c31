// Actions through the coxswain.dev/action annotation: parsed, carried out once, answered.
import { describe, expect, it } from 'vitest';
import { readySlot } from '../../test/support/fixtures.js';
import { ACTIONS, type RolloutStatus } from './engine.js';
import { OLD, NEW, T0, at, iso, spec, canarySpec, rolling, steadyOn, run } from '../../test/support/engine.js';


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
