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
