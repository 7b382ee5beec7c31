import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Metric, type MetricInput, type MetricStatus } from './api.js';
import {
  advanceRun, evaluate, fold, formatValue, type Measured, type MeasurementResult, metricPhase, newMetricStatus, type RunEnv,
  retryDelayMs, type RunSpec, type Sample, thresholdOf,
} from './evaluate.js';

const metric = (m: Partial<MetricInput> = {}) => Metric.parse({ name: 'error-rate', prometheus: { query: 'q' }, ...m });
const v = (...values: Array<number | string | boolean>): Sample => ({ values });
const none: Sample = { values: [] };
const down: Sample = { error: 'connect ECONNREFUSED 127.0.0.1:9090' };

describe('evaluate: one measurement', () => {
  // [what, metric, candidate, stable, phase, message fragment]
  const rows: Array<[string, Partial<MetricInput>, Sample, Sample | undefined, Measured['phase'], string]> = [
    ['at max passes', { max: 0.01 }, v(0.01), undefined, 'Passed', '0.01 within <= 0.01'],
    ['above max fails', { max: 0.01 }, v(0.25), undefined, 'Failed', '0.25 > max 0.01'],
    ['below min fails', { min: 0.9 }, v(0.5), undefined, 'Failed', '0.5 < min 0.9'],
    ['at min passes', { min: 0.9 }, v(0.9), undefined, 'Passed', 'within >= 0.9'],
    ['between min and max passes', { min: 1, max: 2 }, v(1.5), undefined, 'Passed', 'within <= 2, >= 1'],
    ['every condition must hold', { min: 1, max: 2 }, v(3), undefined, 'Failed', '3 > max 2'],
    ['equals a number', { equals: 1 }, v(1), undefined, 'Passed', 'within == 1'],
    ['equals true against true', { equals: true }, v(true), undefined, 'Passed', 'within == true'],
    ['equals true against false', { equals: true }, v(false), undefined, 'Failed', 'false != true'],
    ['equals a string', { equals: 'ok' }, v('ok'), undefined, 'Passed', 'within == "ok"'],
    ['equals true against the string "true" (JSON from a smoke test)', { equals: true }, v('true'), undefined, 'Passed', 'within'],
    ['an empty vector is no data', { max: 1 }, none, undefined, 'Inconclusive', 'no data'],
    ['NaN (0/0, no requests) is no data', { max: 1 }, v(Number.NaN), undefined, 'Inconclusive', 'NaN'],
    ['+Inf is above any max', { max: 1e9 }, v(Number.POSITIVE_INFINITY), undefined, 'Failed', '+Inf > max'],
    ['-Inf is below any min', { min: -1e9 }, v(Number.NEGATIVE_INFINITY), undefined, 'Failed', '-Inf < min'],
    ['-Inf is within a max', { max: 0 }, v(Number.NEGATIVE_INFINITY), undefined, 'Passed', '-Inf within'],
    ['several series are an error, never a guess', { max: 1 }, v(0.1, 0.2, 0.3), undefined, 'Error', 'returned 3 series'],
    ['a provider error is an error', { max: 1 }, down, undefined, 'Error', 'ECONNREFUSED'],
    ['a string against max is an error', { max: 1 }, v('high'), undefined, 'Error', 'not a number'],
    ['ratio: the same rate as stable passes', { max: 0.5, maxRatioToStable: 1.5 }, v(0.2), v(0.2), 'Passed', '(stable 0.2)'],
    ['ratio: above the ratio fails', { max: 0.5, maxRatioToStable: 1.5 }, v(0.2), v(0.1), 'Failed', '0.2 > 1.5x stable 0.1 (0.15)'],
    ['ratio: a stable of 0 lets only 0 through', { maxRatioToStable: 2 }, v(0.001), v(0), 'Failed', '> 2x stable 0'],
    ['ratio: 0 against a stable of 0 passes', { maxRatioToStable: 2 }, v(0), v(0), 'Passed', 'within'],
    ['ratio: a stable without data is inconclusive', { maxRatioToStable: 2 }, v(0.1), none, 'Inconclusive', 'no data for the stable revision'],
    ['ratio: a stable NaN is inconclusive', { maxRatioToStable: 2 }, v(0.1), v(Number.NaN), 'Inconclusive', 'NaN for the stable revision'],
    ['ratio: a stable error is an error', { maxRatioToStable: 2 }, v(0.1), down, 'Error', 'stable: connect'],
    ['ratio: several stable series are an error', { maxRatioToStable: 2 }, v(0.1), v(1, 2), 'Error', 'the stable query returned 2 series'],
    ['ratio and max: max fails even when the ratio holds', { max: 0.1, maxRatioToStable: 2 }, v(0.3), v(0.3), 'Failed', '0.3 > max 0.1'],
  ];
  it.each(rows)('%s', (_what, m, candidate, stable, phase, fragment) => {
    const r = evaluate(metric(m), candidate, stable);
    expect(r.phase).toBe(phase);
    expect(r.message).toContain(fragment);
  });

  it.each<[number, Measured['phase']]>([[200, 'Passed'], [204, 'Passed'], [299, 'Passed'], [301, 'Failed'], [404, 'Failed'], [500, 'Failed']])(
    'a web metric without conditions judges status %i as %s', (code, phase) => {
      const m = Metric.parse({ name: 'smoke', web: { url: 'http://smoke' } });
      expect(evaluate(m, v(code)).phase).toBe(phase);
    });

  it('records the value and the stable value as text', () => {
    expect(evaluate(metric({ maxRatioToStable: 1.5 }), v(0.123456789), v(0.1))).toMatchObject({ value: '0.123457', stableValue: '0.1' });
  });
});

describe('formatValue and thresholdOf', () => {
  it.each<[number | string | boolean, string]>([[Number.NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [0.000123456789, '0.000123457'], [42, '42'], [true, 'true'], ['ok', 'ok']])(
    'formats %s as %s', (value, text) => expect(formatValue(value)).toBe(text));

  it('writes every condition', () => {
    expect(thresholdOf(metric({ max: 0.01, min: 0, equals: 'x', maxRatioToStable: 1.5 }))).toBe('<= 0.01, >= 0, == "x", <= 1.5x stable');
  });
});

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const judged = (phase: Measured['phase'], value = '1'): Measured => ({ phase, value, message: phase });

describe('fold: a metric counts its measurements', () => {
  it.each<[string, Partial<MetricInput>, Measured['phase'][], Partial<MetricStatus>]>([
    ['passes count as passed', {}, ['Passed', 'Passed'], { measurements: 2, passed: 2, failed: 0 }],
    ['failures count as failed', {}, ['Failed', 'Passed'], { passed: 1, failed: 1 }],
    ['no data with Hold counts as neither', { noData: 'Hold' }, ['Inconclusive'], { passed: 0, failed: 0, inconclusive: 1 }],
    ['no data with Pass counts as passed', { noData: 'Pass' }, ['Inconclusive'], { passed: 1, failed: 0, inconclusive: 1 }],
    ['no data with Fail counts as failed', { noData: 'Fail' }, ['Inconclusive'], { passed: 0, failed: 1, inconclusive: 1 }],
    ['errors below the limit count as neither', { consecutiveErrorLimit: 3 }, ['Error', 'Error'], { errors: 2, consecutiveErrors: 2, failed: 0 }],
    ['consecutiveErrorLimit errors in a row count as one failure', { consecutiveErrorLimit: 3 }, ['Error', 'Error', 'Error'], { errors: 3, consecutiveErrors: 0, failed: 1 }],
    ['a success breaks the run of errors', { consecutiveErrorLimit: 2 }, ['Error', 'Passed', 'Error'], { errors: 2, consecutiveErrors: 1, failed: 0 }],
  ])('%s', (_what, m, phases, expected) => {
    const mm = metric({ max: 1, ...m });
    const st = phases.reduce((s, p, i) => fold(s, mm, judged(p), at(i)), newMetricStatus(mm));
    expect(st).toMatchObject(expected);
  });

  it('keeps the last 10 measurements, oldest first', () => {
    const mm = metric({ max: 1 });
    const st = Array.from({ length: 25 }, (_, i) => i).reduce((s, i) => fold(s, mm, judged('Passed', String(i)), at(i)), newMetricStatus(mm));
    expect(st.last.map((l) => l.value)).toEqual(['15', '16', '17', '18', '19', '20', '21', '22', '23', '24']);
    expect(st.measurements).toBe(25);
  });

  it('is due again one interval after a measurement, and retries errors with backoff within the interval', () => {
    const mm = metric({ max: 1, interval: '30s', consecutiveErrorLimit: 10 });
    expect(fold(newMetricStatus(mm), mm, judged('Passed'), at(0)).nextAt).toBe(at(30).toISOString());
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(mm, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    const twice = fold(fold(newMetricStatus(mm), mm, judged('Error'), at(0)), mm, judged('Error'), at(1));
    expect(twice.nextAt).toBe(at(3).toISOString());
  });

  it.each<[string, MetricInput['noData'], Measured['phase'][], number]>([
    ['no data held: looked at again after 1 s', 'Hold', ['Inconclusive'], 1],
    ['no data held three times in a row: after 4 s', 'Hold', ['Inconclusive', 'Inconclusive', 'Inconclusive'], 6],
    ['no data held after a pass: after 1 s', 'Hold', ['Passed', 'Inconclusive'], 2],
    ['data after no data: the interval again', 'Hold', ['Inconclusive', 'Inconclusive', 'Passed'], 2 + 30],
    ['no data held ten times: never later than the interval', 'Hold', Array(10).fill('Inconclusive'), 9 + 30],
    ['no data under Pass counts as a pass: the interval', 'Pass', ['Inconclusive'], 30],
    ['no data under Fail counts as a failure: the interval', 'Fail', ['Inconclusive'], 30],
  ])('%s', (_what, noData, phases, dueAt) => {
    const mm = metric({ max: 1, interval: '30s', noData, failureLimit: 5 });
    const st = phases.reduce((s, p, i) => fold(s, mm, judged(p), at(i)), newMetricStatus(mm));
    expect(st.nextAt).toBe(at(dueAt).toISOString());
  });
});

describe('metricPhase', () => {
  const mm = (m: Partial<MetricInput> = {}) => metric({ max: 1, ...m });
  const after = (m: ReturnType<typeof mm>, phases: Measured['phase'][]) => phases.reduce((s, p, i) => fold(s, m, judged(p), at(i)), newMetricStatus(m));
  const gate = { startedAt: at(0) };
  it.each<[string, Partial<MetricInput>, Measured['phase'][], { duration?: string; count?: number } | undefined, number, MetricStatus['phase']]>([
    ['one pass passes a gate without duration or count', {}, ['Passed'], {}, 1, 'Passed'],
    ['nothing measured yet runs', {}, [], {}, 1, 'Running'],
    ['one failure with failureLimit 0 fails', {}, ['Failed'], {}, 1, 'Failed'],
    ['a failure within failureLimit runs on', { failureLimit: 1 }, ['Failed'], {}, 1, 'Running'],
    ['the failure after failureLimit fails', { failureLimit: 1 }, ['Failed', 'Passed', 'Failed'], {}, 3, 'Failed'],
    ['fewer passes than count runs', {}, ['Passed', 'Passed'], { count: 3 }, 2, 'Running'],
    ['count passes pass', {}, ['Passed', 'Passed', 'Passed'], { count: 3 }, 3, 'Passed'],
    ['passes before the duration is over run', {}, ['Passed', 'Passed'], { duration: '1m' }, 30, 'Running'],
    ['passes once the duration is over pass', {}, ['Passed', 'Passed'], { duration: '1m' }, 60, 'Passed'],
    ['no data now holds past the duration (Hold)', {}, ['Passed', 'Inconclusive'], { duration: '1s' }, 60, 'Running'],
    ['no data with noData Pass passes', { noData: 'Pass' }, ['Inconclusive'], {}, 1, 'Passed'],
    ['no data with noData Fail fails', { noData: 'Fail' }, ['Inconclusive'], {}, 1, 'Failed'],
    ['an error now holds', {}, ['Passed', 'Error'], {}, 2, 'Running'],
    ['errors past the limit fail', { consecutiveErrorLimit: 2 }, ['Error', 'Error'], {}, 2, 'Failed'],
    ['background (no gate) never passes', {}, ['Passed', 'Passed'], undefined, 60, 'Running'],
    ['background fails like a gate', {}, ['Failed'], undefined, 1, 'Failed'],
  ])('%s', (_what, m, phases, g, nowS, phase) => {
    const metricSpec = mm(m);
    expect(metricPhase(after(metricSpec, phases), metricSpec, g ? { ...gate, ...g } : undefined, at(nowS))).toBe(phase);
  });
});

// ---- runs ---------------------------------------------------------------------------------

const vars = { name: 'orders', namespace: 'shop', revision: 'cand', slot: 'green', stableRevision: 'stab', candidateRevision: 'cand' };
const stableVars = { ...vars, revision: 'stab', slot: 'blue' };
const envOf = (metrics: ReturnType<typeof metric>[], results: MeasurementResult[], now: Date): RunEnv => ({
  input: { metrics: new Map(metrics.map((m) => [m.name, m])), results }, now, revision: 'cand', vars, stableVars,
});
const step: RunSpec = { id: 'step-1', metrics: ['error-rate'], gating: true };

/** Runs a run the way the controller does: each pass takes the due measurements, they come back `later` seconds on. */
function drive(spec: RunSpec, metrics: ReturnType<typeof metric>[], answer: (seq: number, metric: string) => { candidate: Sample; stable?: Sample }, passes: number, later = 1) {
  let run: ReturnType<typeof advanceRun>['run'] | undefined;
  let results: MeasurementResult[] = [];
  let t = 0;
  const history: ReturnType<typeof advanceRun>[] = [];
  for (let p = 0; p < passes; p++) {
    const out = advanceRun(run, spec, envOf(metrics, results, at(t)));
    history.push(out);
    run = out.run;
    if (out.verdict !== 'Running') break;
    t = out.requests.length > 0 ? t + later : Math.ceil(((out.wakeAt?.getTime() ?? at(t + 1).getTime()) - at(0).getTime()) / 1000);
    results = out.requests.map((r) => ({ key: r.key, run: r.run, runStartedAt: r.runStartedAt, revision: r.revision, metric: r.metric.name, seq: r.seq, at: at(t).toISOString(), ...answer(r.seq, r.metric.name) }));
  }
  return history;
}

describe('advanceRun', () => {
  it('asks for the first measurement at once, with the candidate placeholders; the stable ones only for maxRatioToStable', () => {
    const out = advanceRun(undefined, step, envOf([metric({ max: 1 })], [], at(0)));
    expect(out.verdict).toBe('Running');
    expect(out.requests).toEqual([expect.objectContaining({ run: 'step-1', seq: 1, vars, key: `step-1@${at(0).toISOString()}/error-rate#1` })]);
    expect(out.requests[0]!.stableVars).toBeUndefined();
    const ratio = advanceRun(undefined, step, envOf([metric({ maxRatioToStable: 2 })], [], at(0)));
    expect(ratio.requests[0]!.stableVars).toEqual(stableVars);
  });

  it('passes a step once the metric passed, and asks nothing more', () => {
    const h = drive(step, [metric({ max: 0.01 })], () => ({ candidate: v(0.001) }), 5);
    expect(h.at(-1)!.verdict).toBe('Passed');
    expect(h.at(-1)!.requests).toEqual([]);
  });

  it('fails naming the metric, its value and its threshold', () => {
    const h = drive(step, [metric({ max: 0.01 })], () => ({ candidate: v(0.25) }), 5);
    const last = h.at(-1)!;
    expect(last.verdict).toBe('Failed');
    expect(last.message).toMatch(/error-rate/);
    expect(last.message).toContain('0.25');
    expect(last.message).toContain('<= 0.01');
    expect(last.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'AnalysisMeasurementFailed', message: expect.stringContaining('value 0.25') })]);
  });

  it('holds on no data and says so, then passes once data arrives', () => {
    const h = drive(step, [metric({ max: 0.01, interval: '5s' })], (seq) => ({ candidate: seq <= 3 ? none : v(0) }), 20);
    const holding = h.filter((o) => o.verdict === 'Running' && /no data; holding \(noData: Hold\)/.test(o.message));
    expect(holding.length).toBeGreaterThan(0);
    expect(h.at(-1)!.verdict).toBe('Passed');
    expect(h.flatMap((o) => o.events).filter((e) => e.reason === 'AnalysisInconclusive')).toHaveLength(3);
  });

  it('retries errors and fails past consecutiveErrorLimit, saying it was errors', () => {
    const h = drive(step, [metric({ max: 1, consecutiveErrorLimit: 3 })], () => ({ candidate: down }), 20);
    const last = h.at(-1)!;
    expect(last.verdict).toBe('Failed');
    expect(last.run.metrics[0]).toMatchObject({ errors: 3, failed: 1 });
    expect(last.message).toContain('3 errors in a row count as one failure');
  });

  it('folds only the result numbered after the last one counted: a repeat or a stale run is ignored', () => {
    const m = metric({ max: 1, interval: '1s' });
    const first = advanceRun(undefined, { ...step, count: 5 }, envOf([m], [], at(0)));
    const req = first.requests[0]!;
    const res: MeasurementResult = { key: req.key, run: req.run, runStartedAt: req.runStartedAt, revision: 'cand', metric: 'error-rate', seq: 1, at: at(1).toISOString(), candidate: v(0) };
    const second = advanceRun(first.run, { ...step, count: 5 }, envOf([m], [res], at(1)));
    expect(second.run.metrics[0]!.measurements).toBe(1);
    const again = advanceRun(second.run, { ...step, count: 5 }, envOf([m], [res], at(1)));
    expect(again.run.metrics[0]!.measurements).toBe(1);
    const stale = advanceRun(second.run, { ...step, count: 5 }, envOf([m], [{ ...res, seq: 2, runStartedAt: at(-60).toISOString() }], at(2)));
    expect(stale.run.metrics[0]!.measurements).toBe(1);
  });

  it('starts over for another revision or another step', () => {
    const first = drive(step, [metric({ max: 1 })], () => ({ candidate: v(0) }), 5).at(-1)!;
    expect(first.verdict).toBe('Passed');
    expect(advanceRun(first.run, { ...step, id: 'step-3' }, envOf([metric({ max: 1 })], [], at(9))).verdict).toBe('Running');
    const other = advanceRun(first.run, step, { ...envOf([metric({ max: 1 })], [], at(9)), revision: 'newer' });
    expect([other.verdict, other.run.revision]).toEqual(['Running', 'newer']);
  });

  it('holds a metric that no template defines, and says why', () => {
    const out = advanceRun(undefined, step, { ...envOf([], [], at(0)), input: { metrics: new Map(), results: [], unresolved: 'AnalysisTemplate shop/http not found' } });
    expect(out.verdict).toBe('Running');
    expect(out.message).toContain('error-rate: not defined (AnalysisTemplate shop/http not found)');
    expect(out.requests).toEqual([]);
  });

  it('wakes when the next measurement is due, and when the duration ends', () => {
    const m = metric({ max: 1, interval: '30s' });
    const first = advanceRun(undefined, { ...step, duration: '45s' }, envOf([m], [], at(0)));
    const req = first.requests[0]!;
    const res: MeasurementResult = { key: req.key, run: req.run, runStartedAt: req.runStartedAt, revision: 'cand', metric: 'error-rate', seq: 1, at: at(2).toISOString(), candidate: v(0) };
    const second = advanceRun(first.run, { ...step, duration: '45s' }, envOf([m], [res], at(2)));
    expect(second.wakeAt).toEqual(at(32));
    expect(second.run.metrics[0]!.nextAt).toBe(at(32).toISOString());
  });

  it('needs every metric to pass; one failure fails the run', () => {
    const both: RunSpec = { ...step, metrics: ['error-rate', 'latency'] };
    const ms = [metric({ max: 1 }), metric({ name: 'latency', max: 0.5 })];
    const h = drive(both, ms, (_s, name) => ({ candidate: v(name === 'latency' ? 0.9 : 0) }), 5);
    expect(h.at(-1)!.verdict).toBe('Failed');
    expect(h.at(-1)!.message).toContain('metric latency failed');
  });

  it('a background run never passes', () => {
    const h = drive({ id: 'background', metrics: ['error-rate'], gating: false }, [metric({ max: 1, interval: '1s' })], () => ({ candidate: v(0) }), 10);
    expect(h.every((o) => o.verdict === 'Running')).toBe(true);
    expect(h.at(-1)!.message).toMatch(/^background analysis: error-rate: 0/);
  });
});

describe('properties', () => {
  const arbPhase = fc.constantFrom<Measured['phase']>('Passed', 'Failed', 'Inconclusive', 'Error');
  const arbMetric = fc.record({
    failureLimit: fc.integer({ min: 0, max: 3 }),
    consecutiveErrorLimit: fc.integer({ min: 1, max: 4 }),
    noData: fc.constantFrom('Hold', 'Fail', 'Pass'),
  }).map((m) => metric({ max: 1, ...m } as Partial<MetricInput>));
  const run = (m: ReturnType<typeof metric>, phases: Measured['phase'][], g: { count?: number } | undefined) => {
    let st = newMetricStatus(m);
    const seen: MetricStatus['phase'][] = [];
    phases.forEach((p, i) => {
      if (st.phase !== 'Running') return;
      st = fold(st, m, judged(p), at(i));
      st = { ...st, phase: metricPhase(st, m, g ? { startedAt: at(0), ...g } : undefined, at(i)) };
      seen.push(st.phase);
    });
    return { st, seen };
  };

  it('a Failed measurement beyond failureLimit always fails the metric', () => {
    fc.assert(fc.property(arbMetric, fc.array(arbPhase, { maxLength: 30 }), (m, phases) => {
      const { st } = run(m, phases, undefined);
      if (st.failed > m.failureLimit) expect(st.phase).toBe('Failed');
      else expect(st.phase).toBe('Running');
    }));
  });

  it('Hold never advances: a metric whose last measurement is no data under Hold is never Passed', () => {
    fc.assert(fc.property(arbMetric, fc.array(arbPhase, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), (m, phases, count) => {
      const held = metric({ ...m, noData: 'Hold' } as Partial<MetricInput>);
      let st = newMetricStatus(held);
      for (const [i, p] of [...phases, 'Inconclusive' as const].entries()) st = fold(st, held, judged(p), at(i));
      expect(metricPhase({ ...st, phase: 'Running' }, held, { startedAt: at(0), count }, at(999))).not.toBe('Passed');
    }));
  });

  it('a metric never passes with fewer passed measurements than its count', () => {
    fc.assert(fc.property(arbMetric, fc.array(arbPhase, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (m, phases, count) => {
      const { st } = run(m, phases, { count });
      if (st.phase === 'Passed') expect(st.passed).toBeGreaterThanOrEqual(count);
      if (st.phase === 'Passed') expect(st.measurements).toBeGreaterThanOrEqual(count);
    }));
  });

  it('errors alone fail a metric after exactly (failureLimit + 1) x consecutiveErrorLimit of them', () => {
    fc.assert(fc.property(arbMetric, (m) => {
      const n = (m.failureLimit + 1) * m.consecutiveErrorLimit;
      const { seen } = run(m, Array.from({ length: n + 5 }, () => 'Error'), { count: 1 });
      expect(seen.indexOf('Failed')).toBe(n - 1);
    }));
  });

  it('a run is bounded whatever comes back: 10 measurements kept per metric', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.constant(none), fc.constant(down), fc.double().map((x) => v(x))), { minLength: 1, maxLength: 40 }), (answers) => {
      const h = drive({ id: 'background', metrics: ['error-rate'], gating: false }, [metric({ max: 1, interval: '1s', failureLimit: 100, consecutiveErrorLimit: 100 })],
        (seq) => ({ candidate: answers[(seq - 1) % answers.length]! }), answers.length + 2);
      for (const o of h) for (const mm of o.run.metrics) expect(mm.last.length).toBeLessThanOrEqual(10);
    }));
  });

  it('the same results folded twice change nothing (a reconcile retried)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 1, maxLength: 8 }), (values) => {
      const m = metric({ max: 1, interval: '1s', failureLimit: 100 });
      const spec = { ...step, count: 100 };
      let runSt = advanceRun(undefined, spec, envOf([m], [], at(0))).run;
      values.forEach((x, i) => {
        const res: MeasurementResult = { key: '', run: 'step-1', runStartedAt: runSt.startedAt, revision: 'cand', metric: 'error-rate', seq: i + 1, at: at(i + 1).toISOString(), candidate: v(x) };
        const once = advanceRun(runSt, spec, envOf([m], [res], at(i + 1)));
        const twice = advanceRun(once.run, spec, envOf([m], [res], at(i + 1)));
        expect(twice.run).toEqual(once.run);
        runSt = once.run;
      });
      expect(runSt.metrics[0]!.measurements).toBe(values.length);
    }));
  });
});

describe('status at rest', () => {
  it('a pass with nothing new (no result, no measurement due) changes nothing in the run, so status is not rewritten', () => {
    const m = metric({ max: 1, interval: '30s' });
    const spec = { ...step, duration: '2m' };
    const first = advanceRun(undefined, spec, envOf([m], [], at(0)));
    const req = first.requests[0]!;
    const res: MeasurementResult = { key: req.key, run: req.run, runStartedAt: req.runStartedAt, revision: 'cand', metric: 'error-rate', seq: 1, at: at(1).toISOString(), candidate: v(0) };
    const second = advanceRun(first.run, spec, envOf([m], [res], at(1)));
    for (const s of [2, 7, 19, 30]) expect(advanceRun(second.run, spec, envOf([m], [], at(s))).run).toEqual(second.run);
  });
});
