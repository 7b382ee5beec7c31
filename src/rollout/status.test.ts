import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Condition, MicroserviceStatus } from '../api/schema.js';
import { baseLabels } from '../api/names.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { computeStatus, converged, invalidSpecStatus, onlyCountsChanged, statusEvents, type Problem, type RolloutOutcome, type StatusInput } from './status.js';
import type { ObservedSlot, ObservedSlots } from './types.js';

const NEW = 'rev-new';
const OLD = 'rev-old';
const EARLIER = '2024-05-01T11:00:00.000Z';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const LATER = new Date('2024-05-01T13:00:00.000Z');
const CONFLICT: Problem = { reason: 'NameConflict', message: 'Service shop/orders exists and is not owned by this Microservice' };

const ms = (over: { paused?: boolean; replicas?: number; status?: MicroserviceStatus } = {}) =>
  microservice({ image: 'registry.example/orders:2', replicas: over.replicas ?? 3, paused: over.paused ?? false }, { generation: 4 }, over.status);

/** What the engine decides for a plain rolling update: the stable revision so far, and waiting while spec.paused. */
const rollingOutcome = (paused?: boolean, prev?: MicroserviceStatus): RolloutOutcome =>
  ({ stableRevision: prev?.stableRevision, waiting: paused ? 'paused by spec.paused' : undefined });

function status(observed: ObservedSlots, over: Partial<StatusInput> & { paused?: boolean; prev?: MicroserviceStatus } = {}): MicroserviceStatus {
  return computeStatus({
    ms: ms({ paused: over.paused, status: over.prev }), desiredRevision: NEW, activeSlot: 'blue', observed, problems: [], now: NOW,
    outcome: rollingOutcome(over.paused, over.prev), ...over,
  });
}

const cond = (s: MicroserviceStatus, type: string): Condition => {
  const c = s.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} condition in ${JSON.stringify(s.conditions)}`);
  return c;
};
const polarity = (s: MicroserviceStatus) => ['Ready', 'Reconciling', 'Stalled'].map((t) => `${t}=${cond(s, t).status}/${cond(s, t).reason}`);

const CONVERGED: ObservedSlots = { blue: readySlot(NEW, 3) };
const ROLLING: ObservedSlots = { blue: readySlot(NEW, 3, { currentReplicas: 4, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }) };

describe('converged', () => {
  it.each<[string, ObservedSlots, boolean]>([
    ['the active slot runs the desired revision at full size, all Ready', CONVERGED, true],
    ['the idle slot is kept at zero pods as a rollback target', { blue: readySlot(NEW, 3), green: readySlot(OLD, 0) }, true],
    ['the Deployment controller has not seen the latest spec', { blue: readySlot(NEW, 3, { settled: false }) }, false],
    ['the active slot runs another revision', { blue: readySlot(OLD, 3) }, false],
    ['a pod is not Ready', { blue: readySlot(NEW, 3, { readyReplicas: 2 }) }, false],
    ['a pod is Ready but not yet available', { blue: readySlot(NEW, 3, { availableReplicas: 2 }) }, false],
    ['a surge pod still exists', { blue: readySlot(NEW, 3, { currentReplicas: 4 }) }, false],
    ['the Deployment wants fewer pods than the spec', { blue: readySlot(NEW, 2) }, false],
    ['the idle slot still has pods', { blue: readySlot(NEW, 3), green: readySlot(OLD, 1) }, false],
    ['there is no active slot yet', {}, false],
    ['only the other slot exists', { green: readySlot(NEW, 3) }, false],
  ])('is %s -> %s', (_what, observed, expected) => {
    expect(converged(ms(), NEW, 'blue', observed)).toBe(expected);
  });

  it('holds for zero replicas with an empty active slot', () => {
    expect(converged(ms({ replicas: 0 }), NEW, 'blue', { blue: readySlot(NEW, 0) })).toBe(true);
  });
});

describe('conditions', () => {
  it.each<[string, ObservedSlots, Partial<StatusInput> & { paused?: boolean; prev?: MicroserviceStatus }, string[], MicroserviceStatus['phase']]>([
    ['a new Microservice', {}, {}, ['Ready=False/Progressing', 'Reconciling=True/Progressing', 'Stalled=False/NoProblems'], 'Pending'],
    ['a rollout in progress after an earlier success', ROLLING, { prev: { stableRevision: OLD } }, ['Ready=False/Progressing', 'Reconciling=True/Progressing', 'Stalled=False/NoProblems'], 'Progressing'],
    ['converged', CONVERGED, {}, ['Ready=True/Available', 'Reconciling=False/Reconciled', 'Stalled=False/NoProblems'], 'Healthy'],
    ['paused mid-rollout', ROLLING, { paused: true }, ['Ready=False/Paused', 'Reconciling=False/Paused', 'Stalled=False/NoProblems'], 'Paused'],
    ['paused but already converged', CONVERGED, { paused: true }, ['Ready=True/Available', 'Reconciling=False/Reconciled', 'Stalled=False/NoProblems'], 'Healthy'],
    ['blocked by a name conflict', ROLLING, { problems: [CONFLICT] }, ['Ready=False/NameConflict', 'Reconciling=False/Stalled', 'Stalled=True/NameConflict'], 'Degraded'],
    ['blocked by a name conflict while paused', ROLLING, { problems: [CONFLICT], paused: true }, ['Ready=False/NameConflict', 'Reconciling=False/Stalled', 'Stalled=True/NameConflict'], 'Degraded'],
    ['past its progress deadline', { blue: { ...ROLLING.blue!, deadlineExceeded: true } }, {}, ['Ready=False/ProgressDeadlineExceeded', 'Reconciling=False/Stalled', 'Stalled=True/ProgressDeadlineExceeded'], 'Degraded'],
    ['converged although the deadline condition lingers', { blue: readySlot(NEW, 3, { deadlineExceeded: true }) }, {}, ['Ready=True/Available', 'Reconciling=False/Reconciled', 'Stalled=False/NoProblems'], 'Healthy'],
  ])('%s', (_what, observed, over, expected, phase) => {
    const s = status(observed, over);
    expect(polarity(s)).toEqual(expected);
    expect(s.phase).toBe(phase);
  });

  it('with a name conflict on a converged Deployment, is still not Ready and is Stalled', () => {
    const s = status(CONVERGED, { problems: [CONFLICT] });
    expect([cond(s, 'Ready').status, cond(s, 'Reconciling').status, cond(s, 'Stalled').status]).toEqual(['False', 'False', 'True']);
    expect(s.phase).toBe('Degraded');
  });

  it('puts the first problem, before the deadline, in Stalled and Ready', () => {
    const s = status({ blue: { ...ROLLING.blue!, deadlineExceeded: true } }, { problems: [CONFLICT, { reason: 'ApplyFailed', message: 'x' }] });
    expect(cond(s, 'Stalled')).toMatchObject({ reason: 'NameConflict', message: CONFLICT.message });
    expect(cond(s, 'Ready')).toMatchObject({ reason: 'NameConflict', message: CONFLICT.message });
  });

  it('names the revision and the deadline when progress stops', () => {
    const message = cond(status({ blue: { ...ROLLING.blue!, deadlineExceeded: true } }), 'Stalled').message;
    expect(message).toContain(NEW);
    expect(message).toContain('600s');
  });

  it('ignores a deadline on the idle slot', () => {
    expect(cond(status({ ...ROLLING, green: readySlot(OLD, 0, { deadlineExceeded: true }) }), 'Stalled').status).toBe('False');
  });
});

describe('lastTransitionTime', () => {
  const prev = status(CONVERGED, { now: new Date(EARLIER) });

  it('is now for every condition of a first status', () => {
    expect(prev.conditions?.map((c) => c.lastTransitionTime)).toEqual([EARLIER, EARLIER, EARLIER]);
  });

  it('is kept for every condition whose status stays the same', () => {
    expect(status(CONVERGED, { prev }).conditions?.map((c) => c.lastTransitionTime)).toEqual([EARLIER, EARLIER, EARLIER]);
  });

  it('moves to now only for the conditions that flip', () => {
    const next = status(ROLLING, { prev });
    expect(['Ready', 'Reconciling', 'Stalled'].map((t) => cond(next, t).lastTransitionTime)).toEqual([NOW.toISOString(), NOW.toISOString(), EARLIER]);
  });

  it('is kept when only the reason or message changes', () => {
    const paused = status(ROLLING, { prev: status(ROLLING, { now: new Date(EARLIER) }), paused: true });
    expect(cond(paused, 'Ready')).toMatchObject({ status: 'False', reason: 'Paused', lastTransitionTime: EARLIER });
  });
});

describe('the rest of status', () => {
  it('reports the generation it acted on, in status and in every condition', () => {
    const s = status(CONVERGED);
    expect(s.observedGeneration).toBe(4);
    expect(s.conditions?.map((c) => c.observedGeneration)).toEqual([4, 4, 4]);
  });

  it('reports ready pods out of desired for the printer column', () => {
    expect(status(CONVERGED).ready).toBe('3/3');
    expect(status(ROLLING).ready).toBe('2/3');
    expect(status({}).ready).toBe('0/3');
  });

  it('publishes a selector that parses back to the labels every pod carries', () => {
    const selector = status(CONVERGED).selector!;
    expect(Object.fromEntries(selector.split(',').map((kv) => kv.split('=')))).toEqual(baseLabels('orders'));
  });

  it('adds up pods across both slots, counting as updated only those of the desired revision', () => {
    const observed: ObservedSlots = {
      blue: readySlot(OLD, 2, { updatedReplicas: 2 }),
      green: readySlot(NEW, 2, { currentReplicas: 1, readyReplicas: 0, updatedReplicas: 1, availableReplicas: 0 }),
    };
    const s = status(observed, { activeSlot: 'blue' });
    expect([s.replicas, s.readyReplicas, s.updatedReplicas, s.availableReplicas]).toEqual([3, 2, 1, 2]);
    expect(s.slots).toEqual({
      blue: { revision: OLD, image: 'registry.example/orders:1.0.0', replicas: 2, readyReplicas: 2 },
      green: { revision: NEW, image: 'registry.example/orders:1.0.0', replicas: 1, readyReplicas: 0 },
    });
  });

  it('makes the desired revision stable once converged, and keeps the old stable one until then', () => {
    expect(status(CONVERGED, { prev: { stableRevision: OLD } }).stableRevision).toBe(NEW);
    expect(status(ROLLING, { prev: { stableRevision: OLD } }).stableRevision).toBe(OLD);
    expect(status(ROLLING, { prev: { stableRevision: OLD } }).desiredRevision).toBe(NEW);
  });

  it('leaves slots out until a slot is observed, since an empty map would not apply', () => {
    expect(status({})).not.toHaveProperty('slots');
    expect(Object.keys(status(CONVERGED).slots ?? {})).toEqual(['blue']);
  });

  it('records the active slot', () => {
    expect(status({ green: readySlot(NEW, 3) }, { activeSlot: 'green' }).activeSlot).toBe('green');
  });
});

describe('statusEvents', () => {
  const converged = status(CONVERGED, { prev: { stableRevision: OLD, desiredRevision: NEW } });
  const stalled = status(ROLLING, { problems: [CONFLICT] });

  it('records nothing when status does not change', () => {
    for (const s of [converged, stalled, status(ROLLING), status({})]) expect(statusEvents(s, s)).toEqual([]);
  });

  it('records no rollout start for the first revision of a new Microservice: it is no rollout (one Event fewer per new Microservice)', () => {
    expect(statusEvents(undefined, status({}))).toEqual([]);
  });

  it('records a rollout start when a new revision comes while another is stable', () => {
    const before = { ...converged, desiredRevision: OLD, stableRevision: OLD };
    expect(statusEvents(before, status(ROLLING, { prev: before })).map((e) => e.reason)).toEqual(['RolloutStarted']);
  });

  it('records completion, not a start, when the desired revision becomes stable', () => {
    const before = status(ROLLING, { prev: { stableRevision: OLD } });
    const after = status(CONVERGED, { prev: before });
    expect(statusEvents(before, after)).toEqual([{ type: 'Normal', reason: 'RolloutComplete', message: expect.stringContaining('3/3') }]);
  });

  it('records a warning when the Microservice stalls, once', () => {
    const before = status(ROLLING);
    expect(statusEvents(before, stalled)).toEqual([{ type: 'Warning', reason: 'NameConflict', message: CONFLICT.message }]);
    expect(statusEvents(stalled, status(ROLLING, { problems: [CONFLICT], prev: stalled }))).toEqual([]);
  });

  it('records a new warning when the problem changes', () => {
    const other = status(ROLLING, { problems: [{ reason: 'NameConflict', message: 'Deployment shop/orders-blue exists' }], prev: stalled });
    expect(statusEvents(stalled, other).map((e) => [e.type, e.message])).toEqual([['Warning', 'Deployment shop/orders-blue exists']]);
  });

  it('records nothing when a stall clears', () => {
    expect(statusEvents(stalled, status(ROLLING, { prev: stalled }))).toEqual([]);
  });
});

describe('invalidSpecStatus', () => {
  const prev: MicroserviceStatus = { ...status(CONVERGED, { now: new Date(EARLIER) }), observedGeneration: 3 };
  const bad = invalidSpecStatus(prev, 5, ['spec.image: required', 'spec.ports[0].port: too small'], NOW);

  it('is Stalled and not Ready, naming every problem', () => {
    expect(polarity(bad)).toEqual(['Ready=False/InvalidSpec', 'Reconciling=False/Stalled', 'Stalled=True/InvalidSpec']);
    expect(cond(bad, 'Stalled').message).toContain('spec.image: required');
    expect(cond(bad, 'Stalled').message).toContain('spec.ports[0].port: too small');
    expect(bad.phase).toBe('Degraded');
    expect(bad.observedGeneration).toBe(5);
  });

  it('leaves what was live as it was', () => {
    expect(bad).toMatchObject({ stableRevision: prev.stableRevision, replicas: 3, ready: '3/3', slots: prev.slots });
  });

  it('moves only the flipped conditions to now', () => {
    expect(bad.conditions?.map((c) => c.lastTransitionTime)).toEqual([NOW.toISOString(), EARLIER, NOW.toISOString()]);
  });

  it('works without any earlier status, and warns once', () => {
    const first = invalidSpecStatus(undefined, 1, ['spec: required'], NOW);
    expect(cond(first, 'Stalled').status).toBe('True');
    expect(statusEvents(undefined, first)).toEqual([{ type: 'Warning', reason: 'InvalidSpec', message: 'invalid spec: spec: required' }]);
    expect(statusEvents(first, invalidSpecStatus(first, 1, ['spec: required'], LATER))).toEqual([]);
  });
});

describe('status properties', () => {
  const arbSlot: fc.Arbitrary<ObservedSlot> = fc.record({
    servingReplicas: fc.integer({ min: 0, max: 4 }),
    revision: fc.constantFrom(NEW, OLD),
    replicas: fc.integer({ min: 0, max: 4 }),
    currentReplicas: fc.integer({ min: 0, max: 5 }),
    readyReplicas: fc.integer({ min: 0, max: 4 }),
    updatedReplicas: fc.integer({ min: 0, max: 4 }),
    availableReplicas: fc.integer({ min: 0, max: 4 }),
    settled: fc.boolean(),
    deadlineExceeded: fc.boolean(),
    failingPods: fc.constant(0),
  });
  const arbInput = fc.record({
    observed: fc.record({ blue: arbSlot, green: arbSlot }, { requiredKeys: [] }),
    activeSlot: fc.constantFrom('blue' as const, 'green' as const),
    problems: fc.array(fc.constantFrom(CONFLICT, { reason: 'ApplyFailed', message: 'rejected' }), { maxLength: 2 }),
    paused: fc.boolean(),
    replicas: fc.integer({ min: 0, max: 4 }),
  });
  type Input = typeof arbInput extends fc.Arbitrary<infer T> ? T : never;
  const compute = (i: Input, prev?: MicroserviceStatus, now = NOW) =>
    computeStatus({
      ms: ms({ paused: i.paused, replicas: i.replicas, status: prev }), desiredRevision: NEW, activeSlot: i.activeSlot, observed: i.observed,
      problems: i.problems, now, outcome: rollingOutcome(i.paused, prev),
    });

  it('always sets Ready, Reconciling and Stalled with a reason and message, in kstatus polarity', () => {
    fc.assert(fc.property(arbInput, (i) => {
      const s = compute(i);
      expect(s.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reconciling', 'Stalled']);
      for (const c of s.conditions ?? []) expect(c.reason && c.message && c.observedGeneration === 4).toBeTruthy();
      const [ready, reconciling, stalled] = ['Ready', 'Reconciling', 'Stalled'].map((t) => cond(s, t).status === 'True');
      const done = converged(ms({ replicas: i.replicas }), NEW, i.activeSlot, i.observed);
      expect(ready).toBe(done && i.problems.length === 0);
      expect(stalled).toBe(i.problems.length > 0 || (!done && !!i.observed[i.activeSlot]?.deadlineExceeded));
      expect(reconciling).toBe(!done && !stalled && !i.paused);
      expect([ready && reconciling, ready && stalled, reconciling && stalled]).toEqual([false, false, false]);
      expect(s.phase === 'Healthy').toBe(ready);
      expect(s.phase === 'Degraded').toBe(stalled);
    }));
  });

  it('comes out the same when computed again later from its own result, so a steady state writes nothing', () => {
    fc.assert(fc.property(arbInput, (i) => {
      const first = compute(i);
      const again = compute(i, first, LATER);
      expect(again).toStrictEqual(first);
      expect(statusEvents(first, again)).toEqual([]);
    }));
  });
});

describe('onlyCountsChanged', () => {
  const before: MicroserviceStatus = {
    observedGeneration: 4, phase: 'Progressing', replicas: 3, readyReplicas: 2, ready: '2/3', stableRevision: OLD, desiredRevision: NEW,
    conditions: [{ type: 'Ready', status: 'False', reason: 'Progressing', message: 'step 1/2: 1/2 candidate pods ready', lastTransitionTime: EARLIER, observedGeneration: 4 }],
    rollout: { step: 1, steps: 2, weight: 33, message: 'step 1/2: 1/2 candidate pods ready' },
    slots: { blue: { revision: OLD, replicas: 2, readyReplicas: 2 }, green: { revision: NEW, replicas: 2, readyReplicas: 1 } },
  };
  const counts: MicroserviceStatus = {
    ...before, readyReplicas: 3, ready: '3/3',
    conditions: [{ ...before.conditions![0]!, message: 'step 1/2: 2/2 candidate pods ready' }],
    rollout: { ...before.rollout, weight: 50, message: 'step 1/2: 2/2 candidate pods ready' },
    slots: { ...before.slots, green: { revision: NEW, replicas: 2, readyReplicas: 2 } },
  };

  it('holds for pods counted again and the words that give the counts', () => {
    expect(onlyCountsChanged(before, counts)).toBe(true);
  });

  it('does not hold for a step, a revision, a condition status, a generation, a clock, or a first status', () => {
    expect(onlyCountsChanged(before, { ...counts, rollout: { ...counts.rollout, step: 2 } })).toBe(false);
    expect(onlyCountsChanged(before, { ...counts, slots: { ...counts.slots, green: { revision: 'other', replicas: 2, readyReplicas: 2 } } })).toBe(false);
    expect(onlyCountsChanged(before, { ...counts, conditions: [{ ...counts.conditions![0]!, status: 'True' }] })).toBe(false);
    expect(onlyCountsChanged(before, { ...counts, observedGeneration: 5 })).toBe(false);
    expect(onlyCountsChanged(before, { ...counts, rollout: { ...counts.rollout, unreadySince: EARLIER } })).toBe(false);
    expect(onlyCountsChanged(undefined, counts)).toBe(false);
  });
});
