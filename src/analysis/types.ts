// The vocabulary of analysis shared by the engine (src/analysis/evaluate.ts), its callers and the
// shell that takes measurements (src/analysis/): what is asked, what comes back, what a run
// decides. Types only, so that every layer may name them without depending on another.
import type { AnalysisRunStatus, MeasurementPhase, Metric } from './api.js';

export type Value = number | string | boolean;

/** What a provider returned: the values of every series (none: no data), or why it could not. */
export type Sample = { values: Value[] } | { error: string };

/** What the placeholders of a query or URL stand for, for the revision being measured. */
export interface Vars {
  name: string;
  namespace: string;
  revision: string;
  slot: string;
  stableRevision: string;
  candidateRevision: string;
}

/** A measurement the engine wants taken now. */
export interface MeasurementRequest {
  /** Unique for this Microservice: the same measurement asked again has the same key. */
  key: string;
  run: string;
  /** When the run started: a result from an earlier run of the same id is never folded in. */
  runStartedAt: string;
  revision: string;
  metric: Metric;
  seq: number;
  vars: Vars;
  /** Set for maxRatioToStable: the same query, for the stable revision. */
  stableVars?: Vars;
}

/** A measurement taken, as the shell hands it back. */
export interface MeasurementResult {
  key: string;
  run: string;
  runStartedAt: string;
  revision: string;
  metric: string;
  seq: number;
  /** When the query finished (ISO). */
  at: string;
  candidate: Sample;
  stable?: Sample;
}

/** What a pass of the engine knows of analysis: the metrics it may use, and the results that came back. */
export interface AnalysisInput {
  /** Every metric by name: inline ones, and those of the referenced templates. */
  metrics: ReadonlyMap<string, Metric>;
  results: readonly MeasurementResult[];
  /** Why some metrics could not be resolved (a template not found), by metric name when known. */
  unresolved?: string;
}

/** One measurement judged. */
export interface Measured {
  phase: MeasurementPhase;
  value?: string;
  stableValue?: string;
  message: string;
}

/** What runs an analysis, and how it gates. */
export interface RunSpec {
  id: string;
  metrics: readonly string[];
  duration?: string;
  count?: number;
  /** A gating run passes; a background run only ever fails. */
  gating: boolean;
}

export interface RunEnv {
  input: AnalysisInput;
  now: Date;
  revision: string;
  vars: Vars;
  stableVars: Vars;
}

export interface RunOutcome {
  run: AnalysisRunStatus;
  verdict: 'Passed' | 'Failed' | 'Running';
  message: string;
  requests: MeasurementRequest[];
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
  /** When the next measurement is due (none in flight or due now). */
  wakeAt?: Date;
  /** The measurements folded in on this pass, for metrics. */
  measured: Array<{ metric: string; phase: MeasurementPhase; value?: string; stableValue?: string }>;
}
