// The analysis wired into the engine: the canary's analysis step and background analysis,
// blue-green before and after promotion, as the controller runs them: each pass says which
// measurements are due, a provider played here answers them, and the results come back as input
// to a later pass.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Metric, type MetricInput } from './api.js';
import type { Microservice, MicroserviceSpecInput, Slot } from '../api/schema.js';
import { Cluster, prng, reconcileOnce, type Reconciled } from '../../test/support/cluster.js';
import { microservice } from '../../test/support/fixtures.js';
import type { MeasurementRequest, MeasurementResult, Sample } from './evaluate.js';

const OLD = 'rev-old';
const NEW = 'rev-new';
const T0 = new Date('2024-05-01T12:00:00.000Z');

const errorRate = { name: 'error-rate', interval: '10s', prometheus: { query: 'rate(errors{revision="{{revision}}"}[1m])' }, max: 0.05 } satisfies MetricInput;
const metricsOf = (...ms: MetricInput[]) => new Map(ms.map((m) => [m.name, Metric.parse(m)]));

/** How the provider answers: per revision (candidate or stable), per measurement number. */
type Answer = (req: MeasurementRequest, revision: string) => Sample;
const value = (x: number): Sample => ({ values: [x] });

interface Run {
  history: Reconciled[];
  requests: MeasurementRequest[];
  last: Reconciled;
  /** The slot `<name>` selected after each pass. */
  served: Array<Slot | undefined>;
}

/**
 * Drives one Microservice from a stable OLD to NEW: reconcile, carry out the plan in the simulated
 * cluster, answer the measurements asked `latencyMs` later, and feed them to the next pass.
 * `drop` loses the results of some passes (an operator restarted with queries in flight).
 */
function drive(specIn: MicroserviceSpecInput, answer: Answer, opts: {
  passes?: number; stepMs?: number; metrics?: MetricInput[]; drop?: (pass: number) => boolean; until?: (r: Reconciled) => boolean;
  /** A person's edit before the next pass (spec.paused, say), from the last pass's outcome. */
  edit?: (ms: Microservice, last: Reconciled, now: Date) => Microservice;
} = {}): Run {
  const { passes = 200, stepMs = 2000, metrics = [errorRate] } = opts;
  const cluster = new Cluster(prng(7), { progress: true }).seed('blue', OLD, specIn.replicas ?? 1);
  let ms: Microservice = microservice(specIn, {}, { stableRevision: OLD, desiredRevision: OLD, activeSlot: 'blue' });
  let now = T0;
  let results: MeasurementResult[] = [];
  let servedSlot: Slot | undefined = 'blue';
  const history: Reconciled[] = [];
  const requests: MeasurementRequest[] = [];
  const served: Array<Slot | undefined> = [];
  for (let pass = 0; pass < passes; pass++) {
    const r = reconcileOnce({
      ms, observed: cluster.observe(), desiredRevision: NEW, now, servedSlot,
      analysis: { metrics: metricsOf(...metrics), results },
    });
    history.push(r);
    ms = { ...ms, status: r.status };
    servedSlot = r.decision.plan.serviceSlot ?? servedSlot;
    served.push(r.decision.plan.serviceSlot);
    cluster.apply(r.decision.plan);
    cluster.tick();
    now = new Date(now.getTime() + stepMs);
    const asked = r.decision.measurements ?? [];
    requests.push(...asked);
    results = opts.drop?.(pass) ? [] : asked.map((q) => ({
      key: q.key, run: q.run, runStartedAt: q.runStartedAt, revision: q.revision, metric: q.metric.name, seq: q.seq, at: now.toISOString(),
      candidate: answer(q, q.vars.revision), ...(q.stableVars ? { stable: answer(q, q.stableVars.revision) } : {}),
    }));
    if (opts.until?.(r) || (r.status.stableRevision === NEW && !r.decision.inProgress) || r.status.rollout?.abortedRevision === NEW) break;
    if (opts.edit) ms = opts.edit(ms, r, now);
  }
  return { history, requests, last: history.at(-1)!, served };
}

const canary = (steps: unknown[], extra: Record<string, unknown> = {}): MicroserviceSpecInput => ({
  image: 'registry.example/orders:2', replicas: 4,
  analysis: { metrics: [errorRate] },
  strategy: { type: 'Canary', canary: { steps: steps as never, maxSurge: 1, maxUnavailable: 0, ...extra } },
});
const stalled = (r: Reconciled) => r.status.conditions?.find((c) => c.type === 'Stalled');
const STEPS = [{ setWeight: 25 }, { analysis: { metrics: ['error-rate'], count: 2 } }, { setWeight: 50 }];

describe('the canary analysis step', () => {
  it('a good candidate passes it and completes; nothing moves past the step until it has', () => {
    const run = drive(canary(STEPS), () => value(0.01));
    expect(run.last.status.stableRevision).toBe(NEW);
    const beyond = run.history.findIndex((r) => (r.status.rollout?.step ?? 0) >= 2);
    const passed = run.history.findIndex((r) => r.status.rollout?.analysis?.step?.phase === 'Passed');
    expect(passed).toBeGreaterThan(-1);
    expect(beyond).toBeGreaterThanOrEqual(passed);
    // Two measurements, as count says, and none taken again.
    expect(run.requests.filter((q) => q.run === 'step-1').map((q) => q.seq)).toEqual([1, 2]);
  });

  it('measures the candidate revision with its slot, and nothing before the candidate has its pods', () => {
    const run = drive(canary(STEPS), () => value(0.01));
    const first = run.history.findIndex((r) => (r.decision.measurements ?? []).length > 0);
    expect(run.history[first]!.input.observed.green?.readyReplicas).toBeGreaterThanOrEqual(1);
    expect(run.requests[0]!.vars).toEqual({ name: 'orders', namespace: 'shop', revision: NEW, slot: 'green', stableRevision: OLD, candidateRevision: NEW });
  });

  it('a candidate above max is aborted: Stalled AnalysisFailed naming the metric, value and threshold, an Event, the stable slot whole', () => {
    const run = drive(canary(STEPS), (_q, rev) => value(rev === NEW ? 0.25 : 0));
    const s = stalled(run.last)!;
    expect(s).toMatchObject({ status: 'True', reason: 'AnalysisFailed' });
    expect(s.message).toContain('error-rate');
    expect(s.message).toContain('0.25');
    expect(s.message).toContain('<= 0.05');
    expect(run.last.status.rollout?.analysis?.step).toMatchObject({ id: 'step-1', phase: 'Failed' });
    const events = run.history.flatMap((r) => r.decision.events);
    expect(events).toContainEqual(expect.objectContaining({ reason: 'AnalysisMeasurementFailed', message: expect.stringContaining('value 0.25') }));
    expect(run.last.decision.plan.slots.blue?.replicas).toBe(4);
    expect(run.last.decision.plan.slots.green?.replicas ?? 0).toBeLessThanOrEqual(1);
    // Nothing more is measured once aborted.
    const again = reconcileOnce({ ...run.last.input, ms: { ...run.last.input.ms, status: run.last.status }, analysis: { metrics: metricsOf(errorRate), results: [] } });
    expect(again.decision.measurements ?? []).toEqual([]);
    expect(again.status.rollout?.analysis?.step?.phase).toBe('Failed');
  });

  it('no data holds the step with a message saying so (Progressing, not Paused), then completes once data arrives', () => {
    let dataFrom = Infinity;
    const run = drive(canary(STEPS), (q) => (q.seq >= dataFrom ? value(0) : { values: [] }), {
      until: (r) => {
        if (dataFrom === Infinity && (r.status.rollout?.analysis?.step?.metrics[0]?.inconclusive ?? 0) >= 3) dataFrom = 0;
        return false;
      },
    });
    const holding = run.history.filter((r) => /no data; holding \(noData: Hold\)/.test(r.status.rollout?.message ?? ''));
    expect(holding.length).toBeGreaterThan(0);
    for (const r of holding) {
      expect(r.status.phase).toBe('Progressing');
      expect(r.status.rollout?.step).toBe(1);
      expect(r.status.conditions?.find((c) => c.type === 'Ready')?.message).toContain('no data');
    }
    expect(run.last.status.stableRevision).toBe(NEW);
  });

  it('errors past consecutiveErrorLimit count as a failure, and abort', () => {
    const run = drive(canary(STEPS), () => ({ error: 'Get "http://prometheus:9090/api/v1/query": connect ECONNREFUSED' }),
      { metrics: [{ ...errorRate, consecutiveErrorLimit: 3 }], stepMs: 10_000 });
    expect(stalled(run.last)?.reason).toBe('AnalysisFailed');
    expect(stalled(run.last)?.message).toContain('ECONNREFUSED');
    expect(run.last.status.rollout?.analysis?.step?.metrics[0]).toMatchObject({ errors: 3, failed: 1 });
    expect(run.history.flatMap((r) => r.decision.events).filter((e) => e.reason === 'AnalysisError')).toHaveLength(3);
  });

  it('maxRatioToStable: the same error rate as stable passes, the candidate alone having it fails', () => {
    const ratio = { ...errorRate, max: 0.5, maxRatioToStable: 1.5 };
    const both = drive(canary(STEPS, {}), () => value(0.2), { metrics: [ratio] });
    expect(both.last.status.stableRevision).toBe(NEW);
    const alone = drive(canary(STEPS, {}), (_q, rev) => value(rev === NEW ? 0.2 : 0), { metrics: [ratio] });
    expect(stalled(alone.last)?.message).toContain('1.5x stable');
  });

  it('results lost in flight are asked again with the same number; none counted twice', () => {
    const run = drive(canary(STEPS), () => value(0.01), { drop: (pass) => pass % 2 === 0 });
    expect(run.last.status.stableRevision).toBe(NEW);
    const seqs = [...new Set(run.requests.filter((q) => q.run === 'step-1').map((q) => q.seq))];
    expect(seqs).toEqual([1, 2]);
    expect(run.requests.filter((q) => q.run === 'step-1').length).toBeGreaterThan(2);
  });

  it('a paused rollout measures nothing', () => {
    const run = drive({ ...canary(STEPS), paused: true }, () => value(0.01), { passes: 20 });
    expect(run.requests).toEqual([]);
  });

  it('a template that is not there holds the step (never passes) and says why', () => {
    const run = drive(canary(STEPS), () => value(0.01), { metrics: [], passes: 40 });
    expect(run.requests).toEqual([]);
    expect(run.last.status.rollout?.step).toBe(1);
    expect(run.last.status.rollout?.message).toContain('error-rate: not defined');
  });
});

/**
 * A person pauses once `run` has one passed measurement, the candidate turns bad meanwhile, and
 * the person resumes `heldMs` later. Returns the answer (good until the pause) and the edit.
 */
function pauseMidAnalysis(run: string, heldMs: number) {
  let pausedAt: number | undefined;
  const edit = (ms: Microservice, last: Reconciled, now: Date): Microservice => {
    const passed = last.status.rollout?.analysis?.step?.id === run && (last.status.rollout.analysis.step.metrics[0]?.passed ?? 0) >= 1;
    if (pausedAt === undefined && passed) { pausedAt = now.getTime(); return { ...ms, spec: { ...ms.spec, paused: true } }; }
    if (pausedAt !== undefined && ms.spec.paused && now.getTime() - pausedAt >= heldMs) return { ...ms, spec: { ...ms.spec, paused: false } };
    return ms;
  };
  const answer: Answer = (_q, rev) => value(rev === NEW && pausedAt !== undefined ? 0.5 : 0.01);
  return { edit, answer, pausedAt: () => pausedAt };
}

describe('pausing during analysis', () => {
  it('a canary paused at an analysis step, resumed after its duration, measures again and aborts a candidate gone bad', () => {
    const steps = [{ setWeight: 25 }, { analysis: { metrics: ['error-rate'], duration: '30s' } }, { setWeight: 50 }];
    const p = pauseMidAnalysis('step-1', 35_000);
    const run = drive(canary(steps), p.answer, { edit: p.edit });
    expect(p.pausedAt()).toBeDefined();
    expect(run.history.some((r) => (r.status.rollout?.step ?? 0) >= 2)).toBe(false);
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
    expect(run.last.status.rollout?.abortedRevision).toBe(NEW);
  });

  it('time held does not count towards the duration: a good candidate passes only after duration + time held', () => {
    const steps = [{ setWeight: 25 }, { analysis: { metrics: ['error-rate'], duration: '60s' } }, { setWeight: 50 }];
    let pausedAt: number | undefined;
    let resumedAt: number | undefined;
    const run = drive(canary(steps), () => value(0.01), {
      edit: (ms, last, now) => {
        const started = last.status.rollout?.analysis?.step?.startedAt;
        if (pausedAt === undefined && started && now.getTime() - new Date(started).getTime() >= 20_000) {
          pausedAt = now.getTime();
          return { ...ms, spec: { ...ms.spec, paused: true } };
        }
        if (pausedAt !== undefined && resumedAt === undefined && now.getTime() - pausedAt >= 40_000) {
          resumedAt = now.getTime();
          return { ...ms, spec: { ...ms.spec, paused: false } };
        }
        return ms;
      },
    });
    const started = new Date(run.history.find((r) => r.status.rollout?.analysis?.step?.id === 'step-1')!.status.rollout!.analysis!.step!.startedAt).getTime();
    const passedAt = run.history.find((r) => (r.status.rollout?.step ?? 0) >= 2)!.status.rollout!.stepStartedAt!;
    expect(resumedAt).toBeDefined();
    // 60 s of analysis, plus the 40 s held (the clock ran 20 s before the pause).
    expect(new Date(passedAt).getTime() - started).toBeGreaterThanOrEqual(100_000);
    expect(run.last.status.stableRevision).toBe(NEW);
  });

  it('a timed pause step does not run out while the rollout is held', () => {
    const steps = [{ setWeight: 25 }, { pause: { duration: '60s' } }, { setWeight: 50 }];
    let pausedAt: number | undefined;
    const run = drive({ ...canary(steps), analysis: undefined }, () => value(0), {
      metrics: [],
      edit: (ms, last, now) => {
        if (pausedAt === undefined && last.status.rollout?.pausedUntil) { pausedAt = now.getTime(); return { ...ms, spec: { ...ms.spec, paused: true } }; }
        if (pausedAt !== undefined && ms.spec.paused && now.getTime() - pausedAt >= 90_000) return { ...ms, spec: { ...ms.spec, paused: false } };
        return ms;
      },
    });
    const paused = run.history.find((r) => r.status.rollout?.pausedUntil)!;
    const pausedStep = new Date(paused.status.rollout!.stepStartedAt!).getTime();
    const next = run.history.find((r) => (r.status.rollout?.step ?? 0) >= 2)!;
    expect(new Date(next.status.rollout!.stepStartedAt!).getTime() - pausedStep).toBeGreaterThanOrEqual(60_000 + 90_000 - 4000);
  });

  it('blue-green paused after the switch under post-promotion analysis: on resume it measures again and switches back', () => {
    const spec: MicroserviceSpecInput = {
      image: 'registry.example/orders:2', replicas: 3, analysis: { metrics: [errorRate] },
      strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0, scaleDownDelaySeconds: 30, postPromotionAnalysis: { metrics: ['error-rate'], duration: '30s' } } as never },
    };
    const p = pauseMidAnalysis('postPromotion', 35_000);
    const run = drive(spec, p.answer, { edit: p.edit });
    expect(p.pausedAt()).toBeDefined();
    expect(run.history.some((r) => r.status.stableRevision === NEW)).toBe(false);
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
    expect(run.last.decision.plan.serviceSlot).toBe('blue');
  });

  it('blue-green: a pre-promotion analysis passed before a pause is judged again after it, so auto-promotion never rests on it', () => {
    const spec: MicroserviceSpecInput = {
      image: 'registry.example/orders:2', replicas: 3, analysis: { metrics: [errorRate] },
      strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 20, scaleDownDelaySeconds: 30, prePromotionAnalysis: { metrics: ['error-rate'] } } as never },
    };
    let pausedAt: number | undefined;
    const run = drive(spec, (_q, rev) => value(rev === NEW && pausedAt !== undefined ? 0.5 : 0.01), {
      edit: (ms, last, now) => {
        if (pausedAt === undefined && last.status.rollout?.analysis?.step?.phase === 'Passed') { pausedAt = now.getTime(); return { ...ms, spec: { ...ms.spec, paused: true } }; }
        if (pausedAt !== undefined && ms.spec.paused && now.getTime() - pausedAt >= 30_000) return { ...ms, spec: { ...ms.spec, paused: false } };
        return ms;
      },
    });
    expect(pausedAt).toBeDefined();
    expect(run.history.some((r) => r.status.stableRevision === NEW || r.decision.plan.serviceSlot === 'green')).toBe(false);
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
  });

  it('a failed run stops its other metrics: none says Running', () => {
    const other = { ...errorRate, name: 'latency', max: 1 } satisfies MetricInput;
    const steps = [{ setWeight: 25 }, { analysis: { metrics: ['error-rate', 'latency'], count: 3 } }];
    const run = drive({ ...canary(steps), analysis: { metrics: [errorRate, other] } }, (q) => value(q.metric.name === 'error-rate' ? 0.5 : 0.1), { metrics: [errorRate, other] });
    const metrics = run.last.status.rollout?.analysis?.step?.metrics ?? [];
    expect(metrics.find((m) => m.name === 'error-rate')?.phase).toBe('Failed');
    expect(metrics.find((m) => m.name === 'latency')).toMatchObject({ phase: 'Stopped' });
    expect(metrics.every((m) => m.nextAt === undefined)).toBe(true);
  });
});

describe('kubectl coxswain promote at an analysis step', () => {
  it('goes past a step holding on no data, as past a pause', () => {
    const run = drive(canary(STEPS), () => ({ values: [] }), { passes: 40 });
    const held = run.last;
    expect(held.status.rollout?.step).toBe(1);
    const promoted = reconcileOnce({ ...held.input, ms: { ...held.input.ms, status: held.status }, action: { action: 'promote', id: 'p1' }, analysis: { metrics: metricsOf(errorRate), results: [] } });
    expect(promoted.status.lastAction).toMatchObject({ action: 'promote', ok: true });
    expect(promoted.status.rollout?.step).toBe(2);
  });
});

describe('background analysis', () => {
  const steps = [{ setWeight: 25 }, { pause: { duration: '10m' } }, { setWeight: 50 }];
  it('aborts a canary during a pause step', () => {
    const run = drive(canary(steps, { analysis: { metrics: ['error-rate'], startingStep: 1 } }), (_q, rev) => value(rev === NEW ? 0.3 : 0));
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
    expect(stalled(run.last)!.message).toContain('background analysis failed');
    const before = run.history.at(-2)!;
    expect(before.status.rollout?.step).toBe(1);
    expect(run.requests.every((q) => q.run === 'background')).toBe(true);
  });

  it('starts at startingStep, and lets a good candidate through', () => {
    const run = drive(canary(steps.map((s) => ('pause' in s ? { pause: { duration: '30s' } } : s)), { analysis: { metrics: ['error-rate'], startingStep: 1 } }), () => value(0));
    expect(run.last.status.stableRevision).toBe(NEW);
    const asking = run.history.filter((r) => (r.decision.measurements ?? []).length > 0);
    expect(asking.length).toBeGreaterThanOrEqual(2);
    for (const r of asking) expect(r.input.ms.status?.rollout?.step ?? 0).toBeGreaterThanOrEqual(1);
  });
});

describe('blue-green analysis', () => {
  const bg = (blueGreen: Record<string, unknown>): MicroserviceSpecInput => ({
    image: 'registry.example/orders:2', replicas: 3,
    analysis: { metrics: [errorRate] },
    strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0, scaleDownDelaySeconds: 30, ...blueGreen } as never },
  });

  it('a failed pre-promotion analysis never switches <name>', () => {
    const run = drive(bg({ prePromotionAnalysis: { metrics: ['error-rate'] } }), (_q, rev) => value(rev === NEW ? 0.3 : 0));
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
    expect(stalled(run.last)!.message).toContain('pre-promotion analysis failed');
    expect(run.served.every((s) => s === undefined || s === 'blue')).toBe(true);
    expect(run.last.status.stableRevision).toBe(OLD);
  });

  it('a passing pre-promotion analysis promotes', () => {
    const run = drive(bg({ prePromotionAnalysis: { metrics: ['error-rate'], count: 2 } }), () => value(0));
    expect(run.last.status.stableRevision).toBe(NEW);
    expect(run.requests.filter((q) => q.run === 'prePromotion').map((q) => q.seq)).toEqual([1, 2]);
  });

  it('post-promotion: <name> serves the candidate with the previous slot whole; a failure switches back', () => {
    const run = drive(bg({ postPromotionAnalysis: { metrics: ['error-rate'], count: 3 } }), (q, rev) => value(rev === NEW && q.seq >= 2 ? 0.3 : 0));
    const switched = run.history.findIndex((r) => r.decision.plan.serviceSlot === 'green');
    expect(switched).toBeGreaterThan(-1);
    for (const r of run.history.slice(switched, -1)) {
      expect(r.decision.plan.serviceSlot).toBe('green');
      expect(r.decision.plan.slots.blue?.replicas).toBe(3);
      expect(r.status.stableRevision).toBe(OLD);
    }
    expect(stalled(run.last)).toMatchObject({ reason: 'AnalysisFailed' });
    expect(stalled(run.last)!.message).toContain('post-promotion analysis failed');
    expect(run.last.decision.plan.serviceSlot).toBe('blue');
    expect(run.last.status.activeSlot).toBe('blue');
  });

  it('post-promotion: a pass makes the candidate stable, and the previous slot goes after its delay', () => {
    const run = drive(bg({ postPromotionAnalysis: { metrics: ['error-rate'], count: 2 } }), () => value(0));
    expect(run.last.status.stableRevision).toBe(NEW);
    expect(run.last.status.activeSlot).toBe('green');
    const flipped = run.history.find((r) => r.status.stableRevision === NEW)!;
    expect(flipped.status.rollout?.scaleDownAt).toBeDefined();
    expect(flipped.decision.plan.slots.blue?.replicas).toBe(3);
    expect(run.last.decision.plan.slots.blue?.replicas).toBe(0);
  });
});

describe('properties', () => {
  const arbAnswer = fc.oneof(
    { weight: 3, arbitrary: fc.double({ min: 0, max: 0.1, noNaN: true }).map(value) },
    fc.constant<Sample>({ values: [] }),
    fc.constant<Sample>({ error: 'timeout' }),
    fc.constant<Sample>({ values: [Number.NaN] }),
  );

  it('a rollout completes only if every analysis metric passed; Hold never advances; status stays bounded', () => {
    fc.assert(fc.property(fc.array(arbAnswer, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (answers, count) => {
      const steps = [{ setWeight: 25 }, { analysis: { metrics: ['error-rate'], count } }, { setWeight: 50 }];
      const run = drive(canary(steps), (q) => answers[(q.seq - 1) % answers.length]!, { passes: 120 });
      for (const r of run.history) {
        const a = r.status.rollout?.analysis;
        const beyond = r.status.stableRevision === NEW || (r.status.rollout?.step ?? 0) >= 2;
        if (beyond && r.status.rollout?.abortedRevision === undefined) {
          const passedStep = run.history.some((h) => h.status.rollout?.analysis?.step?.phase === 'Passed');
          expect(passedStep).toBe(true);
        }
        for (const m of a?.step?.metrics ?? []) expect(m.last.length).toBeLessThanOrEqual(10);
        expect(JSON.stringify(a ?? {}).length).toBeLessThan(8000);
      }
      const allHold = answers.every((x) => 'values' in x && (x.values.length === 0 || Number.isNaN(x.values[0])));
      if (allHold) expect(run.last.status.stableRevision).toBe(OLD);
    }));
  });

  it('a candidate that fails every measurement is aborted, never promoted, and the stable slot never shrinks below the floor of Ready pods', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 2, max: 6 }), (failureLimit, replicas) => {
      const run = drive({ ...canary(STEPS), replicas }, () => value(1), { metrics: [{ ...errorRate, failureLimit }] });
      expect(run.last.status.rollout?.abortedRevision).toBe(NEW);
      expect(run.history.every((r) => r.status.stableRevision === OLD)).toBe(true);
      expect(run.requests.filter((q) => q.run === 'step-1')).toHaveLength(failureLimit + 1);
      // maxUnavailable 0: Ready pods of both slots never drop below replicas, abort included.
      for (const r of run.history) expect((r.input.observed.blue?.readyReplicas ?? 0) + (r.input.observed.green?.readyReplicas ?? 0)).toBeGreaterThanOrEqual(replicas);
    }));
  });
});
