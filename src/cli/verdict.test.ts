import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { EXIT, parseUntil, verdict, worst, type ExitCode, type Until } from './verdict.js';

const T = '2026-12-06T00:00:00Z';
const cond = (type: string, status: 'True' | 'False', reason = 'X', message = `${type} ${status}`) => ({ type, status, reason, message, lastTransitionTime: T });
function ms(generation: number, status?: MicroserviceStatus): MicroserviceObject {
  return { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: 'orders', namespace: 'shop', generation }, spec: {} as never, ...(status ? { status } : {}) } as MicroserviceObject;
}
const healthy = (rev: string, gen = 2): MicroserviceStatus => ({
  observedGeneration: gen, phase: 'Healthy', stableRevision: rev, desiredRevision: rev, conditions: [cond('Ready', 'True'), cond('Stalled', 'False')],
});
const complete: Until = { kind: 'complete' };

describe('verdict', () => {
  it.each<[string, MicroserviceStatus | undefined, { revision?: string }, Until, ExitCode]>([
    ['progressing while status lags the generation read at the start, even Healthy', healthy('a', 1), {}, complete, EXIT.progressing],
    ['done once Healthy on the pinned revision', healthy('b'), {}, complete, EXIT.done],
    ['done with --revision matching', healthy('b'), { revision: 'b' }, complete, EXIT.done],
    ['superseded when another revision is desired than the one pinned', healthy('c'), { revision: 'b' }, complete, EXIT.superseded],
    ['failed when Stalled', { ...healthy('b'), phase: 'Degraded', conditions: [cond('Stalled', 'True', 'RolloutAborted', 'revision b was aborted')] }, {}, complete, EXIT.failed],
    ['waiting for a person at an indefinite pause', { observedGeneration: 2, phase: 'Paused', stableRevision: 'a', desiredRevision: 'b', rollout: { step: 1, steps: 2 } }, {}, complete, EXIT.waiting],
    ['done at a pause under --until paused', { observedGeneration: 2, phase: 'Paused', stableRevision: 'a', desiredRevision: 'b' }, {}, { kind: 'paused' }, EXIT.done],
    ['done past step 2 under --until step=2', { observedGeneration: 2, phase: 'Progressing', stableRevision: 'a', desiredRevision: 'b', rollout: { step: 2, steps: 4 } }, {}, { kind: 'step', step: 2 }, EXIT.done],
    ['progressing before step 2 under --until step=2', { observedGeneration: 2, phase: 'Progressing', stableRevision: 'a', desiredRevision: 'b', rollout: { step: 1, steps: 4 } }, {}, { kind: 'step', step: 2 }, EXIT.progressing],
    ['progressing at a timed pause', { observedGeneration: 2, phase: 'Progressing', stableRevision: 'a', desiredRevision: 'b', rollout: { step: 1, steps: 4, pausedUntil: T } }, {}, complete, EXIT.progressing],
    ['progressing with no status yet', undefined, {}, complete, EXIT.progressing],
  ])('%s', (_what, status, pin, until, code) => {
    expect(verdict(ms(2, status), { generation: 2, ...pin }, until).code).toBe(code);
  });

  it('a deleted Microservice is a failure', () => {
    expect(verdict(undefined, { generation: 1 }, complete).code).toBe(EXIT.failed);
  });

  it('pins the desiredRevision it first sees once status caught up', () => {
    expect(verdict(ms(2, { ...healthy('a'), phase: 'Progressing', desiredRevision: 'b' }), { generation: 2 }, complete).revision).toBe('b');
  });

  const arbStatus: fc.Arbitrary<MicroserviceStatus> = fc.record({
    observedGeneration: fc.integer({ min: 0, max: 5 }),
    phase: fc.constantFrom('Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded'),
    stableRevision: fc.constantFrom('a', 'b', 'c'),
    desiredRevision: fc.constantFrom('a', 'b', 'c'),
    conditions: fc.subarray([cond('Ready', 'True'), cond('Stalled', 'True'), cond('Reconciling', 'True')]),
    rollout: fc.record({ step: fc.integer({ min: 0, max: 4 }), steps: fc.constant(4) }, { requiredKeys: [] }),
  }, { requiredKeys: [] }) as fc.Arbitrary<MicroserviceStatus>;
  const arbUntil = fc.oneof(fc.constant<Until>({ kind: 'complete' }), fc.constant<Until>({ kind: 'paused' }), fc.integer({ min: 0, max: 4 }).map((step): Until => ({ kind: 'step', step })));

  it('never says done, failed or anything final while observedGeneration lags; always failed when Stalled once caught up', () => {
    fc.assert(fc.property(arbStatus, fc.integer({ min: 0, max: 5 }), fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }), arbUntil, (status, generation, revision, until) => {
      const v = verdict(ms(generation, status), { generation, ...(revision ? { revision } : {}) }, until);
      if ((status.observedGeneration ?? -1) < generation) expect(v.code).toBe(EXIT.progressing);
      else if (status.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True')) expect(v.code).toBe(EXIT.failed);
      if (v.code === EXIT.done && until.kind === 'complete') expect(status.stableRevision).toBe(v.revision);
    }));
  });
});

describe('worst and parseUntil', () => {
  it('the worst code wins', () => {
    expect(worst([EXIT.done, EXIT.waiting, EXIT.failed])).toBe(EXIT.failed);
    expect(worst([EXIT.done, EXIT.timedOut, EXIT.waiting])).toBe(EXIT.timedOut);
    expect(worst([EXIT.done, EXIT.done])).toBe(EXIT.done);
    expect(worst([EXIT.superseded, EXIT.error])).toBe(EXIT.error);
  });
  it('reads --until', () => {
    expect(parseUntil(undefined)).toEqual({ kind: 'complete' });
    expect(parseUntil('step=3')).toEqual({ kind: 'step', step: 3 });
    expect(parseUntil('paused')).toEqual({ kind: 'paused' });
    expect(parseUntil('soon')).toBeUndefined();
  });
});
