// The first revision and RollingUpdate: the active slot rolls natively.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput, Slot } from '../api/schema.js';
import { reconcileOnce } from '../../test/support/cluster.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { OLD, NEW, T0, at, iso, unready, STEPS, spec, canarySpec, blueGreenSpec, steadyOn, sizes, run, type Strategy, type Case } from '../../test/support/engine.js';

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
