// Analysis, pure: a measurement's phase from its value and the metric's conditions, a metric's
// phase from its measurements, and an analysis run's verdict for the rollout (pass, hold and say
// why, or fail naming the metric, its value and its threshold).
//
// The engine never queries anything. On each pass it folds in the results that came back since
// the last one (an input), and says which measurements are due now (an output); the shell
// (src/analysis/) takes them, queries with a timeout, and hands the results to a later pass.
// Everything a run remembers is in status.rollout.analysis: a measurement is numbered (seq), and
// only the result with the number after the last one counted is folded in, so a result is never
// counted twice, and one lost to a restart is simply taken again.
import type { AnalysisRunStatus, MeasurementPhase, MeasurementStatus, Metric, MetricStatus } from './api.js';
import type { Measured, RunEnv, RunOutcome, RunSpec, Sample, Value } from './types.js';
import { durationMs } from '../rollout/weights.js';

export type * from './types.js';

// ---- one measurement ----------------------------------------------------------------------

/** A value as status shows it: NaN and infinities by name, numbers to 6 significant digits. */
export function formatValue(v: Value): string {
  if (typeof v !== 'number') return typeof v === 'string' ? v.slice(0, 64) : String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(Number(v.toPrecision(6)));
}

/** The metric's conditions as text: "<= 0.01, <= 1.5x stable"; a web metric with none: "2xx". */
export function thresholdOf(m: Metric): string {
  const parts: string[] = [];
  if (m.max !== undefined) parts.push(`<= ${m.max}`);
  if (m.min !== undefined) parts.push(`>= ${m.min}`);
  if (m.equals !== undefined) parts.push(`== ${JSON.stringify(m.equals)}`);
  if (m.maxRatioToStable !== undefined) parts.push(`<= ${m.maxRatioToStable}x stable`);
  return parts.length > 0 ? parts.join(', ') : 'status 2xx';
}

type One = { value: Value } | { measured: Measured };

/** The one value of a sample, or why there is none: an error, no data, NaN (no data), several series. */
function one(s: Sample, who: string): One {
  if ('error' in s) return { measured: { phase: 'Error', message: who === 'candidate' ? s.error : `${who}: ${s.error}` } };
  if (s.values.length === 0) return { measured: { phase: 'Inconclusive', message: who === 'candidate' ? 'no data' : `no data for the ${who} revision` } };
  if (s.values.length > 1) {
    return { measured: { phase: 'Error', message: `${who === 'candidate' ? 'the query' : `the ${who} query`} returned ${s.values.length} series; Coxswain judges one value: aggregate it (sum, max, avg)` } };
  }
  const v = s.values[0]!;
  if (typeof v === 'number' && Number.isNaN(v)) {
    return { measured: { phase: 'Inconclusive', value: 'NaN', message: who === 'candidate' ? 'NaN (no data: 0/0?)' : `NaN for the ${who} revision (no data)` } };
  }
  return { value: v };
}

const same = (a: Value, b: Value) => (typeof a === 'number' && typeof b === 'number' ? a === b : String(a) === String(b));

/**
 * A measurement's phase from the candidate's value (and the stable revision's, for
 * maxRatioToStable) and the metric's conditions. Every condition must hold. No data, NaN and a
 * stable revision without data are Inconclusive (noData decides what that means); a provider
 * error, or a query returning several series, is an Error; +Inf and -Inf are values like any other.
 */
export function evaluate(m: Metric, candidate: Sample, stable?: Sample): Measured {
  const c = one(candidate, 'candidate');
  if ('measured' in c) return c.measured;
  const v = c.value;
  const value = formatValue(v);
  const numeric = typeof v === 'number';
  if (!numeric && (m.max !== undefined || m.min !== undefined || m.maxRatioToStable !== undefined)) {
    return { phase: 'Error', value, message: `value ${JSON.stringify(v)} is not a number` };
  }
  const fails: string[] = [];
  if (m.max !== undefined && !((v as number) <= m.max)) fails.push(`${value} > max ${m.max}`);
  if (m.min !== undefined && !((v as number) >= m.min)) fails.push(`${value} < min ${m.min}`);
  if (m.equals !== undefined && !same(v, m.equals)) fails.push(`${value} != ${JSON.stringify(m.equals)}`);
  if (m.max === undefined && m.min === undefined && m.equals === undefined && m.maxRatioToStable === undefined
    && numeric && !((v as number) >= 200 && (v as number) < 300)) fails.push(`status ${value} is not 2xx`);
  let stableValue: string | undefined;
  if (m.maxRatioToStable !== undefined) {
    if (!stable) return { phase: 'Error', value, message: 'no stable measurement to compare with' };
    const s = one(stable, 'stable');
    if ('measured' in s) return { ...s.measured, value };
    if (typeof s.value !== 'number') return { phase: 'Error', value, message: `stable value ${JSON.stringify(s.value)} is not a number` };
    stableValue = formatValue(s.value);
    const bound = m.maxRatioToStable * s.value;
    if (!((v as number) <= bound)) fails.push(`${value} > ${m.maxRatioToStable}x stable ${stableValue} (${formatValue(bound)})`);
  }
  const base = { value, ...(stableValue !== undefined ? { stableValue } : {}) };
  return fails.length > 0
    ? { phase: 'Failed', ...base, message: fails.join('; ') }
    : { phase: 'Passed', ...base, message: `${value} within ${thresholdOf(m)}${stableValue !== undefined ? ` (stable ${stableValue})` : ''}` };
}

// ---- one metric ---------------------------------------------------------------------------

export const LAST_KEPT = 10;

export function newMetricStatus(m: Metric): MetricStatus {
  return { name: m.name, phase: 'Running', threshold: thresholdOf(m), measurements: 0, passed: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0, last: [] };
}

/** After the n-th error (or no data held) in a row, the next try: 1s, 2s, 4s ... never later than the interval. */
export function retryDelayMs(m: Metric, consecutive: number): number {
  return Math.min(durationMs(m.interval), 1000 * 2 ** Math.max(0, Math.min(20, consecutive - 1)));
}

/** How many of the last measurements kept, newest first, were no data. */
function trailingInconclusive(last: readonly MeasurementStatus[]): number {
  let n = 0;
  while (n < last.length && last[last.length - 1 - n]!.phase === 'Inconclusive') n++;
  return n;
}

/** A measurement counted: as passed, failed (noData: Fail; errors past the limit) or neither (noData: Hold). */
export function fold(st: MetricStatus, m: Metric, r: Measured, at: Date): MetricStatus {
  const next: MetricStatus = { ...st, measurements: st.measurements + 1, last: [...st.last] };
  const record: MeasurementStatus = { at: at.toISOString(), phase: r.phase, ...(r.value !== undefined ? { value: r.value } : {}),
    ...(r.stableValue !== undefined ? { stableValue: r.stableValue } : {}), message: r.message.slice(0, 256) };
  next.last = [...next.last, record].slice(-LAST_KEPT);
  let delay = durationMs(m.interval);
  if (r.phase === 'Error') {
    next.errors++;
    next.consecutiveErrors++;
    if (next.consecutiveErrors >= m.consecutiveErrorLimit) {
      next.failed++;
      next.consecutiveErrors = 0;
      record.message = `${record.message} (${m.consecutiveErrorLimit} errors in a row count as one failure)`.slice(0, 256);
    } else {
      delay = retryDelayMs(m, next.consecutiveErrors);
    }
  } else {
    next.consecutiveErrors = 0;
    if (r.phase === 'Passed') next.passed++;
    else if (r.phase === 'Failed') next.failed++;
    else {
      next.inconclusive++;
      if (m.noData === 'Pass') next.passed++;
      if (m.noData === 'Fail') next.failed++;
      // Held, it looks again soon, as after an error: a step's analysis starts as its candidate
      // gets its first requests, so its first measurement has no data yet, and a whole interval
      // before the second is a whole interval of a bad release serving. (Under Pass or Fail each
      // no data counts, so those keep the interval.)
      if (m.noData === 'Hold') delay = retryDelayMs(m, trailingInconclusive(next.last));
    }
  }
  next.nextAt = new Date(at.getTime() + delay).toISOString();
  return next;
}

/** The last measurement counts as a pass: Passed, or no data with noData: Pass; and taken since the last resume. */
function lastPassed(st: MetricStatus, m: Metric, gate: Gate): boolean {
  const last = st.last.at(-1);
  if (gate.resumedAt && (!last || new Date(last.at) < gate.resumedAt)) return false;
  return !!last && (last.phase === 'Passed' || (last.phase === 'Inconclusive' && m.noData === 'Pass'));
}

/**
 * How a run gates: at least count passes (default 1), over at least duration, the last one a
 * pass. Unset: it never passes (background). Time held (the rollout paused) does not count
 * towards the duration, and after a resume only a measurement taken since passes.
 */
export interface Gate {
  startedAt: Date;
  duration?: string;
  count?: number;
  heldMs?: number;
  resumedAt?: Date;
}

/** When a gate's duration is over: its start, plus the duration, plus the time it was held. */
function gateEnd(gate: Gate): number {
  return gate.startedAt.getTime() + (gate.duration ? durationMs(gate.duration) : 0) + (gate.heldMs ?? 0);
}

/**
 * A metric's phase. Failed once its failed measurements exceed failureLimit; Passed (gated runs
 * only) once it has at least `count` passes, the duration is over, and the last measurement was a
 * pass, so a metric that has no data now never passes; Running otherwise. Both ends are final.
 */
export function metricPhase(st: MetricStatus, m: Metric, gate: Gate | undefined, now: Date): MetricStatus['phase'] {
  if (st.phase !== 'Running') return st.phase;
  if (st.failed > m.failureLimit) return 'Failed';
  if (!gate) return 'Running';
  return st.passed >= (gate.count ?? 1) && now.getTime() >= gateEnd(gate) && lastPassed(st, m, gate) ? 'Passed' : 'Running';
}

/** What a running metric is doing, for status and the step's message. */
export function metricMessage(st: MetricStatus, m: Metric, gate: Gate | undefined, now: Date): string {
  const last = st.last.at(-1);
  if (st.phase === 'Failed') {
    const why = last?.phase === 'Error' ? `${last.message}` : `value ${last?.value ?? '-'}${last?.stableValue !== undefined ? ` (stable ${last.stableValue})` : ''}, threshold ${thresholdOf(m)}: ${last?.message ?? ''}`;
    return `metric ${m.name} failed: ${why} (${st.failed} failed measurement(s), failureLimit ${m.failureLimit})`;
  }
  if (st.phase === 'Passed') return `metric ${m.name} passed: ${st.passed} measurement(s), last ${last?.value ?? '-'} (${thresholdOf(m)})`;
  if (!last) return `${m.name}: first measurement under way`;
  if (last.phase === 'Inconclusive' && m.noData === 'Hold') return `${m.name}: ${last.message}; holding (noData: Hold)`;
  if (last.phase === 'Error') return `${m.name}: error (${st.consecutiveErrors} in a row, limit ${m.consecutiveErrorLimit}): ${last.message}; retrying`;
  const parts = [`${m.name}: ${last.value ?? '-'}${last.stableValue !== undefined ? ` (stable ${last.stableValue})` : ''} (${thresholdOf(m)})`];
  if (gate) {
    parts.push(`${st.passed}/${gate.count ?? 1} passed`);
    // The end as a time, not a countdown: status changes only when something happened.
    const end = gate.duration ? gateEnd(gate) : 0;
    if (end > now.getTime()) parts.push(`${gate.duration} until ${new Date(end).toISOString()}`);
    else if (gate.resumedAt && !lastPassed(st, m, gate)) parts.push('measuring again since the resume');
  }
  if (st.failed > 0) parts.push(`${st.failed}/${m.failureLimit} failures tolerated`);
  return parts.join(', ');
}

// ---- one run ------------------------------------------------------------------------------

const RUN_LABEL: Record<string, string> = { background: 'background analysis', prePromotion: 'pre-promotion analysis', postPromotion: 'post-promotion analysis' };
export const runLabel = (id: string) => RUN_LABEL[id] ?? (id.startsWith('step-') ? `analysis at step ${id.slice(5)}` : `analysis ${id}`);

const EVENT_REASON: Partial<Record<MeasurementPhase, string>> = { Failed: 'AnalysisMeasurementFailed', Inconclusive: 'AnalysisInconclusive', Error: 'AnalysisError' };

/**
 * One pass of an analysis run: fold in the results that belong to it, judge each metric, and
 * say which measurements are due. A run is new when none is recorded for this id and revision.
 */
export function advanceRun(prev: AnalysisRunStatus | undefined, spec: RunSpec, env: RunEnv): RunOutcome {
  const { input, now, revision } = env;
  const run: AnalysisRunStatus = prev && prev.id === spec.id && prev.revision === revision
    ? { ...prev, metrics: [...prev.metrics] }
    : { id: spec.id, revision, startedAt: now.toISOString(), phase: 'Running', metrics: [] };
  const out: RunOutcome = { run, verdict: run.phase, message: run.message ?? '', requests: [], events: [], measured: [] };
  if (run.phase !== 'Running') return out;
  const gate: Gate | undefined = spec.gating ? {
    startedAt: new Date(run.startedAt), duration: spec.duration, count: spec.count,
    heldMs: (run.heldSeconds ?? 0) * 1000, ...(run.resumedAt ? { resumedAt: new Date(run.resumedAt) } : {}),
  } : undefined;
  const label = runLabel(spec.id);
  const messages: string[] = [];
  let failed: string | undefined;
  let failedName = '';
  let wake = Infinity;
  let allPassed = true;
  const metrics: MetricStatus[] = [];
  for (const name of spec.metrics) {
    const m = input.metrics.get(name);
    if (!m) {
      allPassed = false;
      messages.push(`${name}: not defined${input.unresolved ? ` (${input.unresolved})` : ''}; holding`);
      const kept = run.metrics.find((x) => x.name === name);
      if (kept) metrics.push(kept);
      continue;
    }
    let st = run.metrics.find((x) => x.name === name) ?? newMetricStatus(m);
    for (;;) {
      const r = input.results.find((x) => x.run === spec.id && x.runStartedAt === run.startedAt && x.revision === revision && x.metric === name && x.seq === st.measurements + 1);
      if (!r || st.phase !== 'Running') break;
      const judged = evaluate(m, r.candidate, r.stable);
      st = fold(st, m, judged, new Date(r.at));
      out.measured.push({ metric: name, phase: judged.phase, value: judged.value, stableValue: judged.stableValue });
      const reason = EVENT_REASON[judged.phase];
      if (reason) {
        const vs = judged.stableValue !== undefined ? ` (stable ${judged.stableValue})` : '';
        out.events.push({ type: 'Warning', reason, message: `${label}: metric ${name} on revision ${revision}: ${judged.phase.toLowerCase()}, value ${judged.value ?? '-'}${vs}, threshold ${thresholdOf(m)}: ${judged.message}` });
      }
      st = { ...st, phase: metricPhase(st, m, gate, new Date(r.at)) };
    }
    st = { ...st, phase: metricPhase(st, m, gate, now) };
    if (st.phase !== 'Running') delete st.nextAt;
    st.message = metricMessage(st, m, gate, now).slice(0, 512);
    metrics.push(st);
    if (st.phase === 'Failed' && !failed) { failed = st.message; failedName = name; }
    if (st.phase !== 'Passed') allPassed = false;
    if (st.phase !== 'Running') continue;
    messages.push(st.message);
    const due = st.nextAt ? new Date(st.nextAt) : now;
    if (due <= now) {
      const seq = st.measurements + 1;
      out.requests.push({
        key: `${spec.id}@${run.startedAt}/${name}#${seq}`, run: spec.id, runStartedAt: run.startedAt, revision, metric: m, seq,
        vars: env.vars, ...(m.maxRatioToStable !== undefined ? { stableVars: env.stableVars } : {}),
      });
    } else {
      wake = Math.min(wake, due.getTime());
    }
  }
  // A gated run also passes no sooner than its duration, which may end between measurements.
  if (gate?.duration) {
    const end = gateEnd(gate);
    if (end > now.getTime()) wake = Math.min(wake, end);
  }
  // A failed run measures nothing more: its other metrics say they stopped, not that they run.
  run.metrics = !failed ? metrics : metrics.map((st) => (st.phase !== 'Running' ? st : (({ nextAt: _due, ...rest }) => ({
    ...rest, phase: 'Stopped' as const, message: `${st.name}: stopped, the run failed on ${failedName}`,
  }))(st)));
  if (failed) {
    out.requests = [];
    run.phase = 'Failed';
    run.message = `${label} failed on revision ${revision}: ${failed}`;
  } else if (spec.gating && allPassed) {
    run.phase = 'Passed';
    run.message = `${label} passed`;
  } else {
    run.message = `${label}: ${messages.join('; ')}`;
  }
  run.message = run.message.slice(0, 1024);
  out.verdict = run.phase;
  out.message = run.message;
  if (run.phase === 'Running' && wake < Infinity) out.wakeAt = new Date(wake);
  return out;
}
