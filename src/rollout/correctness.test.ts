// The classes of issue 8, one table each, against the pure engine: what a user does in the
// middle of a rollout, and what must hold.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput, MicroserviceStatus } from '../api/schema.js';
import { actionOf, microservice, readySlot } from '../../test/support/fixtures.js';
import { decide, type Decision } from './engine.js';
import type { ObservedSlots } from './types.js';

const OLD = 'rev-old';
const NEW = 'rev-new';
const NEWER = 'rev-newer';
const T0 = new Date('2024-05-01T12:00:00.000Z');
const iso = T0.toISOString();
const STEPS = [{ setWeight: 25 }, { pause: {} }, { setWeight: 75 }];
const canary = (over: Partial<MicroserviceSpecInput> = {}): MicroserviceSpecInput =>
  ({ image: 'a:2', replicas: 4, strategy: { type: 'Canary', canary: { steps: STEPS, maxSurge: 1, maxUnavailable: 0 } }, ...over });
const blueGreen = (over: Partial<MicroserviceSpecInput> = {}): MicroserviceSpecInput =>
  ({ image: 'a:2', replicas: 3, strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 2, scaleDownDelaySeconds: 30 } }, ...over });
const rollingAt = (step: number, over: MicroserviceStatus = {}): MicroserviceStatus => ({
  stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue', ...over,
  rollout: { candidateSlot: 'green', strategy: 'Canary', step, steps: STEPS.length, stepStartedAt: iso, unreadySince: iso, ...over.rollout },
});
const run = (spec: MicroserviceSpecInput, status: MicroserviceStatus, observed: ObservedSlots, extra: { desired?: string; action?: string; now?: Date; kept?: string[] } = {}): Decision =>
  decide({
    ms: microservice(spec, {}, status), observed, desiredRevision: extra.desired ?? NEW, now: extra.now ?? T0,
    action: actionOf(extra.action), ...(extra.kept ? { kept: new Set(extra.kept) } : {}),
  });

describe('(1) readiness counts only pods of the slot\'s own revision', () => {
  // A candidate slot in its own rolling update: the Deployment already has NEWER's template, and
  // the Ready pods are NEW's. readyReplicas (own revision) is 0, servingReplicas 2.
  const mixed = readySlot(NEWER, 2, { readyReplicas: 0, servingReplicas: 2 });

  it('never reaches a pause, or takes a promote, on another revision\'s pods', () => {
    const status = rollingAt(0, { desiredRevision: NEWER, rollout: { step: 0 } });
    const d = run(canary(), status, { blue: readySlot(OLD, 3), green: mixed }, { desired: NEWER, action: 'promote:p1' });
    expect(d.rollout?.step).toBe(0);
    expect(d.waiting).toBeUndefined();
    expect(d.lastAction).toMatchObject({ ok: false });
  });

  it('refuses promote at a pause until the step\'s Ready pods are back', () => {
    const d = run(canary(), rollingAt(1), { blue: readySlot(OLD, 3), green: readySlot(NEW, 1, { readyReplicas: 0 }) }, { action: 'promote:p2' });
    expect(d.lastAction).toMatchObject({ ok: false, message: expect.stringContaining('does not have the Ready pods') });
    expect(d.rollout?.step).toBe(1);
    expect(d.waiting).toBeUndefined();
  });
});

describe('(2) progress never waits for an unrelated event', () => {
  it('switches blue-green in the same pass that auto-promotion begins, with a full-size preview', () => {
    const status: MicroserviceStatus = { stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue',
      rollout: { candidateSlot: 'green', strategy: 'BlueGreen', step: 0, steps: 1, stepStartedAt: iso, pausedUntil: iso } };
    const d = run(blueGreen(), status, { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, { now: new Date(T0.getTime() + 5000) });
    expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot]).toEqual(['green', NEW, 'green']);
  });
});

describe('(3) the stable slot is rebuilt from its own revision', () => {
  it.each<[string, ObservedSlots]>([
    ['deleted mid-rollout', { green: readySlot(NEW, 1) }],
    ['edited to another template', { blue: readySlot('edited', 4), green: readySlot(NEW, 1) }],
  ])('%s', (_what, observed) => {
    const d = run(canary(), rollingAt(0), observed);
    expect(d.plan.slots.blue).toMatchObject({ revision: OLD });
  });

  it('while aborted, holding the aborted revision after a RollingUpdate -> Canary switch mid-roll', () => {
    const status: MicroserviceStatus = { stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue', rollout: { abortedRevision: NEW } };
    const d = run(canary(), status, { blue: readySlot(NEW, 4) });
    expect(d.plan.slots.blue).toEqual({ replicas: 4, revision: OLD });
  });

  it('resizes only, as before, when the stable revision was never kept (an older operator\'s rollout)', () => {
    const d = run(canary(), rollingAt(0), { blue: readySlot(OLD, 4) }, { kept: [NEW] });
    expect(d.plan.slots.blue).toEqual({ replicas: 4 });
    expect(d.plan.servingRevision).toBe(NEW);
  });
});

describe('(4) what serves follows the stable revision', () => {
  it('serves the stable revision\'s ports until promotion, the candidate\'s behind the preview', () => {
    const d = run(canary(), rollingAt(0), { blue: readySlot(OLD, 4), green: readySlot(NEW, 1) });
    expect([d.plan.servingRevision, d.plan.previewRevision]).toEqual([OLD, NEW]);
  });

  it('after promotion, the new stable revision and the active slot serve both', () => {
    const d = run(canary(), rollingAt(3), { blue: readySlot(OLD, 0), green: readySlot(NEW, 4) });
    expect([d.stableRevision, d.plan.servingRevision, d.plan.previewRevision, d.plan.previewSlot]).toEqual([NEW, NEW, NEW, 'green']);
  });
});

describe('(5) no way back costs capacity', () => {
  const midway = { blue: readySlot(OLD, 2), green: readySlot(NEW, 2) };
  it.each<[string, MicroserviceSpecInput, string]>([
    ['a revert to the stable image', canary(), OLD],
    ['a switch to RollingUpdate', canary({ strategy: { type: 'RollingUpdate' } }), NEW],
  ])('%s keeps the candidate\'s Ready pods until the stable slot has refilled', (_what, spec, desired) => {
    const d = run(spec, rollingAt(2), midway, { desired });
    expect(d.plan.slots.blue?.replicas).toBe(4);
    expect(d.plan.slots.green?.replicas).toBe(2);
    expect(d.plan.serviceSlot).toBeUndefined(); // both still serve
  });

  it('a blue-green slot in its scale-down delay, switched to Canary, never serves again', () => {
    const status: MicroserviceStatus = { stableRevision: NEW, desiredRevision: NEW, activeSlot: 'green', rollout: { scaleDownAt: new Date(T0.getTime() + 20_000).toISOString() } };
    const d = run(canary(), status, { blue: readySlot(OLD, 4), green: readySlot(NEW, 4) }, { desired: NEW });
    expect(d.plan.serviceSlot).toBe('green');
  });
});

describe('(6) paused, a new revision gets no pods', () => {
  it.each<[string, Partial<MicroserviceSpecInput>, MicroserviceStatus]>([
    ['spec.paused', { paused: true }, { stableRevision: OLD, desiredRevision: OLD, activeSlot: 'blue' }],
    ['kubectl coxswain pause', {}, { stableRevision: OLD, desiredRevision: OLD, activeSlot: 'blue', rollout: { paused: true } }],
  ])('%s', (_what, over, status) => {
    for (const spec of [canary(over), blueGreen(over)]) {
      const d = run(spec, status, { blue: readySlot(OLD, spec.replicas!), green: readySlot(OLD, 0) });
      expect(d.plan.slots.green).toEqual({ replicas: 0 });
      expect(d.waiting).toContain('paused by');
    }
  });

  it('a rollout paused midway keeps the candidate it has, and grows it no further', () => {
    const d = run(canary({ paused: true }), rollingAt(1), { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) });
    expect(d.plan.slots.green).toEqual({ replicas: 1, revision: NEW });
  });
});

describe('(7) too few replicas for a weight', () => {
  it('keeps the stable pod beside the candidate\'s at 1 replica and 10%, and says why', () => {
    const spec = canary({ replicas: 1, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 10 }, { pause: {} }] } } });
    const d = run(spec, rollingAt(0, { rollout: { steps: 2 } }), { blue: readySlot(OLD, 1), green: readySlot(NEW, 1) });
    expect(d.plan.slots).toEqual({ blue: { replicas: 1, revision: OLD }, green: { replicas: 1, revision: NEW } });
    expect(d.rollout).toMatchObject({ step: 1, weight: 50, desiredWeight: 10 });
    expect(d.rollout?.message).toContain('spec.traffic.gateway');
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'WeightNotExact' }));
  });
});

describe('undo to a kept revision', () => {
  const steady: MicroserviceStatus = { stableRevision: NEW, desiredRevision: NEW, activeSlot: 'green', rollout: { previousRevision: OLD } };

  it('rebuilds the stable slot from it and holds the spec\'s revision back', () => {
    const d = run(canary(), steady, { green: readySlot(NEW, 4), blue: readySlot(NEWER, 0) }, { action: `undo=${OLD}:u1`, kept: [OLD, NEW, NEWER] });
    expect([d.stableRevision, d.activeSlot, d.problem?.reason]).toEqual([OLD, 'green', 'RolloutAborted']);
    expect(d.plan.slots.green).toEqual({ replicas: 4, revision: OLD });
    expect(d.lastAction).toMatchObject({ ok: true, message: expect.stringContaining(`rolled back to revision ${OLD}`) });
  });

  it('flips to the idle slot when that one holds it', () => {
    const d = run(canary(), steady, { green: readySlot(NEW, 4), blue: readySlot(OLD, 0) }, { action: `undo=${OLD}:u2`, kept: [OLD, NEW] });
    expect([d.stableRevision, d.activeSlot]).toEqual([OLD, 'blue']);
  });

  it.each<[string, string]>([[NEWER, 'keeps no revision'], [NEW, 'already serves']])('refuses %s: %s', (revision, why) => {
    const d = run(canary(), steady, { green: readySlot(NEW, 4) }, { action: `undo=${revision}:u3`, kept: [OLD, NEW] });
    expect(d.lastAction).toMatchObject({ ok: false, message: expect.stringContaining(why) });
    expect(d.stableRevision).toBe(NEW);
  });
});
