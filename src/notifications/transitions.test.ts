import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceStatus } from '../api/schema.js';
import { transitionsOf } from './transitions.js';

const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: '2030-01-01T00:00:00Z' });
const healthy = (rev: string): MicroserviceStatus => ({
  phase: 'Healthy', desiredRevision: rev, stableRevision: rev, ready: '3/3',
  conditions: [cond('Ready', 'True', 'Available', 'ok'), cond('Reconciling', 'False', 'Reconciled', 'up to date'), cond('Stalled', 'False', 'NoProblems', 'no problems')],
});
const canary = (step: number, extra: Partial<NonNullable<MicroserviceStatus['rollout']>> = {}, over: Partial<MicroserviceStatus> = {}): MicroserviceStatus => ({
  ...healthy('v1'), phase: 'Progressing', desiredRevision: 'v2',
  rollout: { strategy: 'Canary', step, steps: 3, weight: step * 25, candidateSlot: 'green', ...extra },
  ...over,
});
const paused = (step: number) => canary(step, { message: `step ${step}/3: paused` }, {
  phase: 'Paused',
  conditions: [cond('Ready', 'False', 'Paused', 'x'), cond('Reconciling', 'False', 'Paused', 'waiting for promotion at step 1'), cond('Stalled', 'False', 'NoProblems', 'no problems')],
});
const types = (before: MicroserviceStatus | undefined, after: MicroserviceStatus) => transitionsOf(before, after).map((t) => t.type);

describe('transitionsOf', () => {
  it.each<[string, MicroserviceStatus | undefined, MicroserviceStatus, string[]]>([
    ['nothing at steady state', healthy('v1'), healthy('v1'), []],
    ['a status write with no rollout change (ready count)', canary(1), { ...canary(1), readyReplicas: 2 }, []],
    ['a new revision starts a rollout', healthy('v1'), canary(0), ['started']],
    ['the first revision: started', undefined, { ...healthy('v1'), stableRevision: undefined, phase: 'Pending' }, ['started']],
    ['the first revision going live at once: completed only', undefined, healthy('v1'), ['completed']],
    ['a step advance', canary(0), canary(1), ['stepReached']],
    ['a timed pause is not a pause for promotion', canary(1), canary(1, { pausedUntil: '2030-01-01T00:05:00Z' }, { phase: 'Paused' }), []],
    ['an indefinite pause', canary(1), paused(1), ['paused']],
    ['still paused: nothing', paused(1), paused(1), []],
    ['the last step passed: promoted', canary(2), canary(3), ['promoted']],
    ['the candidate is stable: completed', canary(3), healthy('v2'), ['completed']],
    ['promote past a pause: the step, with the action', paused(1),
      canary(2, {}, { lastAction: { id: 'a1', action: 'promote', at: 'x', ok: true, message: 'promoted past the pause' } }), ['stepReached']],
    ['blue-green switch: promoted', canary(0, { strategy: 'BlueGreen', steps: 2 }), canary(1, { strategy: 'BlueGreen', steps: 2 }), ['promoted']],
    ['blue-green switched and done in one write: promoted, completed', canary(0, { strategy: 'BlueGreen', steps: 1 }, { phase: 'Paused' }), healthy('v2'), ['promoted', 'completed']],
    ['promote --full from a pause to done in one write: promoted, completed', paused(1), healthy('v2'), ['promoted', 'completed']],
    ['an abort', canary(1), canary(1, { abortedRevision: 'v2', message: 'candidate failing' }, { phase: 'Degraded' }), ['aborted']],
    ['still aborted: nothing', canary(1, { abortedRevision: 'v2' }), canary(1, { abortedRevision: 'v2' }), []],
    ['undo', canary(1), { ...canary(1, { abortedRevision: 'v2' }), lastAction: { id: 'u', action: 'undo', at: 'x', ok: true, message: 'rolled back by kubectl coxswain undo' } }, ['rolledBack']],
    ['the spec back to the stable revision', canary(1), healthy('v1'), ['rolledBack']],
    ['a revision replaced mid-rollout starts again', canary(2), { ...canary(0), desiredRevision: 'v3' }, ['started']],
  ])('%s', (_name, before, after, want) => {
    expect(types(before, after)).toEqual(want);
  });

  it('an abort carries the Stalled message, the reason a person reads', () => {
    const after = canary(1, { abortedRevision: 'v2', message: 'rollout message' }, {
      phase: 'Degraded', conditions: [cond('Stalled', 'True', 'RolloutAborted', 'revision v2 aborted: pod web-green-1 is crash-looping')],
    });
    expect(transitionsOf(canary(1), after)).toEqual([{ type: 'aborted', revision: 'v2', reason: 'revision v2 aborted: pod web-green-1 is crash-looping' }]);
  });

  it('a failed analysis that aborts: analysisFailed, then aborted; once', () => {
    const run = (phase: 'Running' | 'Failed') => ({ id: 'step-1', revision: 'v2', startedAt: 'x', phase, message: phase === 'Failed' ? 'error-rate 0.5 > 0.01' : undefined, metrics: [] });
    const before = canary(1, { analysis: { step: run('Running') } });
    const after = canary(1, { analysis: { step: run('Failed') }, abortedRevision: 'v2', message: 'analysis failed' }, { phase: 'Degraded' });
    expect(transitionsOf(before, after).map((t) => [t.type, t.reason])).toEqual([['analysisFailed', 'error-rate 0.5 > 0.01'], ['aborted', 'analysis failed']]);
    expect(types(after, after)).toEqual([]);
  });

  it('tells each transition of a whole canary exactly once', () => {
    const story = [healthy('v1'), canary(0), canary(0), canary(1), paused(1), paused(1), canary(2), canary(3), healthy('v2'), healthy('v2')];
    const told = story.slice(1).flatMap((after, i) => types(story[i], after));
    expect(told).toEqual(['started', 'stepReached', 'paused', 'stepReached', 'promoted', 'completed']);
  });
});

describe('transitionsOf, for any pair of statuses', () => {
  const rev = fc.constantFrom('v1', 'v2', 'v3');
  const arbStatus: fc.Arbitrary<MicroserviceStatus> = fc.record({
    desiredRevision: rev,
    stableRevision: fc.option(rev, { nil: undefined }),
    phase: fc.constantFrom('Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded' as const),
    rollout: fc.option(fc.record({
      strategy: fc.constantFrom('Canary', 'BlueGreen' as const),
      step: fc.integer({ min: 0, max: 3 }),
      steps: fc.constant(3),
      pausedUntil: fc.option(fc.constant('2030-01-01T00:05:00Z'), { nil: undefined }),
      abortedRevision: fc.option(rev, { nil: undefined }),
      analysis: fc.option(fc.record({ step: fc.record({ id: fc.constant('step-1'), revision: rev, startedAt: fc.constant('x'), phase: fc.constantFrom('Running', 'Passed', 'Failed' as const), metrics: fc.constant([]) }) }), { nil: undefined }),
    }), { nil: undefined }),
    lastAction: fc.option(fc.record({ id: fc.constantFrom('a1', 'a2'), action: fc.constantFrom('promote', 'undo', 'retry'), at: fc.constant('x'), ok: fc.boolean(), message: fc.constant('m') }), { nil: undefined }),
  }, { requiredKeys: ['desiredRevision', 'phase'] });

  it('tells nothing when a status is written again as it was: a standby or a new leader repeats nothing', () => {
    fc.assert(fc.property(arbStatus, (s) => transitionsOf(s, s).length === 0));
  });

  it('tells each kind of transition at most once per write, never both aborted and completed, always with a reason', () => {
    fc.assert(fc.property(fc.option(arbStatus, { nil: undefined }), arbStatus, (before, after) => {
      const told = transitionsOf(before, after);
      const kinds = told.map((t) => t.type);
      expect(new Set(kinds).size).toBe(kinds.length);
      expect(kinds.includes('aborted') && kinds.includes('completed')).toBe(false);
      for (const t of told) expect(t.reason.length).toBeGreaterThan(0);
    }));
  });
});
